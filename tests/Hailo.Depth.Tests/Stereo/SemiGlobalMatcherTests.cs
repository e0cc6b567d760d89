using HailoDepth.Pipeline.Stereo;
using Xunit;
using Xunit.Abstractions;

namespace Hailo.Depth.Tests.Stereo;

/// <summary>The matcher on synthetic rectified pairs whose disparity is known at every pixel.</summary>
public sealed class SemiGlobalMatcherTests(ITestOutputHelper output)
{
    private const int W = 200, H = 120;

    /// <summary>Error figures over the pixels that can be matched (not occluded, not in the left border of D columns).</summary>
    private (double Bad, double Density, double OccludedInvalid) Score(SyntheticPair p, DisparityMap m, int border, float threshold = 1)
    {
        int visible = 0, produced = 0, bad = 0, occluded = 0, occludedInvalid = 0;
        for (var y = 0; y < p.Height; y++)
            for (var x = border; x < p.Width; x++)
            {
                var i = y * p.Width + x;
                if (p.Occluded[i])
                {
                    occluded++;
                    if (m.Invalid[i] != 0) occludedInvalid++;
                    continue;
                }
                visible++;
                if (m.Invalid[i] != 0) continue;
                Assert.False(float.IsNaN(m.Disparity[i]));
                produced++;
                if (MathF.Abs(m.Disparity[i] - p.Truth[i]) > threshold) bad++;
            }
        var r = (produced == 0 ? 1 : bad / (double)produced, produced / (double)visible, occluded == 0 ? 1 : occludedInvalid / (double)occluded);
        output.WriteLine($"bad > {threshold} px {r.Item1:P2}, density {r.Item2:P2}, occluded pixels marked invalid {r.Item3:P2} ({occluded})");
        return r;
    }

    private static SgmOptions Options(int min, int num, int paths = 8, int threads = 2) =>
        new() { MinDisparity = min, NumDisparities = num, Paths = paths, Threads = threads };

    [Theory]
    [InlineData(8, 8)]
    [InlineData(8, 4)]
    [InlineData(21, 8)]
    [InlineData(8, 5)]
    [InlineData(21, 5)]
    public void Fronto_parallel_plane_is_found_everywhere(int disparity, int paths)
    {
        var p = SyntheticPair.Make(W, H, (_, _) => disparity);
        var m = SemiGlobalMatcher.Match(p.Left, p.Right, W, H, Options(0, 32, paths));
        var (bad, density, _) = Score(p, m, 32);
        Assert.True(bad < 0.005, $"bad {bad:P2}");
        Assert.True(density > 0.97, $"density {density:P2}");
        // Sub-pixel refinement keeps whole disparities whole (median error well under a tenth of a pixel).
        var errors = Enumerable.Range(0, W * H).Where(i => i % W >= 32 && m.Invalid[i] == 0).Select(i => MathF.Abs(m.Disparity[i] - disparity)).Order().ToArray();
        Assert.True(errors[errors.Length / 2] < 0.1f, $"median error {errors[errors.Length / 2]}");
    }

    [Fact]
    public void A_step_is_found_and_the_occluded_strip_beside_it_is_marked_invalid()
    {
        // Background at 6 px, a nearer rectangle at 20 px: the 14 px left of the rectangle are hidden in the right view.
        static float D(float x, int y) => x >= 80 && x < 150 && y >= 30 && y < 90 ? 20 : 6;
        var p = SyntheticPair.Make(W, H, D, seed: 2);
        var m = SemiGlobalMatcher.Match(p.Left, p.Right, W, H, Options(0, 32));
        var (bad, density, occludedInvalid) = Score(p, m, 32);
        Assert.True(bad < 0.02, $"bad {bad:P2}");
        Assert.True(density > 0.9, $"density {density:P2}");
        Assert.True(occludedInvalid > 0.6, $"occluded marked invalid {occludedInvalid:P2}");
        // Inside the rectangle and the background far from its edges every pixel is right.
        Assert.InRange(m.Disparity[60 * W + 115], 19, 21);
        Assert.InRange(m.Disparity[10 * W + 100], 5, 7);
        // The occluded strip's reasons are the left-right check (or the speckle filter after it), not no-match.
        var strip = Enumerable.Range(32, 60).Select(y => m.Invalid[y * W + 72]).ToArray();
        Assert.True(strip.Count(r => r is (byte)StereoInvalid.LeftRight or (byte)StereoInvalid.Speckle or (byte)StereoInvalid.Ambiguous) > 40);
    }

    [Fact]
    public void A_slanted_plane_gets_sub_pixel_disparities()
    {
        // 4 px at the left edge to ~16 px at the right, and a slight vertical tilt.
        static float D(float x, int y) => 4 + 0.06f * x + 0.01f * y;
        var p = SyntheticPair.Make(W, H, D, seed: 3);
        var m = SemiGlobalMatcher.Match(p.Left, p.Right, W, H, Options(0, 24));
        var (bad, density, _) = Score(p, m, 24);
        Assert.True(bad < 0.01, $"bad {bad:P2}");
        Assert.True(density > 0.95, $"density {density:P2}");
        var (bad05, _, _) = Score(p, m, 24, 0.5f);
        Assert.True(bad05 < 0.1, $"bad > 0.5 px {bad05:P2}");
    }

