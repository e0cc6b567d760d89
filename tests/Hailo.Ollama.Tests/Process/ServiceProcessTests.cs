using System.Net;
using System.Text;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Ollama.Tests.Process;

/// <summary>
/// The hailo-ollama executable itself: systemd notify datagrams, generation on the CPU with a generated GGUF, the NPU
/// backend through the fake shim, the degraded start without a model, SIGTERM, commands. Runs the JIT build by
/// default, the Native AOT binary when AOT_BINARY_HAILO_OLLAMA names it (`make test-aot`).
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-ollama")
{
    private static StringContent JsonBody(string s) => new(s, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Cpu_backend_loads_the_gguf_notifies_ready_generates_and_stops_on_sigterm()
    {
        OllamaFixture.WriteDefaultModel(Models);
        await using var p = StartWithWatchdog(Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        AssertDatagram(p, "STATUS=ready (cpu", "qwen2.5:0.5b");
        var r = await p.Client.PostAsync("/api/generate", JsonBody("""{"model":"qwen2.5:0.5b","prompt":"Hello","stream":false,"options":{"num_predict":5}}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(5, (await Json(r)).GetProperty("eval_count").GetInt32());
        var v1 = await p.Client.PostAsync("/v1/chat/completions", JsonBody("""{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"hi"}],"max_tokens":3}"""));
        Assert.Equal(3, (await Json(v1)).GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        await AssertStopsCleanlyOnSigterm(p);
    }

    [AotFact("hailo-ollama")]
    public async Task The_aot_binary_loads_and_generates_where_memory_may_not_be_writable_and_executable()
    {
        // The package's unit has MemoryDenyWriteExecute=yes: llama.cpp's log callback must not need a run-time thunk.
        OllamaFixture.WriteDefaultModel(Models);
        await using var p = StartDenyingWriteExecute(Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        var r = await p.Client.PostAsync("/api/generate", JsonBody("""{"model":"qwen2.5:0.5b","prompt":"Hello","stream":false,"options":{"num_predict":4}}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(4, (await Json(r)).GetProperty("eval_count").GetInt32());
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim()
    {
        Npu.NpuTests.WriteFakeHef(Models, tokenDelayMs: 1);
        await using var p = await StartOnFakeNpu("--ollama.default_model", "qwen2.5:1.5b");
        var r = await p.Client.PostAsync("/api/chat", JsonBody("""{"model":"qwen2.5:1.5b","messages":[{"role":"user","content":"echo this back"}],"stream":false}"""));
        Assert.Equal("echo this back", (await Json(r)).GetProperty("message").GetProperty("content").GetString()!.Trim());
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_names_the_command_that_fixes_it()
    {
        await using var p = Start(Args("--device", "cpu"));
        var fix = $"hailo-ollama pull qwen2.5:0.5b --models-dir {Models}";
        var health = await AssertStartsDegraded(p, fix);
        Assert.Equal(fix, health.GetProperty("fix").GetString());
        var r = await p.Client.PostAsync("/api/generate", JsonBody("""{"model":"qwen2.5:0.5b","prompt":"x","stream":false}"""));
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Contains("hailo-ollama pull qwen2.5:0.5b", (await Json(r)).GetProperty("error").GetString());
        // Once the file is there, the next request loads it: no restart.
        OllamaFixture.WriteDefaultModel(Models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/api/generate", JsonBody("""{"model":"qwen2.5:0.5b","prompt":"x","stream":false,"options":{"num_predict":2}}"""))).StatusCode);
    }

    [Fact]
    public async Task Commands_work()
    {
        await AssertCommandPrints(["models", "--config", "/dev/null", "--models-dir", Models], "qwen2.5:0.5b");
        await AssertCommandPrints(["print-config", "--config", "/dev/null"], "port: 11434");
    }
}
