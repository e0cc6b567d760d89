using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Hailo.Core;

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

/// <summary>
/// Converts an upload to 16 kHz mono float with an ffmpeg subprocess, like whisper.cpp's server does with --convert.
/// The upload goes to a private temporary file (an MP4 whose index comes after its media cannot be read from a pipe);
/// ffmpeg may open only that file (protocol whitelist) with an audio or media container demuxer (format whitelist: no
/// playlists, no concat lists, no devices), stops at the first decoding error, decodes at most the length limit plus a
/// second and writes raw float samples to its stdout, which is read as the stream is read (ffmpeg waits on the pipe
/// meanwhile), up to the limit. It is killed when the request is cancelled, or when the time spent waiting for its
/// output passes the timeout (the reader's own time, e.g. transcribing, does not count).
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
        using var stream = await OpenAsync(data, maxSeconds, ffmpeg, ct, null);
        return await Task.Run(() => AudioDecoder.ReadAll(stream), ct);
    }

    /// <summary>The implementation of <see cref="AudioDecoder.OpenAsync"/>.</summary>
    public static async Task<AudioStream> OpenAsync(ReadOnlyMemory<byte> data, double maxSeconds, FfmpegOptions ffmpeg, CancellationToken ct,
        PcmMeter? meter)
    {
        try
        {
            return AudioDecoder.Open(data, maxSeconds, meter);
        }
        catch (RequestRejectedException refused) when (refused.Kind == RejectionKind.Unsupported)
        {
            var path = ffmpeg.Locate(out var why);
            if (path is null)
                throw RequestRejectedException.Unsupported(refused.Code,
                    $"{refused.Message}. MP4/M4A/AAC and other formats are converted with ffmpeg, but {why}; installing it (sudo apt install ffmpeg) adds them", "file");
            var failed = (string message) => AudioDecoder.OnlyFfmpegReads(data.Span) is { } container
                ? RequestRejectedException.Invalid("invalid_audio", $"the file looks like {container} but ffmpeg cannot decode it: {message}", "file")
                : RequestRejectedException.Unsupported(refused.Code, $"{refused.Message} (ffmpeg cannot decode it either: {message})", "file");
            return await FfmpegStream.StartAsync(path, data, maxSeconds, TimeSpan.FromSeconds(ffmpeg.TimeoutSeconds), failed, meter, ct);
        }
    }

    /// <summary>ffmpeg's stdout as an <see cref="AudioStream"/>.</summary>
    private sealed class FfmpegStream : AudioStream
    {
        private readonly DirectoryInfo _dir;
        private readonly Process _process;
        private readonly Stream _stdout;
        private readonly Task<string> _stderr;
        private readonly Func<string, RequestRejectedException> _failed;
        private readonly double _maxSeconds;
        private readonly long _limit;
        private readonly TimeSpan _timeout;
        private readonly CancellationToken _ct;
        private readonly CancellationTokenSource _timer = new();
        private readonly CancellationTokenRegistration _onTimer, _onCancel;
        private readonly byte[] _bytes;
        private readonly float[] _floats;
        private TimeSpan _waited;
        private volatile bool _timedOut;
        private int _carry;
        private long _samples;

        private FfmpegStream(DirectoryInfo dir, Process process, double maxSeconds, TimeSpan timeout, Func<string, RequestRejectedException> failed,
            PcmMeter? meter, CancellationToken ct) : base("ffmpeg", AudioDecoder.TargetRate, 1, meter)
        {
            _dir = dir;
            _process = process;
            _stdout = process.StandardOutput.BaseStream;
            _stderr = ReadTailAsync(process.StandardError, 4096);
            _maxSeconds = maxSeconds;
            _limit = (long)Math.Ceiling(maxSeconds * AudioDecoder.TargetRate);
            _timeout = timeout;
            _failed = failed;
            _ct = ct;
            _bytes = new byte[1 << 16];
            meter?.Allocated(_bytes.Length / sizeof(float));
            _floats = PcmMeter.New(meter, _bytes.Length / sizeof(float));
            _onTimer = _timer.Token.Register(() =>
            {
                _timedOut = true;
                Kill();
            });
            _onCancel = ct.Register(Kill);
        }

        public static async Task<AudioStream> StartAsync(string ffmpeg, ReadOnlyMemory<byte> data, double maxSeconds, TimeSpan timeout,
            Func<string, RequestRejectedException> failed, PcmMeter? meter, CancellationToken ct)
        {
            var dir = Directory.CreateTempSubdirectory("hailo-audio-");
            Process? process = null;
            try
            {
                var input = Path.Combine(dir.FullName, "upload");
                await using (var f = new FileStream(input, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                    await f.WriteAsync(data, ct);
                process = Start(ffmpeg, input, maxSeconds);
                return new FfmpegStream(dir, process, maxSeconds, timeout, failed, meter, ct);
            }
            catch
            {
                if (process is not null)
                {
                    try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                    process.Dispose();
                }
                try { dir.Delete(true); } catch (IOException) { }
                throw;
            }
        }

        private static Process Start(string ffmpeg, string input, double maxSeconds)
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
            var process = new Process { StartInfo = psi };
            try
            {
                process.Start();
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                process.Dispose();
                throw new AudioUnavailableException($"{ffmpeg} cannot be started: {e.Message}", "sudo apt install ffmpeg, or set audio.ffmpeg");
            }
            process.StandardInput.Close();
            return process;
        }

        private void Kill()
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }

        private RequestRejectedException TimedOut() => RequestRejectedException.Invalid("invalid_audio",
            $"ffmpeg did not convert the file within {_timeout.TotalSeconds:0.#} s (audio.ffmpeg_timeout_seconds)", "file");

        private protected override bool DecodeNext()
        {
            _ct.ThrowIfCancellationRequested();
            var n = Wait(() =>
            {
                try
                {
                    return _stdout.Read(_bytes, _carry, _bytes.Length - _carry);
                }
                catch (IOException) when (_timedOut || _ct.IsCancellationRequested)
                {
                    return 0;
                }
            });
            if (n > 0)
            {
                var have = _carry + n;
                var whole = have / sizeof(float);
                var floats = _floats.AsSpan(0, whole);
                MemoryMarshal.Cast<byte, float>(_bytes.AsSpan(0, whole * sizeof(float))).CopyTo(floats);
                _carry = have - whole * sizeof(float);
                _bytes.AsSpan(whole * sizeof(float), _carry).CopyTo(_bytes);
                if (_samples + whole > _limit)
                {
                    Kill();
                    throw RequestRejectedException.TooLarge("audio_too_long", $"the audio is longer than {_maxSeconds:0.#} s, the most this service accepts", "file");
                }
                _samples += whole;
                SourceFrames = _samples;
                Output.Append(floats);
                return true;
            }
            var exited = Wait(() => _process.WaitForExit(Math.Max(0, (int)(_timeout - _waited).TotalMilliseconds) + 1) ? 1 : 0);
            if (exited == 0) Kill();
            var errors = _stderr.GetAwaiter().GetResult();
            if (exited == 0 || (!_process.HasExited && _timedOut))
                throw TimedOut();
            if (_process.ExitCode != 0)
                throw _failed(LastLine(errors) ?? $"ffmpeg exited with status {_process.ExitCode}");
            if (_samples == 0)
                throw _failed(LastLine(errors) ?? "ffmpeg found no audio in it");
            return false;
        }

        /// <summary>Runs a blocking wait on ffmpeg with what is left of the timeout, and counts the time spent.</summary>
        private int Wait(Func<int> wait)
        {
            var left = _timeout - _waited;
            if (left <= TimeSpan.Zero || _timedOut) throw TimedOut();
            var start = Stopwatch.GetTimestamp();
            _timer.CancelAfter(left);
            try
            {
                var result = wait();
                _ct.ThrowIfCancellationRequested();
                if (_timedOut) throw TimedOut();
                return result;
            }
            finally
            {
                if (!_timedOut) _timer.CancelAfter(Timeout.InfiniteTimeSpan);
                _waited += Stopwatch.GetElapsedTime(start);
            }
        }

        protected override void Dispose(bool disposing)
        {
            _onCancel.Dispose();
            _onTimer.Dispose();
            if (!_process.HasExited) Kill();
            try { _process.WaitForExit(5000); } catch (InvalidOperationException) { }
            _process.Dispose();
            _timer.Dispose();
            try { _dir.Delete(true); } catch (IOException) { }
            Meter?.Released(_bytes.Length / sizeof(float) + _floats.Length);
        }
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
