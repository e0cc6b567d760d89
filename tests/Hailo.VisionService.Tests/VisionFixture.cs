using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.Media;
using Hailo.TestSupport;
using HailoVision;
using Xunit;

namespace Hailo.VisionService.Tests;

/// <summary>
/// hailo-vision in-process on the NPU backend with the shim's fake underneath: a stand-in "HEF" (the fake's VLM JSON)
/// installed as qwen2-vl:2b. The fake VLM answers one &lt;imageK:mean=M&gt; token per frame (M: the integer mean of the
/// frame's bytes) and then echoes the last user message's text, and counts each image as <see cref="ImageTokens"/>
/// context tokens. What this proves is the service around the device (image decoding and framing, messages with image
/// parts, streaming, the device's counts), not what a real Qwen2-VL answers.
/// </summary>
public sealed class VisionFixture : IAsyncLifetime
{
    public const int Frame = 8;
    public const int ImageTokens = 16;
    public string ModelsDir { get; } = Directory.CreateTempSubdirectory("hailo-vision-test-").FullName;
    public RunningService Service { get; private set; } = null!;
    public HttpClient Client => Service.Client;

    public static void WriteFakeHef(string modelsDir, int tokenDelayMs = 1)
    {
        var dir = Path.Combine(modelsDir, "qwen2-vl:2b-hef");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "Qwen2-VL-2B-Instruct.hef"),
            $$$"""{"kind": "vlm", "context_size": 4096, "token_delay_ms": {{{tokenDelayMs}}}, "image_tokens": {{{ImageTokens}}}, "frame": {"shape": [{{{Frame}}}, {{{Frame}}}, 3], "type": "UINT8", "order": "NHWC"}}""");
    }

    public static VisionConfig Config(string modelsDir)
    {
        var c = new VisionConfig { Device = Backend.Npu };
        c.Models.Dir = modelsDir;
        c.Models.SearchPaths = [];
        c.Server.MaxQueuedRequests = 4;
        c.KvCache.Bus = "none";
        return c;
    }

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        WriteFakeHef(ModelsDir);
        Service = await RunningService.StartAsync(HailoVision.VisionService.Definition, Config(ModelsDir));
        await Service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        Directory.Delete(ModelsDir, true);
    }

    public static byte[] Png(byte r, byte g, byte b, int w = 16, int h = 12)
    {
        using var img = RgbaImage.Filled(w, h, r, g, b);
        return img.Encode(ImageFormat.Png);
    }

    public static string B64(byte[] data) => Convert.ToBase64String(data);

    public static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    public async Task<(int Status, JsonElement Body)> PostAsync(string path, string json)
    {
        var r = await Client.PostAsync(path, Json(json));
        var text = await r.Content.ReadAsStringAsync();
        return ((int)r.StatusCode, JsonDocument.Parse(text).RootElement);
    }
}

/// <summary>The tests that use the fake shim (its faults and its cross-process KV-cache lock) run one class at a time.</summary>
[CollectionDefinition("fake-shim")]
public sealed class FakeShimCollection;
