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

    public static IReadOnlyList<(int Start, int Length)> Split(ReadOnlySpan<float> samples, double windowSeconds)
    {
        var max = (int)(windowSeconds * Rate);
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
            var searchFrom = start + max - Math.Min(max / 4, 5 * Rate);
            var end = start + max;
            var best = end;
            var bestEnergy = double.MaxValue;
            // Later frames win ties, so uniform audio is cut at the full window length.
            for (var f = end - Frame; f >= searchFrom; f -= Frame)
            {
                double e = 0;
                for (var i = f; i < f + Frame; i++) e += samples[i] * (double)samples[i];
                if (e < bestEnergy - 1e-9)
                {
                    bestEnergy = e;
                    best = f + Frame / 2;
                }
            }
            result.Add((start, best - start));
            start = best;
        }
        return result;
    }

    /// <summary>True when a window is digital silence (nothing for a model to hear).</summary>
    public static bool IsSilent(ReadOnlySpan<float> samples, float threshold = 1e-4f)
    {
        foreach (var s in samples)
            if (MathF.Abs(s) > threshold) return false;
        return true;
    }
}
