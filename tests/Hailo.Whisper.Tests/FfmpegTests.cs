using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Hailo.Audio;
using Hailo.Core;
using Hailo.Hosting.Http;
using Hailo.TestSupport;
using HailoWhisper;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>
/// What the built-in decoders refuse goes to ffmpeg (Debian's, installed by .ci/install-deps): MP4/M4A with AAC as
/// Safari records it, WebM with Vorbis; broken files of those containers are 400s, unknown bytes stay 415, and without
/// ffmpeg the 415 says what installing it adds. The subprocess is bounded by the length limit, a timeout and the
/// request's cancellation.
/// </summary>
public sealed class FfmpegTests
{
    private static readonly FfmpegOptions Auto = new();

    internal static string SpeechM4a() => AudioFiles.Make("speech.m4a", "ffmpeg",
        ["-hide_banner", "-loglevel", "error", "-i", AudioFiles.LibriVox(), "-c:a", "aac", "-b:a", "128k", "-y", "{out}"]);

    private static DecodedAudio Decode(byte[] bytes, FfmpegOptions? options = null, double max = 3600) =>
        AudioDecoder.DecodeAsync(bytes, max, options ?? Auto, CancellationToken.None).GetAwaiter().GetResult();

    private static ApiException Refused(byte[] bytes, FfmpegOptions? options = null, double max = 3600) =>
        ApiException.From(Assert.ThrowsAny<RequestRejectedException>(() => Decode(bytes, options, max)));

    [Fact]
    public void Ffmpeg_is_on_this_machine() => Assert.NotNull(Auto.Locate(out _));

    [Theory]
    [InlineData("sine.m4a", "aac")]
    [InlineData("sine-vorbis.webm", "libvorbis")]
    [InlineData("sine.aiff", "pcm_s16be")]
    public void Formats_only_ffmpeg_reads_decode_to_the_sines_length_pitch_and_level(string name, string codec)
    {
        var audio = Decode(File.ReadAllBytes(AudioFiles.Ffmpeg(name, "-c:a", codec)));
        Assert.Equal("ffmpeg", audio.Format);
        AudioFiles.AssertIsTheSine(audio, name);
    }

    [Fact]
    public void M4a_speech_decodes_to_the_wavs_samples_within_the_codecs_error()
    {
        var wav = AudioDecoder.Decode(File.ReadAllBytes(AudioFiles.LibriVox()), 60).Samples;
        var m4a = Decode(File.ReadAllBytes(SpeechM4a())).Samples;
        // Aligned at the start (ffmpeg applies the AAC priming's edit list); the end may keep part of the last 1024-sample frame.
        Assert.InRange(m4a.Length, wav.Length - 16, wav.Length + 400);
        double signal = 0, noise = 0;
        for (var i = 0; i < Math.Min(wav.Length, m4a.Length); i++)
        {
            signal += wav[i] * (double)wav[i];
            noise += (wav[i] - m4a[i]) * (double)(wav[i] - m4a[i]);
        }
        Assert.True(10 * Math.Log10(signal / noise) > 15, $"SNR {10 * Math.Log10(signal / noise):0.0} dB");
    }

    [Fact]
    public void Without_ffmpeg_mp4_is_415_naming_the_accepted_formats_and_what_ffmpeg_adds()
    {
        var m4a = File.ReadAllBytes(SpeechM4a());
        foreach (var options in new[] { FfmpegOptions.Off, new FfmpegOptions("/nonexistent/ffmpeg") })
        {
            var e = Refused(m4a, options);
            Assert.Equal(415, e.Status);
            Assert.Equal("unsupported_audio_format", e.Code);
            Assert.Contains("MP4/M4A", e.Message);
            Assert.Contains("webm (Opus)", e.Message);
            Assert.Contains("flac", e.Message);
            Assert.Contains("installing it (sudo apt install ffmpeg) adds them", e.Message);
        }
        Assert.Contains("audio.ffmpeg: off", Refused(m4a, FfmpegOptions.Off).Message);
    }

