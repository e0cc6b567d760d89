using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Hailo.TestSupport;

/// <summary>
/// Fake "HEFs" for the shim's fake backend with the I/O of the Hailo models the services load on the NPU, for a test
/// that runs a whole service process on the fake device without asserting on its answers (the fleet soak). Each
/// writer takes the model's own directory (the service's NpuDefault under the models directory) and writes the JSON
/// the fake reads in place of the HEF plus its canned outputs. The fake ignores its inputs: what a service built on
/// these proves is the host side (pre-processing, de-quantisation, post-processing, HTTP), never a model's quality.
/// The services' own NPU tests keep their exact-answer fixtures; these mirror their shapes.
/// </summary>
public static class FakeNpuHefs
{
    /// <summary>hailo-ollama's qwen2.5:1.5b on the NPU: the fake LLM echoes the prompt one token per <paramref name="tokenDelayMs"/>.</summary>
    public static string Llm(string modelsDir, int tokenDelayMs)
    {
        var dir = Path.Combine(modelsDir, "qwen2.5:1.5b-hef");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "Qwen2.5-1.5B-Instruct.hef");
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture, $$"""{"kind": "llm", "context_size": 4096, "token_delay_ms": {{tokenDelayMs}}}"""));
        return path;
    }

    /// <summary>hailo-whisper's Whisper-Base.hef: one fixed text per 5 s of non-silent audio.</summary>
    public static string Whisper(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "Whisper-Base.hef");
        File.WriteAllText(path, """{"kind": "s2t", "segment_seconds": 5.0, "silence_rms": 0.01, "texts": ["alpha", "bravo", "charlie", "delta"]}""");
        return path;
    }

    /// <summary>hailo-depth's scdepthv3.hef: 256×320×3 uint8 in, 256×320×1 uint16 logits out, a left-to-right ramp.</summary>
    public static string Depth(string dir)
    {
        const float scale = 0.00035f, zp = 30000;
        Directory.CreateDirectory(dir);
        var codes = new byte[256 * 320 * 2];
        for (var y = 0; y < 256; y++)
            for (var x = 0; x < 320; x++)
                BitConverter.TryWriteBytes(codes.AsSpan(2 * (y * 320 + x)), (ushort)(Math.Round((-6 + 12.0 * x / 319) / scale) + zp));
        File.WriteAllBytes(Path.Combine(dir, "scdepthv3_out.bin"), codes);
        var path = Path.Combine(dir, "scdepthv3.hef");
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture, $$$"""
            {"kind": "vision",
             "inputs": [{"name": "scdepthv3/input_layer1", "shape": [256, 320, 3], "type": "UINT8", "order": "NHWC", "quant": {"scale": 1.0, "zp": 0}}],
             "outputs": [{"name": "scdepthv3/conv31", "shape": [256, 320, 1], "type": "UINT16", "order": "NHWC",
                          "quant": {"scale": {{{scale:R}}}, "zp": {{{zp:R}}}, "min": {{{-zp * scale:R}}}, "max": {{{(65535 - zp) * scale:R}}}}, "data_file": "scdepthv3_out.bin"}]}
            """));
        return path;
    }

    /// <summary>
    /// hailo-depth's stereonet.hef: two uint8 368×1232×3 inputs (right listed first; the left is named
    /// `input_layer1`), one uint8 368×1232×1 map that is the left image's red channel at scale 0.5.
    /// </summary>
    public static string StereoNet(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "stereonet.hef");
        File.WriteAllText(path, """
            {"kind": "vision",
             "inputs": [{"name": "stereonet/input_layer2", "shape": [368, 1232, 3], "type": "UINT8", "order": "NHWC"},
                        {"name": "stereonet/input_layer1", "shape": [368, 1232, 3], "type": "UINT8", "order": "NHWC"}],
             "outputs": [{"name": "stereonet/conv42", "shape": [368, 1232, 1], "type": "UINT8", "order": "NHWC",
                          "quant": {"scale": 0.5, "zp": 0, "min": 0, "max": 127.5}, "copy_input": {"input": 1, "channel": 0}}]}
            """);
        return path;
    }

    /// <summary>
    /// hailo-ocr's PaddleOCR pair (ocr_det.hef: 544×960×3 in, a uint8 probability map out with one text line at
    /// x 100..500, y 200..240; ocr.hef: 48×320×3 in, [1, 40, 97] uint8 softmax out spelling the same 7 classes).
    /// </summary>
    public static void Ocr(string dir, string detFile = "ocr_det.hef", string recFile = "ocr.hef")
    {
        Directory.CreateDirectory(dir);
        var map = new byte[960 * 544];
        Array.Fill(map, (byte)5);
        for (var y = 200; y < 240; y++) map.AsSpan(y * 960 + 100, 400).Fill(230);
        File.WriteAllBytes(Path.Combine(dir, "ocr_det_map.bin"), map);
        File.WriteAllText(Path.Combine(dir, detFile), """
            {"kind": "vision",
             "inputs": [{"name": "ocr_det/input_layer1", "shape": [544, 960, 3], "type": "UINT8", "order": "NHWC", "quant": {"scale": 1.0, "zp": 0}}],
             "outputs": [{"name": "ocr_det/conv_out", "shape": [544, 960, 1], "type": "UINT8", "order": "NHWC",
                          "quant": {"scale": 0.003921569, "zp": 0, "min": 0.0, "max": 1.0}, "data_file": "ocr_det_map.bin"}]}
            """);
        // CTC frames: blank, then classes 34..40 held two steps with a blank after each, blanks to the end.
        const int steps = 40, classes = 97;
        var frames = new List<int> { 0 };
        for (var k = 34; k <= 40; k++) frames.AddRange([k, k, 0]);
        while (frames.Count < steps) frames.Add(0);
        var rec = new byte[steps * classes];
        for (var t = 0; t < steps; t++)
        {
            rec[t * classes + frames[t]] = 235;
            for (int c = 0, n = 0; n < 20; c++)
                if (c != frames[t]) { rec[t * classes + c] = 1; n++; }
        }
        File.WriteAllBytes(Path.Combine(dir, "ocr_rec_out.bin"), rec);
        File.WriteAllText(Path.Combine(dir, recFile), """
            {"kind": "vision",
             "inputs": [{"name": "ocr/input_layer1", "shape": [48, 320, 3], "type": "UINT8", "order": "NHWC", "quant": {"scale": 1.0, "zp": 0}}],
             "outputs": [{"name": "ocr/softmax1", "shape": [1, 40, 97], "type": "UINT8", "order": "NHWC",
                          "quant": {"scale": 0.003921569, "zp": 0, "min": 0.0, "max": 1.0}, "data_file": "ocr_rec_out.bin"}]}
            """);
    }

    /// <summary>
    /// hailo-clip's clip_vit_b_32 pair (image encoder: 224×224×3 uint8 in, 512 uint8 out; text encoder: 77×512 token
    /// embeddings in, 77×512 uint8 out) with the host-side files next to them: a token-embedding table of
    /// <paramref name="vocabRows"/> rows, a 512×512 text projection and the BPE merges gzipped.
    /// </summary>
    public static void Clip(string dir, int vocabRows, string mergesText)
    {
        Directory.CreateDirectory(dir);
        var image = new byte[512];
        Array.Fill(image, (byte)128);
        image[0] = 178;
        image[1] = 98;
        File.WriteAllBytes(Path.Combine(dir, "image_out.bin"), image);
        File.WriteAllText(Path.Combine(dir, "clip_vit_b_32_image_encoder.hef"),
            """{"kind": "vision", "inputs": [{"name": "clip_vit_b_32_image_encoder/input_layer1", "shape": [224, 224, 3], "type": "UINT8", "order": "NHWC"}], "outputs": [{"name": "clip_vit_b_32_image_encoder/conv1", "shape": [512], "type": "UINT8", "order": "NC", "quant": {"scale": 0.01, "zp": 128, "min": -1.28, "max": 1.27}, "data_file": "image_out.bin"}]}""");
        var text = new byte[77 * 512];
        for (var r = 0; r < 77; r++) text[r * 512 + r] = 100;
        File.WriteAllBytes(Path.Combine(dir, "text_out.bin"), text);
        File.WriteAllText(Path.Combine(dir, "clip_vit_b_32_text_encoder.hef"),
            """{"kind": "vision", "inputs": [{"name": "clip_vit_b_32_text_encoder/input_layer1", "shape": [77, 512], "type": "UINT8", "order": "NHWC", "quant": {"scale": 0.02, "zp": 128}}], "outputs": [{"name": "clip_vit_b_32_text_encoder/normalization25", "shape": [77, 512], "type": "UINT8", "order": "NHWC", "quant": {"scale": 0.01, "zp": 0, "min": 0, "max": 2.55}, "data_file": "text_out.bin"}]}""");
        var lut = new float[vocabRows * 512];
        for (var i = 0; i < lut.Length; i++) lut[i] = i % 7 * 0.01f;
        File.WriteAllBytes(Path.Combine(dir, "token_embedding_lut.npy"), Npy(lut, vocabRows, 512));
        var projection = new float[512 * 512];
        for (var i = 0; i < 512; i++) projection[i * 512 + (i + 510) % 512] = 2;
        File.WriteAllBytes(Path.Combine(dir, "text_projection.npy"), Npy(projection, 512, 512));
        using var f = File.Create(Path.Combine(dir, "bpe_simple_vocab_16e6.txt.gz"));
        using var gz = new GZipStream(f, CompressionLevel.Fastest);
        gz.Write(Encoding.UTF8.GetBytes(mergesText));
    }

    /// <summary>A float32 little-endian C-order .npy (format 1.0, header padded to 64 bytes).</summary>
    private static byte[] Npy(float[] values, int rows, int cols)
    {
        var header = string.Create(CultureInfo.InvariantCulture, $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
        var total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        var bytes = new byte[10 + header.Length + values.Length * 4];
        bytes[0] = 0x93;
        "NUMPY"u8.CopyTo(bytes.AsSpan(1));
        bytes[6] = 1;
        BitConverter.TryWriteBytes(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        Buffer.BlockCopy(values, 0, bytes, 10 + header.Length, values.Length * 4);
        return bytes;
    }
}
