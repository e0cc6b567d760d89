using System.Net;
using System.Text.Json;
using Hailo.Audio;
using Hailo.Core;
using Hailo.Hosting.Http;
using Hailo.TestSupport;
using HailoWhisper.Pipeline;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>
/// A stand-in model that records every window it is given (length and a checksum of the samples) and answers one
/// segment per window at fixed times, so two runs can be compared window by window without Whisper's cost.
/// </summary>
internal sealed class RecordingModel(Action<int>? onWindow = null) : ISpeechModel
{
    public List<(int Length, double Sum, double Energy)> Windows { get; } = [];
    public Hailo.Core.Backend Backend => Hailo.Core.Backend.Cpu;
    public string ModelFile => "recording";
    public bool SupportsWordTimestamps => true;

    public WindowResult Transcribe(ReadOnlySpan<float> samples, TranscribeOptions options, Action? progress = null)
    {
        double sum = 0, energy = 0;
        foreach (var s in samples)
        {
            sum += s;
            energy += s * (double)s;
        }
        Windows.Add((samples.Length, sum, energy));
        onWindow?.Invoke(Windows.Count);
        var seconds = samples.Length / 16000.0;
        return new WindowResult("en", [new RawSegment(0.25, seconds - 0.5, $" window {Windows.Count} of {samples.Length}", [Windows.Count], -0.5,
            [new Word("window", 0.25, 0.75, 0.9)], 0.01)]);
    }

    public void Dispose() { }
}

/// <summary>
/// Decoding as a stream into the transcriber: the same windows and transcript as the whole-track path, memory bounded
/// by the window (a counted high-water mark and the managed bytes allocated), mid-stream errors and the length limit
/// as errors of the run, cancellation stopping the decoding.
/// </summary>
public sealed class StreamingTests
{
    /// <summary>70 s of a sweep under pink noise with a tremolo (quiet moments for the cuts to find), 48 kHz stereo.</summary>
    private static string Varied() => AudioFiles.Make("varied-70.wav", "sox",
        "-R", "-n", "-r", "48000", "-c", "2", "-b", "16", "{out}", "synth", "70", "sine", "200-2000", "pinknoise", "vol", "0.4", "tremolo", "0.3", "80");

    public static TheoryData<string> Files() => new()
    {
        AudioFiles.Make("varied-70.flac", "sox", Varied(), "-r", "44100", "-c", "1", "{out}"),
        AudioFiles.Make("varied-70.opus", "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", Varied(), "-c:a", "libopus", "-b:a", "32k", "-y", "{out}"),
        AudioFiles.Make("varied-70.webm", "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", Varied(), "-c:a", "libopus", "-b:a", "32k", "-y", "{out}"),
        AudioFiles.Make("varied-70.mp3", "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", Varied(), "-c:a", "libmp3lame", "-b:a", "64k", "-y", "{out}"),
        AudioFiles.Make("varied-70.m4a", "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", Varied(), "-c:a", "aac", "-b:a", "64k", "-y", "{out}"),
    };

    private static readonly FfmpegOptions Ffmpeg = new();

    private static string Render(Transcript t) =>
        $"{t.Text}|{t.Language}|{t.Duration:R}|{t.Windows}\n" + string.Join("\n", t.Segments.Select(s =>
            $"{s.Id}|{s.Seek}|{s.Start:R}|{s.End:R}|{s.Text}|{string.Join(",", s.Tokens)}|{s.Temperature:R}|{s.AvgLogprob:R}|{s.CompressionRatio:R}|{s.NoSpeechProb:R}|"
            + string.Join(";", (s.Words ?? []).Select(w => $"{w.Text}@{w.Start:R}-{w.End:R}:{w.Probability:R}"))));

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Streaming_gives_the_whole_track_paths_windows_and_transcript(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var whole = await AudioDecoder.DecodeAsync(bytes, 3600, Ffmpeg, CancellationToken.None);
        var before = new RecordingModel();
        var expected = Transcriber.Run(before, whole.Samples, new TranscribeOptions(), 10, CancellationToken.None);

        var after = new RecordingModel();
        using var stream = await AudioDecoder.OpenAsync(bytes, 3600, Ffmpeg, CancellationToken.None);
        var actual = Transcriber.Run(after, stream, new TranscribeOptions(), 10, CancellationToken.None);

        Assert.True(before.Windows.Count >= 7, $"{before.Windows.Count} windows");
        // Cut where the whole-track split cuts (not all at the full 10 s), and the very same samples in each window.
        Assert.Equal(AudioWindows.Split(whole.Samples, 10).Select(w => w.Length), after.Windows.Select(w => w.Length));
        Assert.Contains(after.Windows, w => w.Length != 160000);
        Assert.Equal(before.Windows, after.Windows);
        Assert.Equal(Render(expected), Render(actual));
        Assert.Equal(whole.Format, stream.Format);
        Assert.Equal(whole.SourceSeconds, stream.SourceSeconds);
        Assert.Equal(whole.Samples.Length, stream.Position);
    }

