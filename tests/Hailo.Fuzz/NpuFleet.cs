using System.Text;
using System.Text.Json.Nodes;
using Hailo.TestSupport;

namespace Hailo.Fuzz;

/// <summary>
/// How one service runs in `fleet --device npu`: on the shim's fake backend with fake HEFs of the models it loads on
/// a Hailo-10H, every process sharing one fake device (one HS_FAKE_STATE_DIR, HailoRT's "SHARED" group), hailo-ollama and
/// hailo-vision taking turns with the one KV cache over a private dbus-daemon. A service with no NPU path here
/// (hailo-florence has no HEF; hailo-piper refuses the NPU) has no profile and runs on the CPU as in the CPU fleet.
/// </summary>
/// <param name="Prepare">Writes the models (fake HEFs, and whatever else the family needs, e.g. its index path) into the scratch directory; returns the models directory.</param>
/// <param name="Options">Options set over the family's own (--device npu, the KV-cache turns).</param>
/// <param name="Seed">A well-formed seed as the NPU model takes it (another model name), or null to leave it out.</param>
/// <param name="KvCache">Takes turns with the KV cache: its hand-offs are read from /metrics.</param>
public sealed record NpuProfile(Func<Family, string, string> Prepare, (string Key, string Value)[] Options, Func<FuzzRequest, FuzzRequest?>? Seed = null, bool KvCache = false)
{
    /// <summary>The LLM's and the VLM's fake per-token time: a generation holds the device a few ms per token, as a real one does (slower).</summary>
    public const int TokenDelayMs = 2;

    /// <summary>
    /// The KV-cache turns of the two GenAI services: a holder keeps the cache at least 2 s (the shipped 10 s would
    /// allow four hand-offs in a 45 s run), a request waits at most 15 s for it, then is refused with 503 + Retry-After.
    /// </summary>
    public static (string, string)[] Turns(string bus) =>
        [("--kv_cache.bus", bus), ("--kv_cache.min_hold_seconds", "2"), ("--kv_cache.wait_seconds", "15")];

    public static IDictionary<string, string?> Environment => new Dictionary<string, string?>
    {
        ["HAILO_SHIM_PATH"] = FakeShim.LibraryPath, ["HS_BACKEND"] = "fake", ["HS_FAKE_STATE_DIR"] = FakeShim.StateDir,
    };

    /// <summary>The NPU profile of <paramref name="service"/>, or null when it has no NPU path (it runs on the CPU).</summary>
    public static NpuProfile? For(string service, string bus)
    {
        (string, string)[] npu = [("--device", "npu")];
        return service switch
        {
            "hailo-ocr" => new((_, s) => { FakeNpuHefs.Ocr(Path.Combine(s, "paddleocr-hailo10h")); return s; }, npu),
            "hailo-pose" => new((_, s) => { Hailo.Pose.Tests.Npu.NpuServiceTests.WriteFakeHef(s); return s; }, npu),
            "hailo-depth" => new((_, s) =>
            {
                FakeNpuHefs.Depth(Path.Combine(s, HailoDepth.DepthModels.NpuDefault));
                FakeNpuHefs.StereoNet(Path.Combine(s, HailoDepth.DepthModels.StereoNpuDefault));
                return s;
            }, npu),
            "hailo-scrfd" => new((_, s) =>
            {
                FakeFaceHef.Scrfd(Path.Combine(s, HailoScrfd.ScrfdModels.NpuDefault), "scrfd_10g.hef", PlantedFaces.Levels(Hailo.Scrfd.Tests.ScrfdServiceFixture.Scene()));
                return s;
            }, npu),
            "hailo-face" => new((f, s) =>
            {
                f.PrepareModels(s); // the gallery's path in the scratch directory (and the CPU models, unused on the NPU)
                var dir = Path.Combine(s, HailoFace.FaceModels.NpuDefault);
                FakeFaceHef.Scrfd(dir, "scrfd_10g.hef", PlantedFaces.Levels([Hailo.FaceService.Tests.FaceServiceFixture.Face]));
                FakeFaceHef.ArcFace(dir, "arcface_mobilefacenet.hef", Enumerable.Range(0, 512).Select(i => MathF.Cos(i * 0.21f)).ToArray());
                return s;
            }, npu),
            "hailo-whisper" => new((_, s) => { FakeNpuHefs.Whisper(Path.Combine(s, HailoWhisper.WhisperModels.NpuDefault)); return s; }, npu, WhisperSeed),
            "hailo-clip" => new((f, s) =>
            {
                f.PrepareModels(s); // the index's path in the scratch directory
                FakeNpuHefs.Clip(Path.Combine(s, HailoClip.ClipModels.NpuDefault), ClipTestModel.Vocab, ClipTestModel.MergesText);
                return s;
            }, npu),
            "hailo-ollama" => new((_, s) => { FakeNpuHefs.Llm(s, TokenDelayMs); return s; },
                [.. npu, ("--ollama.default_model", "qwen2.5:1.5b"), ("--models.preload", "false"), .. Turns(bus)], OllamaSeed, KvCache: true),
            "hailo-vision" => new((_, s) => { Hailo.VisionService.Tests.VisionFixture.WriteFakeHef(s, TokenDelayMs); return s; },
                [.. npu, ("--models.preload", "false"), .. Turns(bus)], KvCache: true),
            _ => null,
        };
    }

    /// <summary>
    /// hailo-ollama's seeds name the CPU fleet's GGUF (qwen2.5:0.5b); on the NPU the model is qwen2.5:1.5b. The
    /// base-model GGUF (bare:tiny) has no NPU counterpart: those seeds are left out.
    /// Structured output (Ollama's "format", OpenAI's "response_format") needs constrained decoding, which HailoRT
    /// has not: the NPU refuses it with a 400 naming the reason, so the seeds go without it.
    /// </summary>
    private static FuzzRequest? OllamaSeed(FuzzRequest r)
    {
        var text = Encoding.UTF8.GetString(r.Body);
        if (text.Contains(OllamaFamily.Bare, StringComparison.Ordinal)) return null;
        var json = JsonNode.Parse(text.Replace(OllamaFamily.Model, "qwen2.5:1.5b", StringComparison.Ordinal))!.AsObject();
        json.Remove("format");
        json.Remove("response_format");
        return r with { Body = Encoding.UTF8.GetBytes(json.ToJsonString()) };
    }

    /// <summary>
    /// HailoRT's Speech2Text gives segment times only: the NPU refuses word timestamps with a 400 naming the reason,
    /// so the seed that asks for them asks for segments.
    /// </summary>
    private static FuzzRequest WhisperSeed(FuzzRequest r)
    {
        var text = Encoding.Latin1.GetString(r.Body);
        var field = text.IndexOf("name=\"timestamp_granularities[]\"", StringComparison.Ordinal);
        if (field < 0) return r;
        var value = text.IndexOf("\r\n\r\nword\r\n", field, StringComparison.Ordinal);
        return value < 0 ? r : r with { Body = Encoding.Latin1.GetBytes(text[..value] + "\r\n\r\nsegment\r\n" + text[(value + 10)..]) };
    }

    /// <summary>The family's options with <paramref name="options"/> set over them (a key already there gets the new value).</summary>
    public static string[] Apply(string[] args, (string Key, string Value)[] options)
    {
        var list = args.ToList();
        foreach (var (key, value) in options)
        {
            var i = list.IndexOf(key);
            if (i >= 0 && i + 1 < list.Count) list[i + 1] = value;
            else list.AddRange([key, value]);
        }
        return [.. list];
    }
}
