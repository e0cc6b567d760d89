using System.Net;
using System.Text.Json;
using Hailo.TestSupport;
using Xunit;
using static Hailo.VisionService.Tests.VisionFixture;

namespace Hailo.VisionService.Tests;

/// <summary>
/// hailo-vision and hailo-ollama on the fake NPU take turns with its one KV cache over a private dbus-daemon: requests
/// alternate between the two real processes, each answered after the other hands the cache over. The fake device
/// keeps the cache with an flock() across processes, as HailoRT refuses a second LLM or VLM, so without the hand-off
/// every other request would be a 503. Runs the JIT builds, or the AOT binaries named by AOT_BINARY_HAILO_VISION and
/// AOT_BINARY_HAILO_OLLAMA.
/// </summary>
[Collection("fake-shim")]
public sealed class KvCacheProcessTests() : ServiceProcessTestBase("hailo-vision")
{
    [Fact]
    public async Task Vision_and_ollama_alternate_on_the_one_kv_cache()
    {
        using var bus = new PrivateBus();
        WriteFakeHef(Models);
        var llmDir = Path.Combine(Models, "qwen2.5:1.5b-hef");
        Directory.CreateDirectory(llmDir);
        File.WriteAllText(Path.Combine(llmDir, "Qwen2.5-1.5B-Instruct.hef"), """{"kind": "llm", "context_size": 4096, "token_delay_ms": 1}""");
        string[] turns = ["--models.preload", "false", "--kv_cache.bus", bus.Address, "--kv_cache.min_hold_seconds", "0", "--kv_cache.wait_seconds", "20"];
        await using var vision = await StartOnFakeNpu(turns);
        _ = FakeShim.Runtime;
        var env = new Dictionary<string, string?> { ["HAILO_SHIM_PATH"] = FakeShim.LibraryPath, ["HS_BACKEND"] = "fake", ["HS_FAKE_STATE_DIR"] = FakeShim.StateDir };
        await using var ollama = ServiceProcess.Start(ServiceProcess.Binary("hailo-ollama", AotBinaryVariable("hailo-ollama")),
            IsolatedArgs(Models, ["--device", "npu", "--ollama.default_model", "qwen2.5:1.5b", .. turns]), env);
        await ollama.WaitForDatagram("READY=1", LoadTimeout);
        var red = B64(Png(255, 0, 0));
        for (var i = 0; i < 3; i++)
        {
            var v = await vision.Client.PostAsync("/api/generate", VisionFixture.Json($$"""{"model":"qwen2-vl:2b","prompt":"v{{i}}","images":["{{red}}"],"stream":false}"""));
            var vText = await v.Content.ReadAsStringAsync();
            Assert.True(v.StatusCode == HttpStatusCode.OK, vText);
            Assert.Equal($"<image0:mean=85> v{i}", JsonDocument.Parse(vText).RootElement.GetProperty("response").GetString()!.Trim());
            var o = await ollama.Client.PostAsync("/api/chat", VisionFixture.Json($$"""{"model":"qwen2.5:1.5b","messages":[{"role":"user","content":"o{{i}}"}],"stream":false}"""));
            var oText = await o.Content.ReadAsStringAsync();
            Assert.True(o.StatusCode == HttpStatusCode.OK, oText);
            Assert.Equal($"o{i}", JsonDocument.Parse(oText).RootElement.GetProperty("message").GetProperty("content").GetString()!.Trim());
        }
        var metrics = await vision.Client.GetStringAsync("/metrics");
        Assert.Contains("kv_cache", metrics);
    }
}