    [Fact]
    public void Streaming_gives_whisper_cpps_transcript_of_the_whole_track_on_the_cpu_backend()
    {
        // Real speech (the five LibriVox clips, 24.7 s) at 44.1 kHz, in windows of 6 s, through the random-weight model.
        var speech = AudioFiles.Make("librivox-all-44k.flac", "sox",
            [.. Directory.GetFiles(AudioFiles.LibriVoxDir, "*.wav").Order(), "-r", "44100", "{out}"]);
        var models = Directory.CreateTempSubdirectory("hailo-whisper-stream-").FullName;
        try
        {
            using var model = new CpuWhisperModel(WhisperTestModels.WriteTiny(models), 1);
            var bytes = File.ReadAllBytes(speech);
            var options = new TranscribeOptions { WordTimestamps = true };
            var expected = Transcriber.Run(model, AudioDecoder.Decode(bytes, 3600).Samples, options, 6, CancellationToken.None);
            using var stream = AudioDecoder.Open(bytes, 3600);
            var actual = Transcriber.Run(model, stream, options, 6, CancellationToken.None);
            Assert.True(expected.Windows >= 4, $"{expected.Windows} windows");
            Assert.NotEmpty(expected.Segments);
            Assert.Equal(Render(expected), Render(actual));
        }
        finally
        {
            Directory.Delete(models, true);
        }
    }

    /// <summary>A 440 Hz tone at 48 kHz made by sox, as FLAC, or encoded by ffmpeg (Ogg Opus, WebM Opus, M4A).</summary>
    internal static string Tone(string ext, int seconds) => ext == "flac"
        ? AudioFiles.Make($"tone-{seconds}.flac", "sox", "-n", "-r", "48000", "-c", "1", "{out}", "synth", seconds.ToString(), "sine", "440", "vol", "0.5")
        : AudioFiles.Make($"tone-{seconds}.{ext}", "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", $"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:a", ext == "m4a" ? "aac" : "libopus", "-b:a", "24k", "-y", "{out}");

    private static string TenMinutes(string ext) => Tone(ext, 600);

    [Theory]
    [InlineData("opus", 600, 30)]
    [InlineData("flac", 180, 10)]
    [InlineData("webm", 180, 10)]
    [InlineData("m4a", 180, 10)]
    public async Task Long_audio_is_transcribed_holding_at_most_two_windows_of_samples(string ext, int seconds, int windowSeconds)
    {
        var bytes = File.ReadAllBytes(Tone(ext, seconds));
        var window = windowSeconds * 16000;
        var meter = new PcmMeter();
        using var stream = await AudioDecoder.OpenAsync(bytes, 3600, Ffmpeg, CancellationToken.None, meter);
        var model = new RecordingModel();
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var t = Transcriber.Run(model, stream, new TranscribeOptions(), windowSeconds, CancellationToken.None);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;

        Assert.InRange(t.Duration, seconds - 0.1, seconds + 0.1);
        Assert.InRange(model.Windows.Count, seconds / windowSeconds, seconds / windowSeconds * 4 / 3 + 1);
        // Every PCM buffer of the pipeline (decoder blocks, resampler, queue, the window) counted: one window and a bit.
        Assert.True(meter.Peak <= 2 * window, $"peak {meter.Peak} samples held, window {window}");
        Assert.True(meter.Peak >= window, $"peak {meter.Peak}: the window buffer is counted");
        // What the meter cannot see: all managed memory this run allocated, well under the size of the decoded track.
        Assert.True(allocated < 4L * window * sizeof(float), $"{allocated / 1e6:0.0} MB allocated");

        // The same measure on the whole-track path sees the track (so the bound above is not vacuous).
        using var again = await AudioDecoder.OpenAsync(bytes, 3600, Ffmpeg, CancellationToken.None);
        var wholeAllocated = GC.GetAllocatedBytesForCurrentThread();
        var whole = again.ReadToEnd();
        wholeAllocated = GC.GetAllocatedBytesForCurrentThread() - wholeAllocated;
        Assert.True(wholeAllocated > seconds * 16000L * sizeof(float), $"{wholeAllocated / 1e6:0.0} MB");
        Assert.Equal(model.Windows.Sum(w => w.Length), whole.Length);
    }