    [Fact]
    public void Truncated_and_garbage_mp4_are_400s_and_unknown_bytes_stay_415()
    {
        var m4a = File.ReadAllBytes(SpeechM4a());
        var faststart = File.ReadAllBytes(AudioFiles.Make("speech-faststart.m4a", "ffmpeg",
            ["-hide_banner", "-loglevel", "error", "-i", AudioFiles.LibriVox(), "-c:a", "aac", "-movflags", "+faststart", "-y", "{out}"]));
        foreach (var bad in new[] { m4a[..(m4a.Length / 2)], faststart[..(faststart.Length / 2)], m4a[..40] })
        {
            var e = Refused(bad);
            Assert.True(e.Status == 400, $"{e.Status}: {e.Message}");
            Assert.Equal("invalid_audio", e.Code);
            Assert.Contains("MP4/M4A", e.Message);
        }
        var random = new Random(4);
        byte[] garbage = [.. m4a[..32], .. random.GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 5000)];
        Assert.Equal(400, Refused(garbage).Status);
        var unknown = random.GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 5000);
        unknown[0] = 0x00;
        var u = Refused(unknown);
        Assert.Equal(415, u.Status);
        Assert.Contains("ffmpeg cannot decode it either", u.Message);
    }

    [Fact]
    public void Mp4_longer_than_the_limit_is_413()
    {
        var e = Refused(File.ReadAllBytes(SpeechM4a()), max: 3);
        Assert.Equal(413, e.Status);
        Assert.Equal("audio_too_long", e.Code);
    }

    /// <summary>A stand-in "ffmpeg" that hangs, and the pid file through which the test sees it die.</summary>
    private static (string Script, string PidFile) Hanging()
    {
        var dir = Directory.CreateTempSubdirectory("hailo-fake-ffmpeg-").FullName;
        var script = Path.Combine(dir, "ffmpeg");
        var pid = Path.Combine(dir, "pid");
        File.WriteAllText(script, $"#!/bin/sh\necho $$ > {pid}\nexec sleep 60\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return (script, pid);
    }

    private static bool Alive(string pidFile) => Directory.Exists($"/proc/{File.ReadAllText(pidFile).Trim()}")
        && !File.ReadAllText($"/proc/{File.ReadAllText(pidFile).Trim()}/stat").Split(' ')[2].Equals("Z", StringComparison.Ordinal);

    [Fact]
    public async Task A_conversion_over_the_timeout_is_a_400_and_ffmpeg_is_killed()
    {
        var (script, pid) = Hanging();
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RequestRejectedException>(() =>
            AudioDecoder.DecodeAsync(File.ReadAllBytes(SpeechM4a()), 60, new FfmpegOptions(script, 1), CancellationToken.None));
        Assert.Equal(RejectionKind.Invalid, e.Kind);
        Assert.Contains("within 1 s", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), watch.Elapsed.ToString());
        await Task.Delay(200);
        Assert.False(Alive(pid), "the stand-in ffmpeg still runs");
    }

    [Fact]
    public async Task A_cancelled_request_kills_ffmpeg()
    {
        var (script, pid) = Hanging();
        using var cts = new CancellationTokenSource();
        var task = AudioDecoder.DecodeAsync(File.ReadAllBytes(SpeechM4a()), 60, new FfmpegOptions(script, 600), cts.Token);
        for (var i = 0; i < 100 && !File.Exists(pid); i++) await Task.Delay(50);
        Assert.True(File.Exists(pid));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task);
        await Task.Delay(200);
        Assert.False(Alive(pid), "the stand-in ffmpeg still runs");
    }
}

/// <summary>The service with audio.ffmpeg: off (no model needed: decoding comes first).</summary>
public sealed class FfmpegOffServiceTests : IAsyncLifetime
{
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-whisper-noffmpeg-").FullName;
    private RunningService _service = null!;

    public async Task InitializeAsync()
    {
        var config = new WhisperConfig { Device = Backend.Cpu };
        config.Models.Dir = _models;
        config.Models.SearchPaths = [];
        config.Models.Preload = false;
        config.Audio.Ffmpeg = "off";
        _service = await RunningService.StartAsync(WhisperService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    [Fact]
    public async Task Mp4_is_415_in_openais_shape_saying_ffmpeg_adds_it()
    {
        var r = await _service.Client.PostAsync("/v1/audio/transcriptions", ApiTests.Form(File.ReadAllBytes(FfmpegTests.SpeechM4a()), "safari.mp4"));
        var body = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        var e = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("unsupported_audio_format", e.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", e.GetProperty("type").GetString());
        var message = e.GetProperty("message").GetString()!;
        Assert.Contains("MP4/M4A", message);
        Assert.Contains("sudo apt install ffmpeg", message);
        Assert.Contains("webm (Opus)", message);
    }
}
