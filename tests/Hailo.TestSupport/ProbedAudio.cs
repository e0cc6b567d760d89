using System.Diagnostics;
using Hailo.Audio.Encoding;
using Xunit;

namespace Hailo.TestSupport;

/// <summary>Encoded bytes read back with ffprobe and ffmpeg (Debian's, installed by .ci/install-deps).</summary>
public sealed record ProbedAudio(string Codec, int SampleRate, int Channels, float[] Samples, string Errors)
{
    public double Seconds => Samples.Length / (double)SampleRate;

    public static ProbedAudio From(byte[] bytes, AudioFormat format)
    {
        var dir = Directory.CreateTempSubdirectory("hailo-audio-enc-");
        try
        {
            var file = Path.Combine(dir.FullName, "audio" + AudioEncoders.FileExtension(format));
            File.WriteAllBytes(file, bytes);
            // Raw pcm has no header: it is read as what OpenAI documents.
            string[] input = format == AudioFormat.Pcm ? ["-f", "s16le", "-ar", "24000", "-ac", "1", "-i", file] : ["-i", file];
            var probe = Run("ffprobe", ["-v", "error", .. input, "-select_streams", "a:0", "-show_entries", "stream=codec_name,sample_rate,channels",
                "-of", "default=noprint_wrappers=1"], out var probeErrors);
            var fields = System.Text.Encoding.UTF8.GetString(probe).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
            var rate = int.Parse(fields["sample_rate"], System.Globalization.CultureInfo.InvariantCulture);
            var pcm = Run("ffmpeg", ["-v", "error", .. input, "-map", "0:a:0", "-f", "f32le", "-"], out var errors);
            var samples = new float[pcm.Length / 4];
            Buffer.BlockCopy(pcm, 0, samples, 0, samples.Length * 4);
            return new ProbedAudio(fields["codec_name"], rate, int.Parse(fields["channels"], System.Globalization.CultureInfo.InvariantCulture), samples,
                (probeErrors + errors).Trim());
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static byte[] Run(string tool, string[] args, out string errors)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(output);
        p.WaitForExit();
        errors = err.Result;
        Assert.True(p.ExitCode == 0, $"{tool} failed: {errors}");
        return output.ToArray();
    }

    /// <summary>The frequency (Hz, 1 Hz steps over 50-4000 Hz) with the most energy in the middle second.</summary>
    public double DominantFrequency()
    {
        var start = Math.Max(0, Samples.Length / 2 - SampleRate / 2);
        var window = Samples.AsSpan(start, Math.Min(SampleRate, Samples.Length - start));
        double best = 0, bestPower = -1;
        for (var f = 50; f <= 4000; f++)
        {
            var power = Goertzel(window, f, SampleRate);
            if (power > bestPower) (best, bestPower) = (f, power);
        }
        return best;
    }

    /// <summary>RMS over the middle second.</summary>
    public double Rms()
    {
        var start = Math.Max(0, Samples.Length / 2 - SampleRate / 2);
        var window = Samples.AsSpan(start, Math.Min(SampleRate, Samples.Length - start));
        double sum = 0;
        foreach (var s in window) sum += s * (double)s;
        return Math.Sqrt(sum / window.Length);
    }

    private static double Goertzel(ReadOnlySpan<float> x, double frequency, int rate)
    {
        var coefficient = 2 * Math.Cos(2 * Math.PI * frequency / rate);
        double s1 = 0, s2 = 0;
        foreach (var v in x)
        {
            var s0 = v + coefficient * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
    }
}

/// <summary>An output like an HTTP response body: written forward only, no seeking, no length.</summary>
public sealed class ForwardOnlyStream : Stream
{
    private readonly MemoryStream _inner = new();

    public byte[] ToArray()
    {
        lock (_inner) return _inner.ToArray();
    }

    /// <summary>Bytes written so far.</summary>
    public long Written
    {
        get { lock (_inner) return _inner.Length; }
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    // Like Kestrel's response body: synchronous writes are refused.
    public override void Write(byte[] buffer, int offset, int count) => throw new InvalidOperationException("synchronous write");

    /// <summary>Writes fail once this many bytes were written (like a response whose client disconnected).</summary>
    public long FailAfter { get; init; } = long.MaxValue;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_inner)
        {
            if (_inner.Length >= FailAfter) throw new IOException("the client went away");
            _inner.Write(buffer.Span);
        }
        return default;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
