using Hailo.Audio;

namespace HailoWhisper.Pipeline;

/// <summary>
/// Splits long audio into windows of at most a given length. A window ends at the quietest 20 ms within its last
/// quarter (at most 5 s back), so a cut rarely falls inside a word; the next window starts exactly there, so the
/// windows cover the audio without gap or overlap and their offsets give continuous timestamps.
/// </summary>
public static class AudioWindows
{
    public const int Rate = 16000;
    private const int Frame = Rate / 50; // 20 ms

    /// <summary>The most samples a window of <paramref name="windowSeconds"/> holds.</summary>
    public static int MaxSamples(double windowSeconds) => (int)(windowSeconds * Rate);

    public static IReadOnlyList<(int Start, int Length)> Split(ReadOnlySpan<float> samples, double windowSeconds)
    {
        var max = MaxSamples(windowSeconds);
        var result = new List<(int, int)>();
        var start = 0;
        while (start < samples.Length)
        {
            var remaining = samples.Length - start;
            if (remaining <= max)
            {
                result.Add((start, remaining));
                break;
            }
            var length = Cut(samples.Slice(start, max));
            result.Add((start, length));
            start += length;
        }
        return result;
    }

    /// <summary>
    /// Where a window that is followed by more audio ends, given its first <c>max</c> samples: the middle of the
    /// quietest 20 ms frame of its last quarter (at most 5 s back); later frames win ties, so uniform audio is cut at
    /// the full length.
    /// </summary>
    internal static int Cut(ReadOnlySpan<float> window)
    {
        var max = window.Length;
        var searchFrom = max - Math.Min(max / 4, 5 * Rate);
        var best = max;
        var bestEnergy = double.MaxValue;
        for (var f = max - Frame; f >= searchFrom; f -= Frame)
        {
            double e = 0;
            for (var i = f; i < f + Frame; i++) e += window[i] * (double)window[i];
            if (e < bestEnergy - 1e-9)
            {
                bestEnergy = e;
                best = f + Frame / 2;
            }
        }
        return best;
    }

    /// <summary>True when a window is digital silence (nothing for a model to hear).</summary>
    public static bool IsSilent(ReadOnlySpan<float> samples, float threshold = 1e-4f)
    {
        foreach (var s in samples)
            if (MathF.Abs(s) > threshold) return false;
        return true;
    }
}

/// <summary>
/// The windows of <see cref="AudioWindows.Split"/>, cut from audio as it is decoded: a buffer of one window plus one
/// sample is filled from the stream; once it is full (or the stream ends) the next window is cut exactly where Split
/// would cut it, handed out, and what follows the cut (at most 5 s) moves to the front. Memory is the window,
/// whatever the length of the audio.
/// </summary>
public sealed class StreamingWindows : IDisposable
{
    private readonly AudioStream _audio;
    private readonly int _max;
    private readonly float[] _buffer;
    private readonly CancellationToken _ct;
    private readonly Action? _progress;
    private int _filled;
    private int _current;
    private bool _ended;

    public StreamingWindows(AudioStream audio, double windowSeconds, CancellationToken ct, Action? progress = null)
    {
        _audio = audio;
        _max = AudioWindows.MaxSamples(windowSeconds);
        _ct = ct;
        _progress = progress;
        // One sample more than a window: with it in, the audio is known to go on past the window.
        _buffer = new float[_max + 1];
        audio.Meter?.Allocated(_buffer.Length);
    }

    /// <summary>Where the current window starts, in samples from the start of the audio.</summary>
    public long Start { get; private set; }
    /// <summary>The current window (valid until the next <see cref="MoveNext"/>).</summary>
    public ReadOnlySpan<float> Current => _buffer.AsSpan(0, _current);
    /// <summary>Samples of audio in all windows so far (the whole length once <see cref="MoveNext"/> returned false).</summary>
    public long Samples => Start + _current;

    /// <summary>Reads on to the next window; false after the last (when the stream ended cleanly).</summary>
    public bool MoveNext()
    {
        if (_current > 0)
        {
            // Drop the window handed out last; what followed it moves to the front.
            _buffer.AsSpan(_current, _filled - _current).CopyTo(_buffer);
            _filled -= _current;
            Start += _current;
            _current = 0;
        }
        while (!_ended && _filled < _buffer.Length)
        {
            _ct.ThrowIfCancellationRequested();
            var n = _audio.Read(_buffer.AsSpan(_filled));
            if (n == 0) _ended = true;
            _filled += n;
            _progress?.Invoke();
        }
        if (_filled == 0) return false;
        _current = _filled <= _max ? _filled : AudioWindows.Cut(_buffer.AsSpan(0, _max));
        return true;
    }

    public void Dispose() => _audio.Meter?.Released(_buffer.Length);
}
