using Hailo.Media;
using HailoDepth.Pipeline.Stereo;
using Xunit;
using Xunit.Abstractions;

namespace Hailo.Depth.Tests.Stereo;

/// <summary>The Middlebury figures of one run on the Aloe pair.</summary>
internal sealed record AloeScore(double BadOnProduced, double BadOverGroundTruth, double Density, double DensityOverGroundTruth, int GroundTruthPixels, int MaxGroundTruth)
{
    public override string ToString() =>
        $"bad > 2 px on produced pixels {BadOnProduced:P2}, over all ground-truth pixels (invalid counted bad) {BadOverGroundTruth:P2}, " +
        $"density {Density:P2} of the image ({DensityOverGroundTruth:P2} of ground-truth pixels); {GroundTruthPixels} ground-truth pixels, largest disparity {MaxGroundTruth}";
}

/// <summary>
/// The Middlebury 2006 "Aloe" pair (full size, 1282×1110) with its ground truth, as Debian's opencv-doc ships them
/// (examples/data). The ground truth PNG holds disparities of the full-size pair directly (0: unknown); the test
/// checks that scale by the disparity range before scoring.
/// </summary>
public sealed class AloeAccuracyTests(ITestOutputHelper output)
{
    internal const string Data = "/usr/share/doc/opencv-doc/examples/data";
    internal static bool Present => File.Exists(Path.Combine(Data, "aloeGT.png"));

    internal static (byte[] Left, byte[] Right, byte[] Truth, int Width, int Height) Load()
    {
        using var l = SkiaImageDecoder.Instance.Decode(File.ReadAllBytes(Path.Combine(Data, "aloeL.jpg")), 100_000_000);
        using var r = SkiaImageDecoder.Instance.Decode(File.ReadAllBytes(Path.Combine(Data, "aloeR.jpg")), 100_000_000);
        using var gt = SkiaImageDecoder.Instance.Decode(File.ReadAllBytes(Path.Combine(Data, "aloeGT.png")), 100_000_000);
        Assert.Equal((l.Width, l.Height), (gt.Width, gt.Height));
        var truth = new byte[gt.Width * gt.Height];
        for (var y = 0; y < gt.Height; y++)
        {
            var row = gt.Row(y);
            for (var x = 0; x < gt.Width; x++) truth[y * gt.Width + x] = row[4 * x];
        }
        return (Grey.From(l), Grey.From(r), truth, l.Width, l.Height);
    }

    internal static AloeScore Score(DisparityMap m, byte[] truth)
    {
        int known = 0, produced = 0, producedKnown = 0, bad = 0, max = 0;
        for (var i = 0; i < truth.Length; i++)
        {
            var valid = m.Invalid[i] == 0;
            if (valid) produced++;
            if (truth[i] == 0) continue;
            known++;
            max = Math.Max(max, truth[i]);
            if (!valid) continue;
            producedKnown++;
            if (MathF.Abs(m.Disparity[i] - truth[i]) > 2) bad++;
        }
        return new AloeScore(bad / (double)producedKnown, (bad + known - producedKnown) / (double)known,
            produced / (double)truth.Length, producedKnown / (double)known, known, max);
    }

    internal static SgmOptions Options(int threads = 2) => new() { MinDisparity = 0, NumDisparities = 224, Threads = threads };

    [Fact]
    public void Aloe_full_resolution_is_within_the_measured_bounds()
    {
        if (!Present)
        {
            output.WriteLine($"skipped: {Data}/aloeGT.png is missing (Debian package opencv-doc)");
            Assert.Fail("the Aloe pair is missing: apt-get install opencv-doc (.ci/install-deps installs it)");
        }
        var (left, right, truth, w, h) = Load();
        var m = StereoMatcher.Match(left, right, w, h, Options(), halfResolution: false);
        var s = Score(m, truth);
        output.WriteLine(s.ToString());
        // The ground truth's scale: its largest disparity fits the 1282-wide pair (211 px for this pair), and the
        // matched disparities agree with it at scale 1, not at the half or third size's.
        Assert.InRange(s.MaxGroundTruth, 200, 223);
        // Measured here: 2.48 % bad on produced pixels, 21.8 % over all ground-truth pixels, 79.5 % dense (OpenCV 4.6
        // StereoSGBM on the same pair in make bench: 4.8 % bad, 73 % dense). The bounds leave about 1 point for other CPUs'
        // rounding and JPEG decoders, and stay at or better than OpenCV's figures.
        Assert.True(s.BadOnProduced < 0.035, s.ToString());
        Assert.True(s.BadOverGroundTruth < 0.25, s.ToString());
        Assert.True(s.Density > 0.75, s.ToString());
    }

    [Fact]
    public void Aloe_half_resolution_is_within_the_measured_bounds()
    {
        if (!Present) Assert.Fail("the Aloe pair is missing: apt-get install opencv-doc (.ci/install-deps installs it)");
        var (left, right, truth, w, h) = Load();
        var m = StereoMatcher.Match(left, right, w, h, Options(), halfResolution: true);
        var s = Score(m, truth);
        output.WriteLine(s.ToString());
        // Measured here: 3.52 % bad, 83.7 % dense (each full-size pixel takes its 2×2 block's disparity).
        Assert.True(s.BadOnProduced < 0.045, s.ToString());
        Assert.True(s.Density > 0.78, s.ToString());
    }

    [Fact]
    public void Aloe_with_five_paths_in_one_pass_stays_at_or_better_than_OpenCVs_figures()
    {
        if (!Present) Assert.Fail("the Aloe pair is missing: apt-get install opencv-doc (.ci/install-deps installs it)");
        var (left, right, truth, w, h) = Load();
        // Timing is reported, not asserted (the machine is shared): the two modes alternate, best of three each.
        double t8 = double.MaxValue, t5 = double.MaxValue;
        AloeScore s8 = null!, s5 = null!;
        for (var i = 0; i < 3; i++)
            foreach (var paths in new[] { 8, 5 })
            {
                var t = System.Diagnostics.Stopwatch.StartNew();
                var m = StereoMatcher.Match(left, right, w, h, Options() with { Paths = paths }, halfResolution: false);
                var ms = t.Elapsed.TotalMilliseconds;
                if (paths == 8) (t8, s8) = (Math.Min(t8, ms), Score(m, truth));
                else (t5, s5) = (Math.Min(t5, ms), Score(m, truth));
            }
        output.WriteLine($"8 paths: {t8:F0} ms, {s8}");
        output.WriteLine($"5 paths: {t5:F0} ms ({t5 / t8:F2} of 8 paths' time), {s5}");
        // OpenCV 4.6 StereoSGBM (MODE_SGBM, the same 5 paths) on this pair, measured in make bench: 4.79 % bad on
        // produced pixels, 30.2 % over all ground-truth pixels, 73.3 % dense.
        Assert.True(s5.BadOnProduced < 0.045, s5.ToString());
        Assert.True(s5.BadOverGroundTruth < 0.30, s5.ToString());
        Assert.True(s5.Density > 0.733, s5.ToString());
    }
}
