using System.Diagnostics;
using System.Globalization;

namespace Hailo.Audio.Encoding;

/// <summary>
/// AAC-LC in ADTS frames through an ffmpeg subprocess (there is no AAC encoder library to load without ffmpeg): the
/// samples go to its stdin as 16-bit little-endian mono, and a pump copies its stdout to the output as ffmpeg makes
/// it (each packet flushed). ffmpeg is killed when a write or the completion is cancelled and when the encoder is
/// disposed before completing. ADTS has no field for the encoder's priming (1024 samples) or the last frame's padding,
/// so decoders play those as silence, as with any raw AAC stream.
/// </summary>
internal sealed class AacEncoder : EncoderBase
{
    // The sampling frequencies ADTS can signal.
    private static readonly int[] s_rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000];
    private readonly Process _process;
    private readonly Stream _stdin;
    private readonly Task _pump;
    private readonly Task<string> _stderr;
    private readonly CancellationTokenSource _stop = new();
    private byte[] _buffer = new byte[8192];

    private AacEncoder(Process process, int rate, Stream output) : base(output, rate)
    {
        _process = process;
        _stdin = process.StandardInput.BaseStream;
        _stderr = process.StandardError.ReadToEndAsync();
        _pump = PumpAsync(process.StandardOutput.BaseStream, output, _stop.Token);
        // An output that fails (a client gone) stops ffmpeg, so a write waiting on its stdin ends too.
        _pump.ContinueWith(_ => Kill(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>The ffmpeg process, for tests.</summary>
    internal Process Process => _process;

    public static AacEncoder Start(string ffmpeg, int inputRate, Stream output, AudioEncoderOptions options)
    {
        var outputRate = Array.IndexOf(s_rates, inputRate) >= 0 ? inputRate : AudioEncoders.PcmRate;
        var psi = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string[] args =
        [
            "-hide_banner", "-loglevel", "error", "-nostats",
            "-protocol_whitelist", "pipe",
            // Raw input needs no probing; without these ffmpeg would wait for seconds of audio before encoding any.
            "-probesize", "32", "-analyzeduration", "0",
            "-f", "s16le", "-ar", inputRate.ToString(CultureInfo.InvariantCulture), "-ac", "1", "-i", "pipe:0",
            "-vn", "-c:a", "aac", "-b:a", Math.Clamp(options.Bitrate ?? 64000, 8000, 320000).ToString(CultureInfo.InvariantCulture),
            "-ar", outputRate.ToString(CultureInfo.InvariantCulture), "-threads", "1",
            "-flush_packets", "1", "-f", "adts", "pipe:1",
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
            throw new AudioEncoderUnavailableException(AudioFormat.Aac,
                $"aac is encoded with ffmpeg, but {ffmpeg} cannot be started ({e.Message}): install ffmpeg (sudo apt install ffmpeg) or set audio.ffmpeg");
        }
        return new AacEncoder(process, outputRate, output);
    }

    private static async Task PumpAsync(Stream stdout, Stream output, CancellationToken cancellationToken)
    {
        var buffer = new byte[16384];
        int n;
        while ((n = await stdout.ReadAsync(buffer, cancellationToken)) > 0)
            await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
    }

    private void Kill()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        try { _stop.Cancel(); } catch (ObjectDisposedException) { }
    }

    /// <summary>The output's own failure, when that is why ffmpeg stopped.</summary>
    private void ThrowIfOutputFailed()
    {
        if (_pump.IsFaulted) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_pump.Exception!.InnerException!).Throw();
    }

    private async Task<Exception> FailedAsync(string what)
    {
        if (!_process.HasExited) Kill();
        var errors = "";
        try { errors = await _stderr.WaitAsync(TimeSpan.FromSeconds(5)); } catch (TimeoutException) { }
        var last = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return new InvalidOperationException($"ffmpeg could not encode aac ({what}){(last is null ? "" : ": " + last)}");
    }

    protected override async ValueTask EncodeAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        ThrowIfOutputFailed();
        if (samples.IsEmpty) return;
        if (_buffer.Length < samples.Length * 2) _buffer = new byte[samples.Length * 2];
        ToInt16LittleEndian(samples.Span, _buffer);
        using var onCancel = cancellationToken.Register(Kill);
        try
        {
            await _stdin.WriteAsync(_buffer.AsMemory(0, samples.Length * 2), cancellationToken);
            await _stdin.FlushAsync(cancellationToken);
        }
        catch (IOException) when (!cancellationToken.IsCancellationRequested)
        {
            ThrowIfOutputFailed();
            throw await FailedAsync("it stopped reading");
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
    }

    protected override async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        using var onCancel = cancellationToken.Register(Kill);
        try
        {
            _stdin.Close();
        }
        catch (IOException)
        {
            // ffmpeg already exited; its status says why.
        }
        try
        {
            await _pump;
        }
        catch (OperationCanceledException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw;
        }
        await _process.WaitForExitAsync(cancellationToken);
        if (_process.ExitCode != 0) throw await FailedAsync($"exit status {_process.ExitCode}");
    }

    protected override async ValueTask ReleaseAsync()
    {
        if (!_process.HasExited) Kill();
        try { await _pump; } catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException) { }
        try { await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5)); } catch (TimeoutException) { }
        _process.Dispose();
        _stop.Dispose();
    }
}
