using System.Net;
using System.Text.Json;
using Hailo.Audio.Encoding;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Piper.Tests.Process;

/// <summary>
/// The hailo-piper executable: notify datagrams, the built-in default voice (flite:slt, no model file) ready at start,
/// speech decoded in every encoder the binary links (lame, FLAC, opus) and through espeak-ng, OpenAI's 400s, SIGTERM,
/// the NPU refused, commands and config errors. Runs the JIT build, or the Native AOT binary when
/// AOT_BINARY_HAILO_PIPER names it.
/// </summary>
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-piper")
{
    private const string Text = "The quick brown fox jumps over the lazy dog. It was a sunny day.";

    private static async Task<ProbedAudio> Speak(ServiceProcess p, AudioFormat format, string codec, string contentType, string voice = "alloy")
    {
        var r = await p.Client.Speech($$"""{"model":"tts-1","input":"{{Text}}","voice":"{{voice}}","response_format":"{{format.ToString().ToLowerInvariant()}}"}""");
        var bytes = await r.Content.ReadAsByteArrayAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal(contentType, r.Content.Headers.ContentType?.MediaType);
        var audio = ProbedAudio.From(bytes, format);
        Assert.Equal(codec, audio.Codec);
        Assert.Equal(1, audio.Channels);
        Assert.Equal("", audio.Errors);
        // Two sentences of speech: seconds of it, not silence.
        Assert.InRange(audio.Seconds, 2, 15);
        Assert.True(audio.Samples.Max(Math.Abs) > 0.05, $"{format}: the audio is silent");
        return audio;
    }

    [Fact]
    public async Task Built_in_voice_is_ready_at_start_speaks_wav_and_mp3_refuses_bad_input_and_stops_on_sigterm()
    {
        await using var p = StartWithWatchdog(Args());
        await p.WaitForDatagram("READY=1", LoadTimeout);
        AssertDatagram(p, "STATUS=ready (cpu");
        var health = await p.Client.GetAsync("/health");
        var body = await Json(health);
        Assert.True(health.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.Equal("cpu", body.GetProperty("backend").GetString());
        Assert.Contains(body.GetProperty("models").EnumerateArray(),
            m => m.GetProperty("name").GetString() == "flite:slt" && m.GetProperty("state").GetString() == "ready");

        var wav = await Speak(p, AudioFormat.Wav, "pcm_s16le", "audio/wav");
        Assert.Equal(16000, wav.SampleRate);
        var mp3 = await Speak(p, AudioFormat.Mp3, "mp3", "audio/mpeg");
        Assert.Equal(16000, mp3.SampleRate);
        Assert.InRange(mp3.Seconds, wav.Seconds - 0.05, wav.Seconds + 0.15);

        var bad = await p.Client.Speech("""{"input":"hi","voice":"alloy","response_format":"ogg"}""");
        Assert.Contains("response_format", await Http.AssertOpenAiError(bad, HttpStatusCode.BadRequest, "invalid_response_format"));
        Assert.Equal("response_format", (await Json(bad)).GetProperty("error").GetProperty("param").GetString());
        var blank = await p.Client.Speech("""{"input":"   ","voice":"alloy"}""");
        Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
        Assert.Equal("invalid_request_error", (await Json(blank)).GetProperty("error").GetProperty("type").GetString());
        var notJson = await p.Client.Speech("{\"input\":");
        await Http.AssertOpenAiError(notJson, HttpStatusCode.BadRequest, "invalid_json");
        Assert.Equal(HttpStatusCode.OK, (await p.Client.GetAsync("/health")).StatusCode);

        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Flac_opus_pcm_and_the_espeak_voice_work_in_the_binary()
    {
        await using var p = Start(Args());
        await p.WaitForDatagram("READY=1", LoadTimeout);
        Assert.Equal(16000, (await Speak(p, AudioFormat.Flac, "flac", "audio/flac")).SampleRate);
        Assert.Equal(48000, (await Speak(p, AudioFormat.Opus, "opus", "audio/ogg")).SampleRate);
        Assert.Equal(24000, (await Speak(p, AudioFormat.Pcm, "pcm_s16le", "audio/pcm")).SampleRate);
        await Speak(p, AudioFormat.Wav, "pcm_s16le", "audio/wav", voice: "espeak:en-us");
        var voices = await GetJson(p, "/v1/voices");
        Assert.Equal("flite:slt", voices.GetProperty("default").GetString());
        Assert.Contains(voices.GetProperty("voices").EnumerateArray(),
            v => v.GetProperty("name").GetString() == "espeak:en-us" && v.GetProperty("loaded").GetBoolean());
    }

    [AotFact("hailo-piper")]
    public async Task The_aot_binary_speaks_where_memory_may_not_be_writable_and_executable()
    {
        // The package's unit has MemoryDenyWriteExecute=yes: Flite's and espeak-ng's callbacks must not need run-time thunks.
        await using var p = StartDenyingWriteExecute(Args());
        await p.WaitForDatagram("READY=1", LoadTimeout);
        await Speak(p, AudioFormat.Mp3, "mp3", "audio/mpeg");
        await Speak(p, AudioFormat.Opus, "opus", "audio/ogg", voice: "espeak:en-us");
    }

    [Fact]
    public async Task The_npu_is_refused_with_the_reason()
    {
        var (code, _, err) = await Run(Args("--device", "npu"));
        Assert.Equal(2, code);
        Assert.Contains("hailo-piper runs on the CPU only", err);
    }

    [Fact]
    public async Task Commands_list_the_voices_and_print_the_config()
    {
        await AssertCommandPrints(["models", "--config", "/dev/null", "--models-dir", Models], "en_US-lessac-medium", "en_US-lessac-medium.onnx.json");
        await AssertCommandPrints(["print-config", "--config", "/dev/null"], new Dictionary<string, string?> { ["HAILO_PIPER_PIPER__MAX_INPUT_CHARS"] = "100" },
            "port: 5003", "max_input_chars: 100", "default_voice: \"flite:slt\"");
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem()
    {
        await AssertConfigRefused("piper:\n  max_input_chars: 0\n  max_loaded_voices: 100\nwyoming:\n  max_connections: 0\n",
            "piper.max_input_chars: must be between 1 and 1000000", "piper.max_loaded_voices: must be between 1 and 64",
            "wyoming.max_connections: must be between 1 and 1000");
    }
}
