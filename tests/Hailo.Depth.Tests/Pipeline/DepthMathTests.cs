using HailoDepth;
using HailoDepth.Pipeline;
using Xunit;

namespace Hailo.Depth.Tests.Pipeline;

/// <summary>The depth formulas, the bilinear resize back to the image and the statistics, on values with known answers.</summary>
public sealed class DepthMathTests
{
    [Fact]
    public void Scdepth_formula_is_one_over_ten_sigmoid_plus_0_009()
    {
        float[] x = [0, 2, -2, 30, -30, 0.5f, -1, 1, 3];
        var d = x.ToArray();
        DepthDecoder.ToDepth(d, DepthOutput.Scdepth);
        for (var i = 0; i < x.Length; i++)
        {
            var expected = 1 / (10 / (1 + Math.Exp(-x[i])) + 0.009);
            Assert.Equal(expected, d[i], expected * 1e-5);
        }
        Assert.Equal(1 / 5.009, d[0], 1e-6);
        Assert.Equal(1 / 10.009, d[3], 1e-6);  // near: sigmoid → 1
        Assert.Equal(1 / 0.009, d[4], 1e-2);   // far: sigmoid → 0, 111 m
    }

    [Fact]
    public void Inverse_relative_depth_becomes_relative_depth_with_the_far_field_capped()
    {
        float[] v = [2, 4, 0, 0.01f, -1];
        DepthDecoder.ToDepth(v, DepthOutput.InverseRelative);
        Assert.Equal([0.5f, 0.25f, 25f, 25f, 25f], v); // floor = 1 % of the largest (4): 0.04 → 25
    }

    [Fact]
    public void Bilinear_resize_keeps_constants_and_linear_ramps()
    {
        var ramp = new float[4 * 2];
        for (var y = 0; y < 2; y++) for (var x = 0; x < 4; x++) ramp[y * 4 + x] = 10 * x;
        var up = Resample.Bilinear(ramp, 4, 2, 8, 3);
        // Output column x samples source (x + 0.5)/2 − 0.5, clamped to [0, 3]: a ramp of slope 10 stays linear inside.
        Assert.Equal([0f, 2.5f, 7.5f, 12.5f, 17.5f, 22.5f, 27.5f, 30f], up.AsSpan(8, 8).ToArray());
        Assert.Equal(up.AsSpan(0, 8).ToArray(), up.AsSpan(16, 8).ToArray());
        Assert.All(Resample.Bilinear(Enumerable.Repeat(3.5f, 12).ToArray(), 4, 3, 17, 9), v => Assert.Equal(3.5f, v));
        Assert.Equal(ramp, Resample.Bilinear(ramp, 4, 2, 4, 2));
    }

    [Theory]
    [InlineData(320, 256, 1280, 720)]
    [InlineData(256, 256, 97, 61)]
    [InlineData(7, 5, 23, 3)]
    [InlineData(5, 9, 5, 40)]
    public void Separable_bilinear_equals_the_textbook_formula(int sw, int sh, int w, int h)
    {
        var rng = new Random(sw * 31 + h);
        var src = Enumerable.Range(0, sw * sh).Select(_ => rng.NextSingle() * 10 - 5).ToArray();
        var fast = Resample.Bilinear(src, sw, sh, w, h);
        for (var y = 0; y < h; y++)
        {
            var fy = Math.Clamp((y + 0.5f) * (sh / (float)h) - 0.5f, 0, sh - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, sh - 1);
            for (var x = 0; x < w; x++)
            {
                var fx = Math.Clamp((x + 0.5f) * (sw / (float)w) - 0.5f, 0, sw - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, sw - 1);
                var top = src[y0 * sw + x0] + (src[y0 * sw + x1] - src[y0 * sw + x0]) * (fx - x0);
                var bottom = src[y1 * sw + x0] + (src[y1 * sw + x1] - src[y1 * sw + x0]) * (fx - x0);
                Assert.Equal(top + (bottom - top) * (fy - y0), fast[y * w + x]);
            }
        }
    }

    [Fact]
    public void Statistics_of_a_known_sample()
    {
        var values = Enumerable.Range(1, 101).Select(i => (float)i).Append(float.NaN).ToArray();
        var s = DepthStats.Of(values);
        Assert.Equal((1f, 101f, 51f, 51f, 6f, 96f), (s.Min, s.Max, s.Mean, s.Median, s.P5, s.P95));
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(7, 2)]
    [InlineData(1000, 3)]
    [InlineData(81920, 4)]
    public void Percentiles_by_selection_equal_those_of_a_sorted_copy(int n, int seed)
    {
        // Few distinct values (many ties), shuffled, with NaNs mixed in: the selection must agree with interpolating
        // between order statistics of a full sort, as numpy.percentile does.
        var rng = new Random(seed);
        var values = Enumerable.Range(0, n).Select(_ => rng.Next(4) == 0 ? float.NaN : MathF.Round(rng.NextSingle() * 50) / 7).ToArray();
        var sorted = values.Where(v => !float.IsNaN(v)).Order().ToArray();
        var s = DepthStats.Of(values);
        if (sorted.Length == 0)
        {
            Assert.True(float.IsNaN(s.Median));
            return;
        }
        float At(double p)
        {
            var rank = p * (sorted.Length - 1);
            var lo = (int)Math.Floor(rank);
            var hi = Math.Min(lo + 1, sorted.Length - 1);
            return (float)(sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo));
        }
        Assert.Equal((sorted[0], sorted[^1], At(0.05), At(0.5), At(0.95)), (s.Min, s.Max, s.P5, s.Median, s.P95));
    }
}