    [Fact]
    public void Min_disparity_shifts_the_search_range()
    {
        var p = SyntheticPair.Make(W, H, (_, _) => 40, seed: 4);
        var m = SemiGlobalMatcher.Match(p.Left, p.Right, W, H, Options(32, 16));
        var (bad, density, _) = Score(p, m, 48);
        Assert.True(bad < 0.005, $"bad {bad:P2}");
        Assert.True(density > 0.97, $"density {density:P2}");
        // A range that does not hold the true disparity matches nothing reliably.
        var wrong = SemiGlobalMatcher.Match(p.Left, p.Right, W, H, Options(0, 16));
        Assert.True(Score(p, wrong, 16).Density < 0.3);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(5)]
    public void Bands_and_threads_change_little(int paths)
    {
        static float D(float x, int y) => x >= 80 && x < 150 && y >= 30 && y < 90 ? 20 : 6;
        var p = SyntheticPair.Make(W, H, D, seed: 5);
        var one = SemiGlobalMatcher.Match(p.Left, p.Right, W, H, Options(0, 32, paths, threads: 1));
        // Tiny bands (16 rows) on 3 threads: paths enter each band from its margins (the 5-path mode: one band per thread).
        var banded = SemiGlobalMatcher.Match(p.Left, p.Right, W, H, Options(0, 32, paths, threads: 3) with { BandBytes = 4L * W * 32 * 16 });
        var differ = 0;
        for (var i = 0; i < W * H; i++)
            if (one.Invalid[i] != banded.Invalid[i] || (one.Invalid[i] == 0 && MathF.Abs(one.Disparity[i] - banded.Disparity[i]) > 0.5f)) differ++;
        output.WriteLine($"{differ} of {W * H} pixels differ");
        Assert.True(differ < W * H / 100, $"{differ} pixels differ");
    }

    [Fact]
    public void Five_paths_compute_costs_row_by_row_whatever_the_band_memory()
    {
        // The 5-path mode keeps one row of costs and sums: the band memory neither splits the image further nor
        // changes a single pixel (the 8-path mode with the same tiny bands does change some: the test above).
        static float D(float x, int y) => x >= 60 && x < 170 && y >= 20 && y < 100 ? 18 : 5;
        var p = SyntheticPair.Make(W, H, D, seed: 9);
        var big = SemiGlobalMatcher.Match(p.Left, p.Right, W, H, Options(0, 32, 5, threads: 2));
        var tiny = SemiGlobalMatcher.Match(p.Left, p.Right, W, H, Options(0, 32, 5, threads: 2) with { BandBytes = 4L * W * 32 * 16 });
        Assert.Equal(big.Invalid, tiny.Invalid);
        Assert.Equal(big.Disparity, tiny.Disparity);
        var (bad, density, _) = Score(p, big, 32);
        Assert.True(bad < 0.01, $"bad {bad:P2}");
        Assert.True(density > 0.9, $"density {density:P2}");
    }

    [Fact]
    public void Half_resolution_finds_the_plane_at_full_size()
    {
        var p = SyntheticPair.Make(W, H, (_, _) => 12, seed: 6);
        var m = StereoMatcher.Match(p.Left, p.Right, W, H, Options(0, 32), halfResolution: true);
        Assert.Equal(W * H, m.Disparity.Length);
        var (bad, density, _) = Score(p, m, 32);
        Assert.True(bad < 0.01, $"bad {bad:P2}");
        Assert.True(density > 0.95, $"density {density:P2}");
    }

    [Fact]
    public void A_textureless_pair_is_mostly_ambiguous_not_invented()
    {
        // A blank wall: grey 128 with each camera's own sensor noise (±2) and nothing to match.
        var random = new Random(7);
        var left = Enumerable.Range(0, W * H).Select(_ => (byte)(128 + random.Next(-2, 3))).ToArray();
        var right = Enumerable.Range(0, W * H).Select(_ => (byte)(128 + random.Next(-2, 3))).ToArray();
        var m = SemiGlobalMatcher.Match(left, right, W, H, Options(0, 32));
        var valid = m.ValidCount;
        output.WriteLine($"{valid} valid of {W * H}");
        Assert.True(valid < W * H / 10);
        Assert.Contains(m.Invalid, r => r == (byte)StereoInvalid.Ambiguous);
    }

