using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoFlorence;

/// <summary>
/// The Florence-2 models this service knows. Each one's files are, in order: the vision encoder, the token embedding,
/// the text encoder, the merged decoder (with and without past key values in one graph) and tokenizer.json. No
/// publisher pins checksums for these files, so none is pinned.
/// </summary>
public static class FlorenceModels
{
    public const string CpuDefault = "florence-2-base";
    public const string StandIn = "stand-in-florence";
    /// <summary>The config's npu_model: Hailo publishes no Florence-2 HEF for Hailo-10H, so there is none to name.</summary>
    public const string NpuName = "none";

    /// <summary>Why <c>device: npu</c> cannot serve, for /health and the log.</summary>
    public const string NoNpuModel =
        "Hailo publishes no Florence-2 HEF for Hailo-10H (the hackathon HEFs the earlier implementation downloaded are Hailo-8 builds " +
        "and fail with HAILO_HEF_NOT_COMPATIBLE_WITH_DEVICE); set device: auto or cpu to run Florence-2 on the CPU";

    private const string HuggingFace = "https://huggingface.co/onnx-community/Florence-2-base/resolve/main/";

    /// <summary>
    /// Microsoft's Florence-2-base (0.23 B) in the four-part ONNX export of onnx-community (fp32): `vision_encoder.onnx`
    /// pixel_values [B, 3, 768, 768] → image_features [B, 577, 768]; `embed_tokens.onnx` input_ids → inputs_embeds;
    /// `encoder_model.onnx` inputs_embeds + attention_mask → last_hidden_state; `decoder_model_merged.onnx` (6 layers,
    /// 12 heads of 64) → logits [B, 1, 51289] + present.*; and its tokenizer.json (BART byte-level BPE with the task and
    /// &lt;loc_0&gt;…&lt;loc_999&gt; tokens added).
    /// </summary>
    public static readonly ModelManifest Florence2BaseOnnx = new(
        CpuDefault, Backend.Cpu,
        "Florence-2-base (Microsoft), ONNX vision encoder, token embedding, encoder and merged decoder (onnx-community export)",
        "MIT (Microsoft Florence-2)",
        [
            new ModelFile("vision_encoder.onnx", null, null, Url: HuggingFace + "onnx/vision_encoder.onnx", Unverified: true),
            new ModelFile("embed_tokens.onnx", null, null, Url: HuggingFace + "onnx/embed_tokens.onnx", Unverified: true),
            new ModelFile("encoder_model.onnx", null, null, Url: HuggingFace + "onnx/encoder_model.onnx", Unverified: true),
            new ModelFile("decoder_model_merged.onnx", null, null, Url: HuggingFace + "onnx/decoder_model_merged.onnx", Unverified: true),
            new ModelFile("tokenizer.json", null, null, Url: HuggingFace + "tokenizer.json", Unverified: true),
        ]);

    /// <summary>
    /// A stand-in with the export's four parts, names, dtypes and key/value layout, written by `make models`: tiny
    /// generated graphs that echo the prompt back for most images and answer scripted detections for red and blue ones.
    /// Its answers mean nothing about the image beyond that.
    /// </summary>
    public static readonly ModelManifest StandInOnnx = new(
        StandIn, Backend.Cpu,
        "stand-in: generated graphs with Florence-2's ONNX signature (echoes the prompt; scripted boxes for red and blue images), written by make models",
        "generated",
        [
            new ModelFile("vision_encoder.onnx", null, null, Unverified: true),
            new ModelFile("embed_tokens.onnx", null, null, Unverified: true),
            new ModelFile("encoder_model.onnx", null, null, Unverified: true),
            new ModelFile("decoder_model_merged.onnx", null, null, Unverified: true),
            new ModelFile("tokenizer.json", null, null, Unverified: true),
        ]);

    public static readonly IReadOnlyList<ModelManifest> Catalog = [Florence2BaseOnnx, StandInOnnx];
}
