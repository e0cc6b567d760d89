namespace HailoDepth.Pipeline;

/// <summary>Summary of a depth map in the model's unit: extremes, mean and percentiles.</summary>
internal sealed record DepthStats(float Min, float Max, float Mean, float Median, float P5, float P95)
{
    /// <summary>Statistics of the values (NaN ignored); percentiles by linear interpolation between order statistics.</summary>
    public static DepthStats Of(ReadOnlySpan<float> values)
    {
        var sorted = new float[values.Length];
        var n = 0;
        double sum = 0;
        foreach (var v in values)
        {
            if (float.IsNaN(v)) continue;
            sorted[n++] = v;
            sum += v;
        }
        if (n == 0) return new DepthStats(float.NaN, float.NaN, float.NaN, float.NaN, float.NaN, float.NaN);
        Array.Sort(sorted, 0, n);
        float At(double p)
        {
            var rank = p * (n - 1);
            var lo = (int)Math.Floor(rank);
            var hi = Math.Min(lo + 1, n - 1);
            return (float)(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo));
        }
        return new DepthStats(sorted[0], sorted[n - 1], (float)(sum / n), At(0.5), At(0.05), At(0.95));
    }
}
