using System.Net;
using System.Text.Json;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Whisper.Tests.Process;

/// <summary>
/// The hailo-whisper executable: notify datagrams, a transcription on the CPU with a written model, SIGTERM, the
/// degraded start without a model (503 naming the fix) and the NPU backend through the fake shim. Runs the JIT build,
/// or the Native AOT binary when AOT_BINARY_HAILO_WHISPER names it.
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests : IDisposable
{
    private static string Binary => ServiceProcess.Binary("hailo-whisper", "AOT_BINARY_HAILO_WHISPER");
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-whisper-proc-").FullName;

    public void Dispose() => Directory.Delete(_models, true);

    private string[] Args(params string[] extra) =>
        ["--port", "{port}", "--models-dir", _models, "--models.search_paths", "", "--config", "/dev/null", "--threads", "1", .. extra];

    private static MultipartFormDataContent Speech() => ApiTests.Form(File.ReadAllBytes(AudioFiles.LibriVox()), "speech.wav", ("language", "en"));

    [Fact]
    public async Task Cpu_backend_loads_notifies_ready_transcribes_and_stops_on_sigterm()
    {
        WhisperTestModels.WriteTiny(_models);
        await using var p = ServiceProcess.Start(Binary, Args("--device", "cpu"), new Dictionary<string, string?> { ["WATCHDOG_USEC"] = "400000" });
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(60));
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=ready (cpu", StringComparison.Ordinal));
        var r = await p.Client.PostAsync("/v1/audio/transcriptions", Speech());
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        Assert.False(string.IsNullOrWhiteSpace(JsonDocument.Parse(body).RootElement.GetProperty("text").GetString()));
        p.Signal(15);
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains(p.Datagrams, d => d.Message.StartsWith("STOPPING=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_names_the_pull_command()
    {
        await using var p = ServiceProcess.Start(Binary, Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(30));
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=degraded: model whisper-base is missing", StringComparison.Ordinal)
                                           && d.Message.Contains("pull whisper-base", StringComparison.Ordinal));
        var health = await p.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var r = await p.Client.PostAsync("/v1/audio/transcriptions", Speech());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        var e = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Contains("hailo-whisper pull whisper-base", e.GetProperty("message").GetString());
        // Once the file is there, the next request loads it: no restart.
        WhisperTestModels.WriteTiny(_models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/audio/transcriptions", Speech())).StatusCode);
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim_and_wyoming_listens()
    {
        _ = FakeShim.Runtime;
        NpuTests.WriteFakeModel(_models);
        var env = new Dictionary<string, string?> { ["HAILO_SHIM_PATH"] = FakeShim.LibraryPath, ["HS_BACKEND"] = "fake", ["HS_FAKE_STATE_DIR"] = FakeShim.StateDir };
        await using var p = ServiceProcess.Start(Binary, Args("--device", "npu", "--wyoming.enabled", "true", "--wyoming.port", "0"), env);
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(60));
        var r = await p.Client.PostAsync("/v1/audio/transcriptions", ApiTests.Form(NpuTests.Tone(6), "tone.wav", ("response_format", "srt")));
        Assert.Equal("1\n00:00:00,000 --> 00:00:05,000\nalpha\n\n2\n00:00:05,000 --> 00:00:06,000\nbravo\n\n", await r.Content.ReadAsStringAsync());
        Assert.Contains("Wyoming speech-to-text on 127.0.0.1:", p.Stdout + p.Stderr);
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem()
    {
        var yaml = Path.Combine(_models, "bad.yaml");
        await File.WriteAllTextAsync(yaml, "whisper:\n  window_seconds: 1\n  cpu_model: whisper-huge\n  language: xx\nwyoming:\n  port: 70000\n");
        var (code, _, err) = await ServiceProcess.RunToEnd(Binary, ["check-config", "--config", yaml]);
        Assert.Equal(2, code);
        Assert.Contains("whisper.window_seconds: must be between 5 and 600", err);
        Assert.Contains("whisper.cpu_model: 'whisper-huge' is not a known CPU model", err);
        Assert.Contains("whisper.language: 'xx'", err);
        Assert.Contains("wyoming.port: 70000", err);
    }
}
