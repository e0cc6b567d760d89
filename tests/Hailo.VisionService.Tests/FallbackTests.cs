using System.Net;
using System.Text.Json;
using Hailo.Core;
using Hailo.Runtime;
using Hailo.TestSupport;
using HailoVision;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Hailo.VisionService.Tests.VisionFixture;

namespace Hailo.VisionService.Tests;

/// <summary>
/// device: auto with both the fake "HEF" and the generated CPU pair (random-weight text GGUF + mmproj) installed; the
/// probe says an NPU is there, so the NPU serves. The KV cache "held elsewhere" is the shim's injected fault
/// kv_cache_in_use (what a load meets while another process holds it), after the NPU model was unloaded.
/// What this proves: with vision.fallback_to_cpu the same request is answered by the CPU model (its answer is not the
/// fake VLM's &lt;image0:mean=M&gt;, /api/ps shows the CPU model loaded), without it the 503 + Retry-After stands; and
/// the NPU serves again once the cache is free. It does not run two real services on a bus (KvCacheProcessTests does
/// the turn-taking itself): the arbiter's refusal after kv_cache.wait_seconds carries the same mark.
/// </summary>
[Collection("fake-shim")]
public sealed class FallbackTests : IAsyncLifetime
{
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-vision-fallback-").FullName;
    private RunningService _service = null!;
    private VisionConfig _config = null!;
    private static readonly string Red = B64(Png(255, 0, 0));

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        WriteFakeHef(_models);
        CpuFixture.WriteModel(_models);
        _config = Config(_models);
        _config.Device = Backend.Auto;
        _config.Cpu.Threads = 2;
        _service = await RunningService.StartAsync(HailoVision.VisionService.Definition, _config,
            b => b.Services.AddSingleton<Func<NpuProbe>>(() => new NpuProbe(true, "the test's probe: a Hailo-10H")));
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private async Task<(HttpResponseMessage R, JsonElement Body)> Chat()
    {
        var r = await _service.Client.PostAsync("/api/chat", Json($$"""{"model":"qwen2-vl:2b","stream":false,"options":{"num_predict":4},"messages":[{"role":"user","content":"x","images":["{{Red}}"]}]}"""));
        return (r, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement);
    }

    private async Task<List<(string Name, string Backend)>> Loaded()
    {
        var ps = JsonDocument.Parse(await _service.Client.GetStringAsync("/api/ps")).RootElement;
        return ps.GetProperty("models").EnumerateArray().Select(m => (m.GetProperty("name").GetString()!, m.GetProperty("backend").GetString()!)).ToList();
    }

    [Fact]
    public async Task The_cpu_answers_only_when_allowed_while_the_kv_cache_is_held()
    {
        var (first, body) = await Chat();
        Assert.True(first.IsSuccessStatusCode, body.ToString());
        Assert.Equal("<image0:mean=85> x", body.GetProperty("message").GetProperty("content").GetString()!.Trim());
        var unload = await _service.Client.PostAsync("/api/generate", Json("""{"model":"qwen2-vl:2b","keep_alive":0}"""));
        Assert.True(unload.IsSuccessStatusCode);

        using (FakeShim.Faults("kv_cache_in_use"))
        {
            _config.Vision.FallbackToCpu = false;
            var (refused, error) = await Chat();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            Assert.Contains("KV cache", error.GetProperty("error").GetString());

            _config.Vision.FallbackToCpu = true;
            var (ok, answer) = await Chat();
            Assert.True(ok.StatusCode == HttpStatusCode.OK, answer.ToString());
            var text = answer.GetProperty("message").GetProperty("content").GetString()!;
            Assert.DoesNotContain("<image0:mean=", text);
            Assert.True(answer.GetProperty("prompt_eval_count").GetInt32() > 16, answer.ToString()); // the CPU projector's 16 image tokens and the text
            Assert.Contains((VisionModels.DefaultCpuModel, "cpu"), await Loaded());
        }

        // The cache free again: the NPU answers (the fallback is per request, not a switch).
        var (back, again) = await Chat();
        Assert.True(back.IsSuccessStatusCode, again.ToString());
        Assert.Equal("<image0:mean=85> x", again.GetProperty("message").GetProperty("content").GetString()!.Trim());
    }

    [Fact]
    public async Task Without_a_pulled_cpu_model_the_503_stands()
    {
        _config.Vision.FallbackToCpu = true;
        await _service.Client.PostAsync("/api/generate", Json("""{"model":"qwen2-vl:2b","keep_alive":0}"""));
        var cpuDir = Path.Combine(_models, VisionModels.Find(VisionModels.DefaultCpuModel, Backend.Cpu)!.Name);
        Directory.Move(cpuDir, cpuDir + ".away");
        try
        {
            using (FakeShim.Faults("kv_cache_in_use"))
            {
                var (refused, _) = await Chat();
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            }
        }
        finally { Directory.Move(cpuDir + ".away", cpuDir); }
    }
}
