using System.Net;
using Hailo.TestSupport;
using HailoPiper;
using HailoPiper.Voices;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Hailo.Piper.Tests;

/// <summary>audio.ffmpeg: the ffmpeg that encodes aac is the one on PATH (auto), none (off), or the configured binary.</summary>
public sealed class FfmpegSettingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hailo-piper-ffmpeg-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private async Task<RunningService> Start(string ffmpeg)
    {
        var config = PiperFixture.Config(Path.Combine(_dir, "models"));
        config.Audio.Ffmpeg = ffmpeg;
        var s = await RunningService.StartAsync(PiperService.Definition, config, b => b.Services.AddSingleton<IVoiceLoader>(new FakeVoiceLoader()));
        await s.StartupCompleted;
        return s;
    }

    private const string Aac = """{"input":"One sentence. And another one.","voice":"alloy","response_format":"aac"}""";

    [Fact]
    public async Task Off_refuses_aac_naming_the_setting_and_keeps_the_other_formats()
    {
        await using var s = await Start("off");
        var message = await Http.AssertOpenAiError(await s.Client.Speech(Aac), HttpStatusCode.BadRequest, "format_unavailable");
        Assert.Contains("audio.ffmpeg: off", message);
        Assert.Contains("aac", message);
        var wav = await s.Client.Speech("""{"input":"Still speaking.","voice":"alloy","response_format":"wav"}""");
        Assert.Equal(HttpStatusCode.OK, wav.StatusCode);
    }

    [Fact]
    public async Task A_path_that_does_not_exist_refuses_aac_naming_the_path()
    {
        var missing = Path.Combine(_dir, "no-ffmpeg-here");
        await using var s = await Start(missing);
        var message = await Http.AssertOpenAiError(await s.Client.Speech(Aac), HttpStatusCode.BadRequest, "format_unavailable");
        Assert.Contains(missing, message);
    }

    [Fact]
    public async Task A_path_runs_that_binary_to_encode_aac()
    {
        var real = FfmpegOnPath();
        Assert.True(real is not null, "ffmpeg is not installed (.ci/install-deps installs it)");
        // A wrapper that leaves a mark and runs the real ffmpeg: the aac must come through it, not through PATH.
        var mark = Path.Combine(_dir, "ran");
        var wrapper = Path.Combine(_dir, "my-ffmpeg");
        File.WriteAllText(wrapper, $"#!/bin/sh\necho \"$@\" > '{mark}'\nexec '{real}' \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var s = await Start(wrapper);
        var r = await s.Client.Speech(Aac);
        var bytes = await r.Content.ReadAsByteArrayAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, System.Text.Encoding.UTF8.GetString(bytes));
        Assert.True(File.Exists(mark), "the configured ffmpeg did not run");
        var decoded = ProbedAudio.From(bytes, Hailo.Audio.Encoding.AudioFormat.Aac);
        Assert.Equal("aac", decoded.Codec);
        Assert.Equal("", decoded.Errors);
        Assert.InRange(decoded.DominantFrequency(), 435, 445);
    }

    private static string? FfmpegOnPath() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "ffmpeg")).FirstOrDefault(File.Exists);
}
