using System.Runtime.InteropServices;

namespace Hailo.Audio;

/// <summary>
/// Mono audio pushed in blocks at one rate, collected at <see cref="AudioDecoder.TargetRate"/> with libsoxr's HQ
/// recipe, so a decoder never holds a whole track at its source rate (an hour at 48 kHz is 690 MB of floats; at
/// 16 kHz, a third of that). At the target rate the blocks are only collected.
/// </summary>
public sealed unsafe class Resampler : IDisposable
{
    private readonly IntPtr _soxr;
    private readonly double _ratio;
    private readonly List<float> _output;
    private float[] _chunk = new float[16384];

    /// <param name="fromRate">Rate of the pushed samples.</param>
    /// <param name="expectedInput">Samples expected in all (0: unknown), to size the output once.</param>
    public Resampler(int fromRate, long expectedInput = 0)
    {
        _ratio = AudioDecoder.TargetRate / (double)fromRate;
        var expected = expectedInput > 0 ? (long)Math.Ceiling(expectedInput * _ratio) + 16 : 16384;
        _output = new List<float>((int)Math.Min(expected, Array.MaxLength));
        if (fromRate == AudioDecoder.TargetRate) return;
        NativeAudio.EnsureAvailable();
        var quality = SoxrApi.soxr_quality_spec(SoxrApi.RecipeHq, 0);
        byte* error = null;
        _soxr = SoxrApi.soxr_create(fromRate, AudioDecoder.TargetRate, 1, &error, null, &quality, null);
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
            _output.AddRange(mono);
            return;
        }
        while (!mono.IsEmpty)
        {
            var room = (int)Math.Ceiling(mono.Length * _ratio) + 64;
            if (_chunk.Length < room) _chunk = new float[room];
            nuint used = 0, made = 0;
            byte* error;
            fixed (float* src = mono)
            fixed (float* dst = _chunk)
                error = SoxrApi.soxr_process(_soxr, src, (nuint)mono.Length, &used, dst, (nuint)_chunk.Length, &made);
            if (error != null) throw new InvalidOperationException("libsoxr: " + Marshal.PtrToStringUTF8((IntPtr)error));
            _output.AddRange(_chunk.AsSpan(0, (int)made));
            mono = mono[(int)used..];
            if (used == 0 && made == 0) throw new InvalidOperationException("libsoxr: no progress");
        }
    }

    /// <summary>Drains the filter's tail and returns everything at 16 kHz (no longer than the input's length at that rate).</summary>
    public float[] Finish()
    {
        if (_soxr != IntPtr.Zero)
        {
            var limit = (long)Math.Ceiling(Pushed * _ratio);
            while (_output.Count < limit)
            {
                nuint made = 0;
                byte* error;
                fixed (float* dst = _chunk)
                    error = SoxrApi.soxr_process(_soxr, null, 0, null, dst, (nuint)Math.Min(_chunk.Length, limit - _output.Count), &made);
                if (error != null) throw new InvalidOperationException("libsoxr: " + Marshal.PtrToStringUTF8((IntPtr)error));
                if (made == 0) break;
                _output.AddRange(_chunk.AsSpan(0, (int)made));
            }
        }
        return CollectionsMarshal.AsSpan(_output).ToArray();
    }

    public void Dispose()
    {
        if (_soxr != IntPtr.Zero) SoxrApi.soxr_delete(_soxr);
    }
}
