using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.TestSupport;
using Xunit;
using static Hailo.VisionService.Tests.VisionFixture;

namespace Hailo.VisionService.Tests;

/// <summary>
/// The hailo-vision executable itself: the NPU backend through the fake shim (systemd READY, images answered), the
/// CPU backend with a generated GGUF pair, the degraded starts without model files, commands, SIGTERM. Runs the JIT build
/// by default, the Native AOT binary when AOT_BINARY_HAILO_VISION names it.
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-vision")
{
    private static readonly string Red = B64(Png(255, 0, 0));

    /// <summary>Never the machine's system bus.</summary>
    protected override string[] Args(params string[] extra) => base.Args(["--kv_cache.bus", "none", .. extra]);

    [Fact]
    public async Task Npu_backend_answers_about_an_image_in_the_binary_and_stops_on_sigterm()
    {
        WriteFakeHef(Models);
        await using var p = await StartOnFakeNpu();
        AssertDatagram(p, "STATUS=ready (npu", "qwen2-vl:2b");
        var r = await p.Client.PostAsync("/api/generate", VisionFixture.Json($$"""{"model":"qwen2-vl:2b","prompt":"what is it","images":["{{Red}}"],"stream":false}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await Json(r);
        Assert.Equal("<image0:mean=85> what is it", body.GetProperty("response").GetString()!.Trim());
        Assert.True(body.GetProperty("prompt_eval_count").GetInt32() >= ImageTokens);
        var bad = await p.Client.PostAsync("/v1/chat/completions", VisionFixture.Json("""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.jpg"}}]}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("invalid_request_error", (await Json(bad)).GetProperty("error").GetProperty("type").GetString());
        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task On_the_cpu_without_its_gguf_pair_the_service_starts_degraded_and_names_the_pull_command()
    {
        await using var p = Start(Args("--device", "cpu"));
        var health = await AssertStartsDegraded(p, "smolvlm:256m");
        Assert.Contains("pull smolvlm:256m", health.ToString());
    }

    /// <summary>The binary on the CPU with the generated GGUF pair (<see cref="CpuFixture"/>): llama.cpp and libmtmd load in it.</summary>
    [Fact]
    public async Task Cpu_backend_answers_about_an_image_in_the_binary_and_stops_on_sigterm()
    {
        CpuFixture.WriteModel(Models);
        await using var p = Start(Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        AssertDatagram(p, "STATUS=ready (cpu", "smolvlm:256m");
        var r = await p.Client.PostAsync("/api/generate", VisionFixture.Json($$$"""{"model":"smolvlm:256m","prompt":"what is it","images":["{{{Red}}}"],"stream":false,"options":{"num_predict":4}}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await Json(r);
        Assert.Equal(4, body.GetProperty("eval_count").GetInt32());
        Assert.True(body.GetProperty("prompt_eval_count").GetInt32() > CpuFixture.ImageTokens);
        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Without_its_hef_the_npu_service_starts_degraded_and_names_the_pull_command()
    {
        _ = FakeShim.Runtime;
        var env = new Dictionary<string, string?> { ["HAILO_SHIM_PATH"] = FakeShim.LibraryPath, ["HS_BACKEND"] = "fake", ["HS_FAKE_STATE_DIR"] = FakeShim.StateDir };
        await using var p = Start(Args("--device", "npu"), env);
        var fix = $"hailo-vision pull qwen2-vl:2b-hef --models-dir {Models}";
        var health = await AssertStartsDegraded(p, fix);
        Assert.Equal(fix, health.GetProperty("fix").GetString());
        var r = await p.Client.PostAsync("/api/chat", VisionFixture.Json("""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":"x"}],"stream":false}"""));
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Contains("hailo-vision pull qwen2-vl:2b-hef", (await Json(r)).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Commands_work()
    {
        await AssertCommandPrints(["models", "--config", "/dev/null", "--models-dir", Models], "qwen2-vl:2b-hef");
        await AssertCommandPrints(["print-config", "--config", "/dev/null"], "port: 11435");
    }
}