    private static byte[] TruncatedFlac()
    {
        var flac = File.ReadAllBytes(AudioFiles.Make("varied-70.flac", "sox", Varied(), "-r", "44100", "-c", "1", "{out}"));
        return flac.AsSpan(0, flac.Length * 6 / 10).ToArray();
    }

    [Fact]
    public void A_truncated_flac_found_mid_stream_ends_the_run_with_the_400()
    {
        var model = new RecordingModel();
        using var stream = AudioDecoder.Open(TruncatedFlac(), 3600);
        var e = ApiException.From(Assert.ThrowsAny<RequestRejectedException>(() => Transcriber.Run(model, stream, new TranscribeOptions(), 10, CancellationToken.None)));
        Assert.Equal(400, e.Status);
        Assert.Contains("truncated", e.Message);
        // Found after windows were transcribed: the error comes from the stream, mid-way, not from the header.
        Assert.True(model.Windows.Count >= 3, $"{model.Windows.Count} windows before the error");
    }

    [Theory]
    [InlineData("wav")]
    [InlineData("flac")]
    [InlineData("opus")]
    [InlineData("webm")]
    public void Over_the_limit_where_the_file_tells_its_length_is_413_when_it_is_opened(string ext)
    {
        var path = ext switch
        {
            "wav" => Varied(),
            "flac" => AudioFiles.Make("varied-70.flac", "sox", Varied(), "-r", "44100", "-c", "1", "{out}"),
            _ => AudioFiles.Make("varied-70." + ext, "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", Varied(), "-c:a", "libopus", "-b:a", "32k", "-y", "{out}"),
        };
        var e = ApiException.From(Assert.ThrowsAny<RequestRejectedException>(() => AudioDecoder.Open(File.ReadAllBytes(path), 30)));
        Assert.Equal(413, e.Status);
    }

    [Fact]
    public void Over_the_limit_where_only_decoding_tells_is_413_while_streaming()
    {
        // MP3 has no exact length in its header: the limit applies as the samples come.
        var mp3 = File.ReadAllBytes(AudioFiles.Make("varied-70.mp3", "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", Varied(), "-c:a", "libmp3lame", "-b:a", "64k", "-y", "{out}"));
        var model = new RecordingModel();
        using var stream = AudioDecoder.Open(mp3, 30);
        var e = ApiException.From(Assert.ThrowsAny<RequestRejectedException>(() => Transcriber.Run(model, stream, new TranscribeOptions(), 10, CancellationToken.None)));
        Assert.Equal(413, e.Status);
        Assert.Equal("audio_too_long", e.Code);
        Assert.InRange(model.Windows.Sum(w => w.Length), 1, 30 * 16000);
    }

    [Fact]
    public void Cancelling_stops_decoding_and_transcription()
    {
        using var cts = new CancellationTokenSource();
        var model = new RecordingModel(n => { if (n == 2) cts.Cancel(); });
        using var stream = AudioDecoder.Open(File.ReadAllBytes(TenMinutes("opus")), 3600);
        Assert.ThrowsAny<OperationCanceledException>(() => Transcriber.Run(model, stream, new TranscribeOptions(), 30, cts.Token));
        Assert.Equal(2, model.Windows.Count);
        // Decoded at most a window ahead of the second window (and a decoder block), not the ten minutes.
        Assert.InRange(stream.Position, model.Windows.Sum(w => w.Length), 3 * 30 * 16000 + 20000);
    }

