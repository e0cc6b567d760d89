using System.Diagnostics;

namespace Hailo.Audio;

/// <summary>
/// Counts the float samples a decoding pipeline holds in its PCM buffers (by their allocated size) and the most it
/// ever held at once, so a test can check that memory follows the window and not the length of the audio.
/// </summary>
public sealed class PcmMeter
{
    private long _live;
    private long _peak;

    /// <summary>Samples held right now.</summary>
    public long Live => Interlocked.Read(ref _live);
    /// <summary>The most samples held at once.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    public void Allocated(long samples)
    {
        var live = Interlocked.Add(ref _live, samples);
        long peak;
        while (live > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, live, peak) != peak) { }
    }

    public void Released(long samples) => Interlocked.Add(ref _live, -samples);

    /// <summary>A new float buffer of <paramref name="samples"/>, counted.</summary>
    internal static float[] New(PcmMeter? meter, int samples)
    {
        meter?.Allocated(samples);
        return new float[samples];
    }
}

/// <summary>Samples made and not yet read: a buffer that grows to the largest block a decoder makes, no further.</summary>
public sealed class PcmQueue(PcmMeter? meter)
{
    private float[] _buffer = PcmMeter.New(meter, 4096);
    private int _head;

    public int Count { get; private set; }

    public void Append(ReadOnlySpan<float> samples)
    {
        if (_head + Count + samples.Length > _buffer.Length)
        {
            var need = Count + samples.Length;
            if (need > _buffer.Length)
            {
                var grown = PcmMeter.New(meter, Math.Max(need, _buffer.Length * 2));
                _buffer.AsSpan(_head, Count).CopyTo(grown);
                meter?.Released(_buffer.Length);
                _buffer = grown;
            }
            else _buffer.AsSpan(_head, Count).CopyTo(_buffer);
            _head = 0;
        }
        samples.CopyTo(_buffer.AsSpan(_head + Count));
        Count += samples.Length;
    }

    public int Take(Span<float> destination)
    {
        var n = Math.Min(destination.Length, Count);
        _buffer.AsSpan(_head, n).CopyTo(destination);
        _head += n;
        Count -= n;
        if (Count == 0) _head = 0;
        return n;
    }

    public void Release() => meter?.Released(_buffer.Length);
}

/// <summary>
/// An upload being decoded, read block by block as 16 kHz mono float in [-1, 1]: the decoder decodes the next block
/// only when the reader has taken the last one, so memory holds a block, never the track. What the decoder finds on
/// the way is thrown from <see cref="Read"/> as an <see cref="Hailo.Core.RequestRejectedException"/>: a file that stops
/// decoding (400), audio over the length limit where the header did not say the length (413), and the checks at the
/// end (a truncated FLAC, ffmpeg's exit status). <see cref="Read"/> returns 0 only when the whole file decoded cleanly.
/// </summary>
public abstract class AudioStream : IDisposable
{
    private readonly PcmQueue _pending;
    private bool _ended;
    private bool _disposed;
    private long _decodeTicks;

    private protected AudioStream(string format, int sourceRate, int sourceChannels, PcmMeter? meter)
    {
        Format = format;
        SourceRate = sourceRate;
        SourceChannels = sourceChannels;
        Meter = meter;
        _pending = new PcmQueue(meter);
    }

    /// <summary>What the decoder found, e.g. flac, ogg/opus, webm/opus, ffmpeg.</summary>
    public string Format { get; }
    public int SourceRate { get; }
    public int SourceChannels { get; }
    /// <summary>Where this stream counts its buffers (the reader may count its own there too), or null.</summary>
    public PcmMeter? Meter { get; }
    /// <summary>Frames of the source decoded so far: its whole length once <see cref="Read"/> returned 0.</summary>
    public long SourceFrames { get; private protected set; }
    public double SourceSeconds => SourceFrames / (double)SourceRate;
    /// <summary>16 kHz samples read so far.</summary>
    public long Position { get; private set; }
    /// <summary>Time spent decoding inside <see cref="Read"/>.</summary>
    public TimeSpan DecodeTime => Stopwatch.GetElapsedTime(0, _decodeTicks);

    /// <summary>Samples for the decoder's next block to go to.</summary>
    private protected PcmQueue Output => _pending;

    /// <summary>Reads up to <paramref name="destination"/>'s length of 16 kHz samples; 0 at the clean end.</summary>
    public int Read(Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination.IsEmpty) return 0;
        var start = Stopwatch.GetTimestamp();
        try
        {
            while (_pending.Count == 0 && !_ended)
                _ended = !DecodeNext();
            var n = _pending.Take(destination);
            Position += n;
            return n;
        }
        finally
        {
            _decodeTicks += Stopwatch.GetTimestamp() - start;
        }
    }

    /// <summary>
    /// Decodes the next block into <see cref="Output"/>; at the end, runs the end checks, flushes what is left and
    /// returns false.
    /// </summary>
    private protected abstract bool DecodeNext();

    /// <summary>Reads everything that is left into one array.</summary>
    public float[] ReadToEnd(long expected = 0)
    {
        var all = new List<float>((int)Math.Clamp(expected, 16384, Array.MaxLength));
        var block = new float[16384];
        int n;
        while ((n = Read(block)) > 0) all.AddRange(block.AsSpan(0, n));
        return [.. all];
    }

    protected virtual void Dispose(bool disposing) { }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(true);
        _pending.Release();
        GC.SuppressFinalize(this);
    }
}
