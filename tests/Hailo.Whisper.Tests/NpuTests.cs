using System.Net;
using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using HailoWhisper;
using HailoWhisper.Pipeline;
using Xunit;

namespace Hailo.Whisper.Tests;

[CollectionDefinition("fake-shim")]
public sealed class FakeShimCollection;

/// <summary>
/// The service on the NPU backend against the shim's fake Speech2Text: the fake returns one segment per 5 s of
/// non-silent audio with fixed texts, so SRT, WebVTT, verbose_json and the window offsets can be checked exactly.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuTests : IAsyncLifetime
{
    private string _models = "";
    private RunningService? _service;
    private HttpClient Client => _service!.Client;


    internal static void WriteFakeModel(string models)
    {
        var dir = Path.Combine(models, WhisperModels.NpuDefault);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "Whisper-Base.hef"),
            """{"kind": "s2t", "segment_seconds": 5.0, "silence_rms": 0.01, "texts": ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]}""");
    }

    /// <summary>A 440 Hz tone at 0.3 with digital silence in the given ranges (seconds), as a 16-bit 16 kHz WAV.</summary>
    public static byte[] Tone(double seconds, params (double From, double To)[] silence)
    {
        var n = (int)(seconds * 16000);
        var pcm = new short[n];
        for (var i = 0; i < n; i++)
        {
            var t = i / 16000.0;
            pcm[i] = silence.Any(s => t >= s.From && t < s.To) ? (short)0 : (short)(0.3 * 32767 * Math.Sin(2 * Math.PI * 440 * t));
        }
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("RIFF"u8); w.Write(36 + 2 * n); w.Write("WAVE"u8); w.Write("fmt "u8); w.Write(16); w.Write((short)1); w.Write((short)1);
        w.Write(16000); w.Write(32000); w.Write((short)2); w.Write((short)16); w.Write("data"u8); w.Write(2 * n);
        foreach (var s in pcm) w.Write(s);
        return ms.ToArray();
    }

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        _models = Path.Combine(FakeShim.StateDir, "whisper-models-" + Guid.NewGuid().ToString("N"));
        WriteFakeModel(_models);
        var config = new WhisperConfig { Device = Backend.Npu };
        config.Models.Dir = _models;
        config.Models.SearchPaths = [];
        config.Whisper.WindowSeconds = 10;
        _service = await RunningService.StartAsync(WhisperService.Definition, config);
        await _service.StartupCompleted;
        var health = await (await Client.GetAsync("/health")).Content.ReadAsStringAsync();
        Assert.True(health.Contains("\"backend\":\"npu\"", StringComparison.Ordinal), health);
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private async Task<string> Post(string path, byte[] wav, params (string, string)[] fields)
    {
        var r = await Client.PostAsync(path, ApiTests.Form(wav, "tone.wav", fields));
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("npu", r.Headers.GetValues("X-Backend").Single());
        return body;
    }

    [Fact]
    public async Task Srt_vtt_and_verbose_json_are_exact_for_the_fakes_segments()
    {
        var wav = Tone(9.5);
        Assert.Equal("1\n00:00:00,000 --> 00:00:05,000\nalpha\n\n2\n00:00:05,000 --> 00:00:09,500\nbravo\n\n",
            await Post("/v1/audio/transcriptions", wav, ("response_format", "srt")));
        Assert.Equal("WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nalpha\n\n00:00:05.000 --> 00:00:09.500\nbravo\n\n",
            await Post("/v1/audio/transcriptions", wav, ("response_format", "vtt")));
        Assert.Equal("alpha bravo\n", await Post("/v1/audio/transcriptions", wav, ("response_format", "text")));
        var v = JsonDocument.Parse(await Post("/v1/audio/transcriptions", wav, ("response_format", "verbose_json"), ("language", "en"))).RootElement;
        Assert.Equal("transcribe", v.GetProperty("task").GetString());
        Assert.Equal("english", v.GetProperty("language").GetString());
        Assert.Equal(9.5, v.GetProperty("duration").GetDouble());
        Assert.Equal("alpha bravo", v.GetProperty("text").GetString());
        var s = v.GetProperty("segments");
        Assert.Equal(2, s.GetArrayLength());
        Assert.Equal((0, 5.0, 5.0, 9.5), (s[0].GetProperty("start").GetDouble(), s[0].GetProperty("end").GetDouble(), s[1].GetProperty("start").GetDouble(), s[1].GetProperty("end").GetDouble()));
        Assert.Equal("bravo", s[1].GetProperty("text").GetString());
        Assert.Equal(10, v.GetProperty("usage").GetProperty("seconds").GetInt32());
    }

    [Fact]
    public async Task Long_audio_is_cut_in_the_silences_and_times_continue_across_windows()
    {
        // 10 s windows: the cuts fall into the silences at 9.0-9.6 s and 18.0-18.6 s.
        var samples = Hailo.Audio.AudioDecoder.Decode(Tone(25, (9.0, 9.6), (18.0, 18.6)), 60).Samples;
        var windows = AudioWindows.Split(samples, 10);
        Assert.Equal(3, windows.Count);
        Assert.InRange(windows[1].Start / 16000.0, 9.0, 9.6);
        Assert.InRange(windows[2].Start / 16000.0, 18.0, 18.6);
        Assert.Equal(samples.Length, windows.Sum(w => w.Length));

        var v = JsonDocument.Parse(await Post("/v1/audio/transcriptions", Tone(25, (9.0, 9.6), (18.0, 18.6)), ("response_format", "verbose_json"))).RootElement;
        var segs = v.GetProperty("segments").EnumerateArray().Select(x => (x.GetProperty("start").GetDouble(), x.GetProperty("end").GetDouble(), x.GetProperty("seek").GetInt32())).ToArray();
        // Per window the fake gives 5 s segments from the window's start; the last one ends with the window.
        var expected = new List<(double, double, int)>();
        foreach (var (start, length) in windows)
        {
            double ws = start / 16000.0, we = (start + length) / 16000.0;
            for (var t = ws; t < we - 1e-9; t += 5) expected.Add((Math.Round(t, 3), Math.Round(Math.Min(t + 5, we), 3), (int)Math.Round(ws * 100)));
        }
        Assert.Equal(expected, segs);
        for (var i = 1; i < segs.Length; i++) Assert.Equal(segs[i - 1].Item2, segs[i].Item1, 3);
        Assert.Equal("alpha bravo alpha bravo alpha bravo", v.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Translation_language_and_word_timestamps_on_the_npu()
    {
        var wav = Tone(4);
        Assert.Equal("[translated] alpha\n", await Post("/v1/audio/translations", wav, ("response_format", "text")));
        Assert.Equal("[de] alpha\n", await Post("/v1/audio/transcriptions", wav, ("response_format", "text"), ("language", "de")));
        var r = await Client.PostAsync("/v1/audio/transcriptions", ApiTests.Form(wav, "tone.wav", ("response_format", "verbose_json"), ("timestamp_granularities[]", "word")));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("word_timestamps_unsupported", await r.Content.ReadAsStringAsync());
        // Digital silence never reaches the model: an empty transcript.
        Assert.Equal("\n", await Post("/v1/audio/transcriptions", Tone(3, (0, 3)), ("response_format", "text")));
    }

    [Fact]
    public async Task Device_lost_answers_503_and_the_service_recovers()
    {
        var wav = Tone(2);
        Assert.Equal("alpha\n", await Post("/v1/audio/transcriptions", wav, ("response_format", "text")));
        using (FakeShim.Faults("device_lost"))
        {
            var r = await Client.PostAsync("/v1/audio/transcriptions", ApiTests.Form(wav));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.NotNull(r.Headers.RetryAfter);
            var e = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
            Assert.Equal("backend_fault", e.GetProperty("code").GetString());
            Assert.Equal("server_error", e.GetProperty("type").GetString());
        }
        HttpResponseMessage? ok = null;
        for (var i = 0; i < 40 && ok?.StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(250);
            ok = await Client.PostAsync("/v1/audio/transcriptions", ApiTests.Form(wav));
        }
        Assert.Equal(HttpStatusCode.OK, ok!.StatusCode);
    }
}