    [Fact]
    public async Task Ffmpegs_timeout_counts_the_wait_for_ffmpeg_not_the_transcription()
    {
        var bytes = File.ReadAllBytes(AudioFiles.Make("varied-70.m4a", "ffmpeg", "-hide_banner", "-loglevel", "error", "-i", Varied(), "-c:a", "aac", "-b:a", "64k", "-y", "{out}"));
        // 7 windows of 10 s, each "transcribed" in 1 s: 7 s in all, over twice ffmpeg's 3 s timeout (which leaves
        // ffmpeg's own decoding, a fraction of a second, room on a loaded machine).
        var model = new RecordingModel(_ => Thread.Sleep(1000));
        using var stream = await AudioDecoder.OpenAsync(bytes, 3600, new FfmpegOptions("auto", 3), CancellationToken.None);
        Assert.Equal("ffmpeg", stream.Format);
        var t = Transcriber.Run(model, stream, new TranscribeOptions(), 10, CancellationToken.None);
        Assert.InRange(t.Duration, 69.9, 70.1);
    }
}

/// <summary>A decode error found mid-way through a multi-window upload, on the service (CPU backend).</summary>
public sealed class StreamingApiTests(CpuServiceFixture f) : IClassFixture<CpuServiceFixture>
{
    [Fact]
    public async Task A_flac_truncated_after_its_first_window_is_a_400_and_the_service_stays_healthy()
    {
        // 71 s of speech (two full 30 s windows and a rest), cut at 70 %: the first window is decoded and transcribed
        // before the decoder reaches the end and finds it short.
        var flac = File.ReadAllBytes(AudioFiles.Make("speech-10x.flac", "sox",
            [.. Enumerable.Repeat(AudioFiles.LibriVox(), 10), "{out}"]));
        var truncated = flac.AsSpan(0, flac.Length * 7 / 10).ToArray();
        var r = await f.Service.Client.PostAsync("/v1/audio/transcriptions",
            ApiTests.Form(truncated, "speech.flac", ("language", "en")));
        var body = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("invalid_audio", error.GetProperty("code").GetString());
        Assert.Contains("truncated", error.GetProperty("message").GetString());

        var ok = await f.Service.Client.PostAsync("/v1/audio/transcriptions",
            ApiTests.Form(File.ReadAllBytes(AudioFiles.LibriVox()), "speech.wav", ("language", "en")));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var health = await f.Service.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}

/// <summary>The NPU path (the shim's fake Speech2Text in-process): streaming memory and results as on the CPU.</summary>
[Collection("fake-shim")]
public sealed class NpuStreamingTests
{
    [Fact]
    public void Ten_minutes_on_the_npu_hold_at_most_two_windows_and_give_the_whole_track_paths_segments()
    {
        _ = FakeShim.Runtime;
        var models = Path.Combine(FakeShim.StateDir, "whisper-stream-" + Guid.NewGuid().ToString("N"));
        NpuTests.WriteFakeModel(models);
        try
        {
            var hef = Directory.GetFiles(models, "*.hef", SearchOption.AllDirectories).Single();
            using var vdevice = Hailo.Runtime.Npu.VDevice.Open();
            using var model = new NpuWhisperModel(Hailo.Runtime.Npu.SpeechToText.Create(vdevice, hef));
            var bytes = File.ReadAllBytes(StreamingTests.Tone("opus", 600));
            var meter = new PcmMeter();
            using var stream = AudioDecoder.Open(bytes, 3600, meter);
            var actual = Transcriber.Run(model, stream, new TranscribeOptions(), 10, CancellationToken.None);
            Assert.True(meter.Peak <= 2 * 10 * 16000, $"peak {meter.Peak} samples held");

            var expected = Transcriber.Run(model, AudioDecoder.Decode(bytes, 3600).Samples, new TranscribeOptions(), 10, CancellationToken.None);
            Assert.InRange(expected.Windows, 60, 81);
            Assert.Equal(expected.Windows, actual.Windows);
            Assert.Equal(expected.Segments.Select(s => (s.Seek, s.Start, s.End, s.Text)), actual.Segments.Select(s => (s.Seek, s.Start, s.End, s.Text)));
            Assert.Equal(expected.Text, actual.Text);
            Assert.Equal(expected.Duration, actual.Duration);
        }
        finally
        {
            Directory.Delete(models, true);
        }
    }
}
