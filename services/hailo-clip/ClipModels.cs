using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoClip;

/// <summary>
/// The CLIP models this service knows. Each one's files are, in order: the image tower, the text tower, the data the
/// text side needs on the host (for the NPU: the token-embedding table and the text projection) and the BPE merges
/// the tokenizer is built from. No publisher pins checksums for these files, so none is pinned.
/// </summary>
public static class ClipModels
{
    public const string CpuDefault = "clip-vit-b-32";
    public const string NpuDefault = "clip_vit_b_32";
    public const string StandIn = "stand-in-clip";

    private const string HuggingFace = "https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/";
    private const string Zoo = "https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/v5.1.0/hailo10h/";
    private const string HailoResources = "https://hailo-csdata.s3.eu-west-2.amazonaws.com/resources/";
    private const string OpenAiMerges = "https://raw.githubusercontent.com/openai/CLIP/main/clip/bpe_simple_vocab_16e6.txt.gz";

    /// <summary>
    /// OpenAI's CLIP ViT-B/32 as the common Hugging Face ONNX export: `pixel_values` [N, 3, 224, 224] → `image_embeds`
    /// [N, 512]; `input_ids` [N, 77] int64 (+ `attention_mask`) → `text_embeds` [N, 512]; the export's merges.txt.
    /// </summary>
    public static readonly ModelManifest ClipVitB32Onnx = new(
        CpuDefault, Backend.Cpu,
        "CLIP ViT-B/32 (OpenAI weights), ONNX image and text towers (Hugging Face export)",
        "MIT (OpenAI CLIP)",
        [
            new ModelFile("vision_model.onnx", null, null, Url: HuggingFace + "onnx/vision_model.onnx", Unverified: true),
            new ModelFile("text_model.onnx", null, null, Url: HuggingFace + "onnx/text_model.onnx", Unverified: true),
            new ModelFile("merges.txt", null, null, Url: HuggingFace + "merges.txt", Unverified: true),
        ]);

    /// <summary>
    /// A stand-in with CLIP ViT-B/32's input and output names and shapes whose towers are fixed linear maps, and a
    /// small merges file: `make models` writes it so that `make run` answers; its embeddings mean nothing.
    /// </summary>
    public static readonly ModelManifest StandInOnnx = new(
        StandIn, Backend.Cpu,
        "stand-in: generated towers with CLIP's signature (linear maps, meaningless embeddings), written by make models",
        "generated",
        [
            new ModelFile("stand-in-image.onnx", null, null, Unverified: true),
            new ModelFile("stand-in-text.onnx", null, null, Unverified: true),
            new ModelFile("stand-in-merges.txt", null, null, Unverified: true),
        ]);

    /// <summary>
    /// CLIP ViT-B/32 compiled for Hailo-10H (Hailo model zoo): the image encoder (224×224×3 uint8 → 512) and the text
    /// encoder (token embeddings 1×77×512 → 77×512), with the token-embedding table (49408×512) and the text projection
    /// (512×512) the host applies, and OpenAI's BPE merges.
    /// </summary>
    public static readonly ModelManifest ClipVitB32Hailo = new(
        NpuDefault, Backend.Npu,
        "CLIP ViT-B/32 compiled for Hailo-10H (Hailo model zoo image and text encoder HEFs)",
        "MIT (OpenAI CLIP), compiled by Hailo",
        [
            new ModelFile("clip_vit_b_32_image_encoder.hef", null, null, Url: Zoo + "clip_vit_b_32_image_encoder.hef", Unverified: true),
            new ModelFile("clip_vit_b_32_text_encoder.hef", null, null, Url: Zoo + "clip_vit_b_32_text_encoder.hef", Unverified: true),
            new ModelFile("token_embedding_lut.npy", null, null, Url: HailoResources + "npy/token_embedding_lut.npy", Unverified: true),
            new ModelFile("text_projection.npy", null, null, Url: HailoResources + "npy/text_projection.npy", Unverified: true),
            new ModelFile("bpe_simple_vocab_16e6.txt.gz", null, null, Url: OpenAiMerges, Unverified: true),
        ]);

    public static readonly IReadOnlyList<ModelManifest> Catalog = [ClipVitB32Onnx, StandInOnnx, ClipVitB32Hailo];
}
