using System.IO.Compression;
using System.Text;
using Hailo.TestSupport;
using HailoClip;
using HailoClip.Pipeline;

namespace Hailo.Clip.Tests.Npu;

/// <summary>
/// Writes the clip_vit_b_32 model for the shim's fake backend: the Hailo model zoo HEFs' I/O (image encoder: input
/// 224×224×3 uint8, one 512-value uint8 output; text encoder: input 77×512 token embeddings taken as float32, one
/// 77×512 uint8 output) with canned quantised outputs, plus a token-embedding table sized to the test merges, a text
/// projection and the merges gzipped under OpenAI's file name. The fake ignores its input, so the canned outputs are
/// what every request gets: the image embedding is (0.5, −0.3, 0, …); text output row r is e_r; the projection moves
/// e_i to 2·e_(i−2), so a text whose end token is at position k embeds as e_(k−2): "red" → e0, "red blue" → e1,
/// "red blue green" → e2.
/// </summary>
internal static class FakeClipHefs
{
    public static void Write(string modelsDir, int? lutRows = null)
    {
        var dir = Path.Combine(modelsDir, ClipModels.NpuDefault);
        Directory.CreateDirectory(dir);
        var image = new byte[512];
        Array.Fill(image, (byte)128);
        image[0] = 128 + 50;
        image[1] = 128 - 30;
        File.WriteAllBytes(Path.Combine(dir, "image_out.bin"), image);
        File.WriteAllText(Path.Combine(dir, "clip_vit_b_32_image_encoder.hef"),
            """{"kind": "vision", "inputs": [{"name": "clip_vit_b_32_image_encoder/input_layer1", "shape": [224, 224, 3], "type": "UINT8", "order": "NHWC"}], "outputs": [{"name": "clip_vit_b_32_image_encoder/conv1", "shape": [512], "type": "UINT8", "order": "NC", "quant": {"scale": 0.01, "zp": 128, "min": -1.28, "max": 1.27}, "data_file": "image_out.bin"}]}""");
        var text = new byte[77 * 512];
        for (var r = 0; r < 77; r++) text[r * 512 + r] = 100;
        File.WriteAllBytes(Path.Combine(dir, "text_out.bin"), text);
        File.WriteAllText(Path.Combine(dir, "clip_vit_b_32_text_encoder.hef"),
            """{"kind": "vision", "inputs": [{"name": "clip_vit_b_32_text_encoder/input_layer1", "shape": [77, 512], "type": "UINT8", "order": "NHWC", "quant": {"scale": 0.02, "zp": 128}}], "outputs": [{"name": "clip_vit_b_32_text_encoder/normalization25", "shape": [77, 512], "type": "UINT8", "order": "NHWC", "quant": {"scale": 0.01, "zp": 0, "min": 0, "max": 2.55}, "data_file": "text_out.bin"}]}""");
        var rows = lutRows ?? ClipTestModel.Vocab;
        var lut = new float[rows * 512];
        for (var i = 0; i < lut.Length; i++) lut[i] = (i % 7) * 0.01f;
        File.WriteAllBytes(Path.Combine(dir, "token_embedding_lut.npy"), NpyArray.Write(lut, rows, 512));
        var projection = new float[512 * 512];
        for (var i = 0; i < 512; i++) projection[i * 512 + (i + 510) % 512] = 2;
        File.WriteAllBytes(Path.Combine(dir, "text_projection.npy"), NpyArray.Write(projection, 512, 512));
        using var f = File.Create(Path.Combine(dir, "bpe_simple_vocab_16e6.txt.gz"));
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(Encoding.UTF8.GetBytes(ClipTestModel.MergesText));
    }
}
