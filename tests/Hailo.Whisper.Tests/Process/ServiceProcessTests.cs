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
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-whisper")
{
    private static MultipartFormDataContent Speech() => ApiTests.Form(File.ReadAllBytes(AudioFiles.LibriVox()), "speech.wav", ("language", "en"));

    [Fact]
    public async Task Cpu_backend_loads_notifies_ready_transcribes_and_stops_on_sigterm()
    {
        WhisperTestModels.WriteTiny(Models);
        await using var p = StartWithWatchdog(Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        AssertDatagram(p, "STATUS=ready (cpu");
        var r = await p.Client.PostAsync("/v1/audio/transcriptions", Speech());
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        Assert.False(string.IsNullOrWhiteSpace(JsonDocument.Parse(body).RootElement.GetProperty("text").GetString()));
        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_names_the_pull_command()
    {
        await using var p = Start(Args("--device", "cpu"));
        await AssertStartsDegraded(p, "STATUS=degraded: model whisper-base is missing", "pull whisper-base");
        var r = await p.Client.PostAsync("/v1/audio/transcriptions", Speech());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        var e = (await Json(r)).GetProperty("error");
        Assert.Contains("hailo-whisper pull whisper-base", e.GetProperty("message").GetString());
        // Once the file is there, the next request loads it: no restart.
        WhisperTestModels.WriteTiny(Models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/audio/transcriptions", Speech())).StatusCode);
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim_and_wyoming_listens()
    {
        NpuTests.WriteFakeModel(Models);
        await using var p = await StartOnFakeNpu("--wyoming.enabled", "true", "--wyoming.port", "0");
        var r = await p.Client.PostAsync("/v1/audio/transcriptions", ApiTests.Form(NpuTests.Tone(6), "tone.wav", ("response_format", "srt")));
        Assert.Equal("1\n00:00:00,000 --> 00:00:05,000\nalpha\n\n2\n00:00:05,000 --> 00:00:06,000\nbravo\n\n", await r.Content.ReadAsStringAsync());
        Assert.Contains("Wyoming speech-to-text on 127.0.0.1:", p.Stdout + p.Stderr);
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem()
    {
        await AssertConfigRefused("whisper:\n  window_seconds: 1\n  cpu_model: whisper-huge\n  language: xx\nwyoming:\n  port: 70000\n",
            "whisper.window_seconds: must be between 5 and 600", "whisper.cpu_model: 'whisper-huge' is not a known CPU model",
            "whisper.language: 'xx'", "wyoming.port: 70000");
    }
}
