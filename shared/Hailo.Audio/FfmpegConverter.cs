using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Hailo.Hosting.Http;

namespace Hailo.Audio;

/// <summary>
/// How uploads the built-in decoders refuse are handed to ffmpeg: <see cref="Setting"/> is "auto" (the ffmpeg on PATH,
/// looked up per request, so installing it needs no restart), "off", or the absolute path of an ffmpeg binary.
/// </summary>
public sealed record FfmpegOptions(string Setting = "auto", double TimeoutSeconds = 120)
{
    public static readonly FfmpegOptions Off = new("off");

    /// <summary>The binary to run, or null with the reason (for the 415 message).</summary>
    public string? Locate(out string reason)
    {
        reason = "";
        if (Setting.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            reason = "ffmpeg is turned off (audio.ffmpeg: off)";
            return null;
        }
        if (!Setting.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            if (File.Exists(Setting)) return Setting;
            reason = $"ffmpeg is not at {Setting} (audio.ffmpeg)";
            return null;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "ffmpeg");
            if (File.Exists(candidate)) return candidate;
        }
        reason = "ffmpeg is not installed";
        return null;
    }
}

/// <summary>ffmpeg ran but could not decode the file.</summary>
internal sealed class FfmpegFailedException(string message) : Exception(message);

/// <summary>
/// Converts an upload to 16 kHz mono float with an ffmpeg subprocess, like whisper.cpp's server does with --convert.
/// The upload goes to a private temporary file (an MP4 whose index comes after its media cannot be read from a pipe);
/// ffmpeg may open only that file (protocol whitelist) with an audio or media container demuxer (format whitelist: no
/// playlists, no concat lists, no devices), stops at the first decoding error, decodes at most the length limit plus a
/// second and writes raw float samples to its stdout, which is read up to that size. It is killed when the request is
/// cancelled or the timeout passes.
/// </summary>
internal static class FfmpegConverter
{
    /// <summary>Demuxers ffmpeg may use: audio files and the media containers people record or export to.</summary>
    internal const string Formats =
        "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,aac,aiff,caf,au,wav,w64,asf,amr,amrnb,amrwb,ogg,mp3,flac,ac3,eac3,wv,ape,tta,mpc,mpc8,"
        + "dts,truehd,mlp,mpegts,mpeg,flv,avi,voc,gsm,g722,g723_1,g729,sbc,spdif,wsaud,xwma,dsf,iff,rm,nut";

    /// <summary>The implementation of <see cref="AudioDecoder.DecodeAsync"/>.</summary>
    public static async Task<DecodedAudio> DecodeAsync(ReadOnlyMemory<byte> data, double maxSeconds, FfmpegOptions ffmpeg, CancellationToken ct)
    {
        try
        {
            return AudioDecoder.Decode(data, maxSeconds);
        }
        catch (ApiException refused) when (refused.Status == 415)
        {
            var path = ffmpeg.Locate(out var why);
            if (path is null)
                throw new ApiException(415, refused.Code,
                    $"{refused.Message}. MP4/M4A/AAC and other formats are converted with ffmpeg, but {why}; installing it (sudo apt install ffmpeg) adds them") { Param = "file" };
            try
            {
                return await ConvertAsync(path, data, maxSeconds, TimeSpan.FromSeconds(ffmpeg.TimeoutSeconds), ct);
            }
            catch (FfmpegFailedException e)
            {
                if (AudioDecoder.OnlyFfmpegReads(data.Span) is { } container)
                    throw ApiException.BadRequest("invalid_audio", $"the file looks like {container} but ffmpeg cannot decode it: {e.Message}", "file");
                throw new ApiException(415, refused.Code, $"{refused.Message} (ffmpeg cannot decode it either: {e.Message})") { Param = "file" };
            }
        }
    }

