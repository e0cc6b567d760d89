namespace HailoDepth.Pipeline;

/// <summary>Summary of a depth map in the model's unit: extremes, mean and percentiles.</summary>
internal sealed record DepthStats(float Min, float Max, float Mean, float Median, float P5, float P95)
{
    /// <summary>
    /// Statistics of the values (NaN ignored); percentiles by linear interpolation between order statistics (numpy's
    /// default), found by selection rather than a full sort.
    /// </summary>
    public static DepthStats Of(ReadOnlySpan<float> values)
    {
        var work = new float[values.Length];
        var n = 0;
        double sum = 0;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (float.IsNaN(v)) continue;
            work[n++] = v;
            sum += v;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (n == 0) return new DepthStats(float.NaN, float.NaN, float.NaN, float.NaN, float.NaN, float.NaN);
        // Ascending ranks, each selection working on what lies right of the previous one.
        var from = 0;
        var p5 = Percentile(work.AsSpan(0, n), 0.05, ref from);
        var median = Percentile(work.AsSpan(0, n), 0.5, ref from);
        var p95 = Percentile(work.AsSpan(0, n), 0.95, ref from);
        return new DepthStats(min, max, (float)(sum / n), median, p5, p95);
    }

    private static float Percentile(Span<float> data, double p, ref int from)
    {
        var n = data.Length;
        var rank = p * (n - 1);
        var lo = (int)Math.Floor(rank);
        Select(data, from, lo);
        from = lo;
        var a = data[lo];
        if (lo + 1 >= n) return a;
        var b = float.PositiveInfinity;
        foreach (var v in data[(lo + 1)..]) if (v < b) b = v;
        return (float)(a + (b - a) * (rank - lo));
    }

    /// <summary>
    /// Rearranges <paramref name="data"/>[from..] so that data[k] holds the value it would hold if that range were
    /// sorted, with nothing larger before it and nothing smaller after it (Hoare selection, median-of-three pivot).
    /// </summary>
    internal static void Select(Span<float> data, int from, int k)
    {
        int left = from, right = data.Length - 1;
        while (right > left)
        {
            var mid = left + (right - left) / 2;
            if (data[mid] < data[left]) (data[mid], data[left]) = (data[left], data[mid]);
            if (data[right] < data[left]) (data[right], data[left]) = (data[left], data[right]);
            if (data[right] < data[mid]) (data[right], data[mid]) = (data[mid], data[right]);
            var pivot = data[mid];
            int i = left, j = right;
            while (i <= j)
            {
                while (data[i] < pivot) i++;
                while (data[j] > pivot) j--;
                if (i <= j)
                {
                    (data[i], data[j]) = (data[j], data[i]);
                    i++;
                    j--;
                }
            }
            if (k <= j) right = j;
            else if (k >= i) left = i;
            else return;
        }
    }
}
