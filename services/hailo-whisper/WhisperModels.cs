using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoWhisper;

/// <summary>
/// The Whisper models this service knows. CPU: whisper.cpp's ggml conversions of OpenAI's Whisper weights, published
/// at huggingface.co/ggerganov/whisper.cpp, pinned by sha256. NPU: Whisper-Base compiled for Hailo-10H, from Hailo's
/// GenAI model zoo (Hailo publishes no checksum, so none is pinned). No registry CI reaches serves any of these files;
/// the tests write random-weight models of the same format instead.
/// </summary>
public static class WhisperModels
{
    public const string CpuDefault = "whisper-base";
    public const string NpuDefault = "whisper-base-h10";

    private const string Hf = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/";
    private const string GenAiZoo = "https://dev-public.hailo.ai/v5.1.1/blob/";

    private static ModelManifest Ggml(string name, string file, string sha256, string what) => new(
        name, Backend.Cpu, $"Whisper {what} (whisper.cpp ggml, F16)", "MIT (OpenAI Whisper weights, ggml conversion by whisper.cpp)",
        [new ModelFile(file, sha256, null, Url: Hf + file)]);

    public static readonly ModelManifest Base = Ggml(CpuDefault, "ggml-base.bin", "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe", "base, 74 M parameters, multilingual, 148 MB");
    public static readonly ModelManifest BaseEn = Ggml("whisper-base.en", "ggml-base.en.bin", "a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002", "base, English only, 148 MB");
    public static readonly ModelManifest Tiny = Ggml("whisper-tiny", "ggml-tiny.bin", "be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21", "tiny, 39 M parameters, multilingual, 78 MB");
    public static readonly ModelManifest TinyEn = Ggml("whisper-tiny.en", "ggml-tiny.en.bin", "921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f", "tiny, English only, 78 MB");
    public static readonly ModelManifest Small = Ggml("whisper-small", "ggml-small.bin", "1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b", "small, 244 M parameters, multilingual, 488 MB");
    public static readonly ModelManifest SmallEn = Ggml("whisper-small.en", "ggml-small.en.bin", "c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d", "small, English only, 488 MB");

    /// <summary>Whisper-Base for Hailo-10H through HailoRT Speech2Text (10 s windows on the device, segments without word times).</summary>
    public static readonly ModelManifest BaseHailo = new(
        NpuDefault, Backend.Npu, "Whisper-Base compiled for Hailo-10H (Hailo GenAI model zoo HEF, HailoRT Speech2Text)",
        "MIT (OpenAI Whisper weights), compiled by Hailo",
        [new ModelFile("Whisper-Base.hef", null, null, Url: GenAiZoo + "Whisper-Base.hef", Unverified: true)]);

    public static readonly IReadOnlyList<ModelManifest> Catalog = [Base, BaseEn, Tiny, TinyEn, Small, SmallEn, BaseHailo];
}