    public static async Task<DecodedAudio> ConvertAsync(string ffmpeg, ReadOnlyMemory<byte> data, double maxSeconds, TimeSpan timeout, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("hailo-audio-");
        try
        {
            var input = Path.Combine(dir.FullName, "upload");
            await using (var f = new FileStream(input, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                await f.WriteAsync(data, ct);
            return await RunAsync(ffmpeg, input, maxSeconds, timeout, ct);
        }
        finally
        {
            try { dir.Delete(true); } catch (IOException) { }
        }
    }

    private static async Task<DecodedAudio> RunAsync(string ffmpeg, string input, double maxSeconds, TimeSpan timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            "-nostdin", "-hide_banner", "-loglevel", "error", "-xerror",
            "-protocol_whitelist", "file", "-format_whitelist", Formats,
            "-i", input,
            "-map", "0:a:0", "-vn", "-sn", "-dn",
            "-t", (maxSeconds + 1).ToString("0.###", CultureInfo.InvariantCulture),
            // Down-mix with the matrix normalised to unit gain: stereo becomes the average, as with the built-in decoders.
            "-ac", "1", "-rematrix_maxval", "1.0", "-ar", AudioDecoder.TargetRate.ToString(CultureInfo.InvariantCulture), "-f", "f32le", "pipe:1",
        ];
        foreach (var a in args) psi.ArgumentList.Add(a);

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new AudioUnavailableException($"{ffmpeg} cannot be started: {e.Message}", "sudo apt install ffmpeg, or set audio.ffmpeg");
        }
        process.StandardInput.Close();
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timer.CancelAfter(timeout);
        using var kill = timer.Token.Register(() =>
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        });

        var stderr = ReadTailAsync(process.StandardError, 4096);
        var limit = (long)Math.Ceiling(maxSeconds * AudioDecoder.TargetRate) * sizeof(float);
        // The output in 1 MiB chunks (no doubling buffer): at most the limit plus a chunk, then one copy into the samples.
        const int chunkSize = 1 << 20;
        var chunks = new List<byte[]>();
        long length = 0;
        var stdout = process.StandardOutput.BaseStream;
        var tooLong = false;
        try
        {
            while (true)
            {
                var used = (int)(length % chunkSize);
                if (used == 0) chunks.Add(new byte[chunkSize]);
                var n = await stdout.ReadAsync(chunks[^1].AsMemory(used), timer.Token);
                if (n == 0) break;
                length += n;
                if (length > limit)
                {
                    tooLong = true;
                    try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                    break;
                }
            }
            await process.WaitForExitAsync(timer.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw ApiException.BadRequest("invalid_audio",
                $"ffmpeg did not convert the file within {timeout.TotalSeconds:0.#} s (audio.ffmpeg_timeout_seconds)", "file");
        }
        finally
        {
            if (!process.HasExited)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
        }
        if (tooLong)
            throw new ApiException(413, "audio_too_long", $"the audio is longer than {maxSeconds:0.#} s, the most this service accepts") { Param = "file" };
        var errors = await stderr;
        if (process.ExitCode != 0)
            throw new FfmpegFailedException(LastLine(errors) ?? $"ffmpeg exited with status {process.ExitCode}");
        if (length < sizeof(float))
            throw new FfmpegFailedException(LastLine(errors) ?? "ffmpeg found no audio in it");
        var samples = new float[length / sizeof(float)];
        var bytes = MemoryMarshal.AsBytes(samples.AsSpan());
        for (var i = 0; i < chunks.Count && !bytes.IsEmpty; i++)
        {
            var n = Math.Min(chunkSize, bytes.Length);
            chunks[i].AsSpan(0, n).CopyTo(bytes);
            bytes = bytes[n..];
        }
        return new DecodedAudio(samples, "ffmpeg", AudioDecoder.TargetRate, 1, samples.Length / (double)AudioDecoder.TargetRate);
    }

    private static string? LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();

    /// <summary>Reads a stream to its end, keeping only the last <paramref name="keep"/> characters.</summary>
    private static async Task<string> ReadTailAsync(StreamReader reader, int keep)
    {
        var tail = new System.Text.StringBuilder();
        var buffer = new char[1024];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
        {
            tail.Append(buffer, 0, n);
            if (tail.Length > 2 * keep) tail.Remove(0, tail.Length - keep);
        }
        return tail.ToString();
    }
}
