using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Ollama.Tests.Process;

/// <summary>
/// The hailo-ollama executable itself: systemd notify datagrams, generation on the CPU with a generated GGUF, the NPU
/// backend through the fake shim, the degraded start without a model, SIGTERM, commands. Runs the JIT build by
/// default, the Native AOT binary when AOT_BINARY_HAILO_OLLAMA names it (`make test-aot`).
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests : IDisposable
{
    private static string Binary => ServiceProcess.Binary("hailo-ollama", "AOT_BINARY_HAILO_OLLAMA");
    private const int SigTerm = 15;
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-ollama-proc-").FullName;

    public void Dispose() => Directory.Delete(_models, true);

    private string[] Args(params string[] extra) =>
        ["--port", "{port}", "--models-dir", _models, "--models.search_paths", "", "--config", "/dev/null", "--threads", "1", .. extra];

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Cpu_backend_loads_the_gguf_notifies_ready_generates_and_stops_on_sigterm()
    {
        OllamaFixture.WriteDefaultModel(_models);
        await using var p = ServiceProcess.Start(Binary, Args("--device", "cpu"), new Dictionary<string, string?> { ["WATCHDOG_USEC"] = "400000" });
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(60));
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=ready (cpu", StringComparison.Ordinal) && d.Message.Contains("qwen2.5:0.5b", StringComparison.Ordinal));
        var r = await p.Client.PostAsync("/api/generate", Json("""{"model":"qwen2.5:0.5b","prompt":"Hello","stream":false,"options":{"num_predict":5}}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(5, body.GetProperty("eval_count").GetInt32());
        var v1 = await p.Client.PostAsync("/v1/chat/completions", Json("""{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"hi"}],"max_tokens":3}"""));
        Assert.Equal(3, JsonDocument.Parse(await v1.Content.ReadAsStringAsync()).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        p.Signal(SigTerm);
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains(p.Datagrams, d => d.Message.StartsWith("STOPPING=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim()
    {
        _ = FakeShim.Runtime;
        Npu.NpuTests.WriteFakeHef(_models, tokenDelayMs: 1);
        var env = new Dictionary<string, string?>
        {
            ["HAILO_SHIM_PATH"] = FakeShim.LibraryPath, ["HS_BACKEND"] = "fake", ["HS_FAKE_STATE_DIR"] = FakeShim.StateDir,
        };
        await using var p = ServiceProcess.Start(Binary, Args("--device", "npu", "--ollama.default_model", "qwen2.5:1.5b"), env);
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(60));
        var health = JsonDocument.Parse(await (await p.Client.GetAsync("/health")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("npu", health.GetProperty("backend").GetString());
        Assert.True(health.GetProperty("ready").GetBoolean(), health.ToString());
        var r = await p.Client.PostAsync("/api/chat", Json("""{"model":"qwen2.5:1.5b","messages":[{"role":"user","content":"echo this back"}],"stream":false}"""));
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("echo this back", body.GetProperty("message").GetProperty("content").GetString()!.Trim());
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_names_the_command_that_fixes_it()
    {
        await using var p = ServiceProcess.Start(Binary, Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(30));
        var fix = $"hailo-ollama pull qwen2.5:0.5b --models-dir {_models}";
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=degraded", StringComparison.Ordinal) && d.Message.Contains(fix, StringComparison.Ordinal));
        var health = await p.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var h = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("missing", h.GetProperty("models")[0].GetProperty("state").GetString());
        Assert.Equal(fix, h.GetProperty("fix").GetString());
        var r = await p.Client.PostAsync("/api/generate", Json("""{"model":"qwen2.5:0.5b","prompt":"x","stream":false}"""));
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Contains("hailo-ollama pull qwen2.5:0.5b", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        // Once the file is there, the next request loads it: no restart.
        OllamaFixture.WriteDefaultModel(_models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/api/generate", Json("""{"model":"qwen2.5:0.5b","prompt":"x","stream":false,"options":{"num_predict":2}}"""))).StatusCode);
    }

    [Fact]
    public async Task Commands_work()
    {
        var (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["--version"]);
        Assert.Equal(0, code);
        Assert.StartsWith("hailo-ollama 1.0.0", stdout);
        (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["models", "--config", "/dev/null", "--models-dir", _models]);
        Assert.Equal(0, code);
        Assert.Contains("qwen2.5:0.5b", stdout);
        (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["print-config", "--config", "/dev/null"]);
        Assert.Equal(0, code);
        Assert.Contains("port: 11434", stdout);
    }
}
