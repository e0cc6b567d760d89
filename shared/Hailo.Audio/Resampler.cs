using System.Runtime.InteropServices;

namespace Hailo.Audio;

/// <summary>
/// Mono audio pushed in blocks at one rate, appended to a <see cref="PcmQueue"/> at another (by default
/// <see cref="AudioDecoder.TargetRate"/>) with libsoxr's HQ recipe as it comes, for an <see cref="AudioStream"/> or an
/// encoder to hand on. At the target rate the blocks are only appended.
/// </summary>
public sealed unsafe class Resampler : IDisposable
{
    private readonly IntPtr _soxr;
    private readonly double _ratio;
    private readonly PcmQueue _output;
    private readonly PcmMeter? _meter;
    private float[] _chunk;
    private long _made;

    /// <param name="fromRate">Rate of the pushed samples.</param>
    /// <param name="output">Where the 16 kHz samples go.</param>
    public Resampler(int fromRate, PcmQueue output, PcmMeter? meter = null) : this(fromRate, AudioDecoder.TargetRate, output, meter) { }

    /// <param name="fromRate">Rate of the pushed samples.</param>
    /// <param name="toRate">Rate of the output (e.g. 24 kHz for OpenAI's pcm speech).</param>
    /// <param name="output">Where the resampled samples go.</param>
    public Resampler(int fromRate, int toRate, PcmQueue output, PcmMeter? meter = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fromRate, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(toRate, 1);
        _ratio = toRate / (double)fromRate;
        _output = output;
        _meter = meter;
        if (fromRate == toRate)
        {
            _chunk = [];
            return;
        }
        _chunk = PcmMeter.New(meter, 16384);
        NativeAudio.EnsureAvailable();
        var quality = SoxrApi.soxr_quality_spec(SoxrApi.RecipeHq, 0);
        byte* error = null;
        _soxr = SoxrApi.soxr_create(fromRate, toRate, 1, &error, null, &quality, null);
        if (_soxr == IntPtr.Zero || error != null)
            throw new InvalidOperationException("libsoxr: " + (error != null ? Marshal.PtrToStringUTF8((IntPtr)error) : "soxr_create failed"));
    }

    /// <summary>Samples pushed so far.</summary>
    public long Pushed { get; private set; }

    public void Push(ReadOnlySpan<float> mono)
    {
        Pushed += mono.Length;
        if (_soxr == IntPtr.Zero)
        {
            _output.Append(mono);
            _made += mono.Length;
            return;
        }
        while (!mono.IsEmpty)
        {
            var room = (int)Math.Ceiling(mono.Length * _ratio) + 64;
            if (_chunk.Length < room)
            {
                _meter?.Released(_chunk.Length);
                _chunk = PcmMeter.New(_meter, room);
            }
            nuint used = 0, made = 0;
            byte* error;
            fixed (float* src = mono)
            fixed (float* dst = _chunk)
                error = SoxrApi.soxr_process(_soxr, src, (nuint)mono.Length, &used, dst, (nuint)_chunk.Length, &made);
            if (error != null) throw new InvalidOperationException("libsoxr: " + Marshal.PtrToStringUTF8((IntPtr)error));
            _output.Append(_chunk.AsSpan(0, (int)made));
            _made += (long)made;
            mono = mono[(int)used..];
            if (used == 0 && made == 0) throw new InvalidOperationException("libsoxr: no progress");
        }
    }

    /// <summary>Drains the filter's tail into the output (the whole output no longer than the input's length at the output rate).</summary>
    public void Finish()
    {
        if (_soxr == IntPtr.Zero) return;
        var limit = (long)Math.Ceiling(Pushed * _ratio);
        while (_made < limit)
        {
            nuint made = 0;
            byte* error;
            fixed (float* dst = _chunk)
                error = SoxrApi.soxr_process(_soxr, null, 0, null, dst, (nuint)Math.Min(_chunk.Length, limit - _made), &made);
            if (error != null) throw new InvalidOperationException("libsoxr: " + Marshal.PtrToStringUTF8((IntPtr)error));
            if (made == 0) break;
            _output.Append(_chunk.AsSpan(0, (int)made));
            _made += (long)made;
        }
    }

    public void Dispose()
    {
        if (_soxr != IntPtr.Zero) SoxrApi.soxr_delete(_soxr);
        _meter?.Released(_chunk.Length);
    }
}