    [Fact]
    public void Speckles_are_removed_and_large_regions_kept()
    {
        var d = Enumerable.Repeat(10f, 40 * 30).ToArray();
        var invalid = new byte[40 * 30];
        d[5 * 40 + 5] = 30;                                                   // a one-pixel island
        for (var y = 10; y < 25; y++) for (var x = 10; x < 30; x++) d[y * 40 + x] = 20;  // 300 px region
        SpeckleFilter.Apply(d, invalid, 40, 30, 100, 2);
        Assert.Equal((byte)StereoInvalid.Speckle, invalid[5 * 40 + 5]);
        Assert.True(float.IsNaN(d[5 * 40 + 5]));
        Assert.Equal(0, invalid[15 * 40 + 15]);
        Assert.Equal(0, invalid[0]);
    }

    [Fact]
    public void Census_codes_count_darker_neighbours()
    {
        // A vertical edge: left half 0, right half 200. A pixel on the bright side next to the edge has the dark
        // columns of its window set.
        const int w = 20, h = 10;
        var g = new byte[w * h];
        for (var y = 0; y < h; y++) for (var x = 10; x < w; x++) g[y * w + x] = 200;
        var codes = Census.Transform(g, w, h, 1);
        Assert.Equal(0, System.Numerics.BitOperations.PopCount(codes[5 * w + 4]));    // dark: nothing darker
        Assert.Equal(7 * 2, System.Numerics.BitOperations.PopCount(codes[5 * w + 12])); // two dark columns × 7 rows
        Assert.Equal(7 * 4, System.Numerics.BitOperations.PopCount(codes[5 * w + 10])); // four dark columns
    }

    [Fact]
    public void Vectorised_winner_and_uniqueness_agree_with_the_scalar_definitions()
    {
        var random = new Random(9);
        foreach (var length in new[] { 1, 3, 7, 16, 17, 33, 64, 211, 224 })
            for (var trial = 0; trial < 200; trial++)
            {
                var s = Enumerable.Range(0, length).Select(_ => (short)random.Next(0, trial % 2 == 0 ? 20 : 3000)).ToArray();
                var best = 0;
                for (var k = 1; k < length; k++) if (s[k] < s[best]) best = k;
                Assert.Equal((best, s[best]), SemiGlobalMatcher.Worker.Lowest(s));
                var limit = (short)(s[best] * 100 / 95);
                var rival = Enumerable.Range(0, length).Any(k => Math.Abs(k - best) > 1 && s[k] * 95 <= s[best] * 100);
                Assert.Equal(rival, SemiGlobalMatcher.Worker.HasRival(s, best, limit));
            }
    }

    [Theory]
    [InlineData(1, 1, 0, 16, false)]
    [InlineData(3, 2, -2, 9, true)]
    [InlineData(32, 16, -2, 9, true)]
    [InlineData(17, 5, 0, 64, false)]
    [InlineData(40, 15, 3, 1, false)]
    public void Tiny_pairs_and_odd_ranges_match_without_failing(int w, int h, int min, int num, bool half)
    {
        var random = new Random(w * 31 + h);
        var left = Enumerable.Range(0, w * h).Select(_ => (byte)random.Next(256)).ToArray();
        var right = Enumerable.Range(0, w * h).Select(_ => (byte)random.Next(256)).ToArray();
        var m = StereoMatcher.Match(left, right, w, h, Options(min, num, threads: 2), half);
        Assert.Equal(w * h, m.Disparity.Length);
        for (var i = 0; i < w * h; i++) Assert.Equal(m.Invalid[i] != 0, float.IsNaN(m.Disparity[i]));
    }
}

/// <summary>A match stops when its token is cancelled: checked between rows and passes, not only before it starts.</summary>
public sealed class StereoCancellationTests
{
    private static (byte[] Left, byte[] Right) Noise(int w, int h)
    {
        var random = new Random(11);
        var left = new byte[w * h];
        random.NextBytes(left);
        var right = new byte[w * h];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++) right[y * w + x] = left[y * w + Math.Min(w - 1, x + 9)];
        return (left, right);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_already_cancelled_token_stops_the_match(bool half)
    {
        var (l, r) = Noise(200, 100);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            StereoMatcher.Match(l, r, 200, 100, new SgmOptions { NumDisparities = 32, Threads = 2 }, half, cts.Token));
    }

    [Fact]
    public void A_token_cancelled_after_the_start_stops_a_long_match()
    {
        // 2400×1400 at 256 disparities is seconds of work on any CPU (the census alone is tens of milliseconds), so a
        // token cancelled 100 ms after the call began is seen by the checks between rows, not before the start. The
        // test asserts the outcome (cancelled, no map), not a time.
        const int w = 2400, h = 1400;
        var (l, r) = Noise(w, h);
        using var cts = new CancellationTokenSource();
        cts.CancelAfter(100);
        var e = Record.Exception(() => StereoMatcher.Match(l, r, w, h, new SgmOptions { NumDisparities = 256, Threads = 2, BandBytes = 64L << 20 }, false, cts.Token));
        Assert.IsAssignableFrom<OperationCanceledException>(e);
    }
}
