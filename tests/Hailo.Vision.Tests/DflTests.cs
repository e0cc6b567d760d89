using Xunit;

namespace Hailo.Vision.Tests;

/// <summary>DFL box sides (softmax expectation over 16 bins) on every vector path, and the sigmoid.</summary>
public sealed class DflTests
{
    private static float Expectation(float[] bins)
    {
        var all = new float[64];
        for (var side = 0; side < 4; side++) bins.CopyTo(all, side * 16);
        var d = new float[4];
        Dfl.Distances(all, d);
        Assert.All(d, x => Assert.Equal(d[0], x));
        return d[0];
    }

    [Fact]
    public void Dfl_distance_is_the_softmax_expectation_over_16_bins()
    {
        var bins = Enumerable.Repeat(-50f, 16).ToArray();
        bins[3] = MathF.Log(0.25f);
        bins[4] = MathF.Log(0.75f);
        Assert.Equal(3.75f, Expectation(bins), 1e-4f);
        Assert.Equal(7.5f, Expectation(new float[16]), 1e-5f);           // uniform: the mean of 0..15
        var ramp = Enumerable.Range(0, 16).Select(i => i * 0.3f).ToArray();
        double num = 0, den = 0;
        for (var i = 0; i < 16; i++) { num += i * Math.Exp(ramp[i]); den += Math.Exp(ramp[i]); }
        Assert.Equal((float)(num / den), Expectation(ramp), 1e-4f);
    }

    [Fact]
    public void Vector_paths_agree_with_the_scalar_one()
    {
        // x86-64 runs the 256-bit path by default, a Pi the 128-bit one: both must equal the scalar definition.
        var rng = new Random(9);
        var bins = new float[64];
        for (var trial = 0; trial < 500; trial++)
        {
            for (var i = 0; i < 64; i++) bins[i] = (rng.NextSingle() - 0.5f) * (trial % 3 == 0 ? 40 : 8);
            var (d256, d128, d0) = (new float[4], new float[4], new float[4]);
            Dfl.Distances(bins, d256, 256);
            Dfl.Distances(bins, d128, 128);
            Dfl.Distances(bins, d0, 0);
            for (var k = 0; k < 4; k++)
            {
                Assert.Equal(d0[k], d256[k], 1e-4f);
                Assert.Equal(d0[k], d128[k], 1e-4f);
            }
        }
        var logits = Enumerable.Range(0, 24).Select(i => (i - 12) * 0.7f).ToArray();
        var expected = logits.Select(Activations.Sigmoid).ToArray();
        Activations.SigmoidInPlace(logits);
        for (var i = 0; i < 24; i++) Assert.Equal(expected[i], logits[i], 1e-6f);
    }

    [Fact]
    public void Dfl_side_far_below_the_others_does_not_underflow()
    {
        // One shift for all 64 logits would make exp() of this side 0; the decoder redoes it with its own maximum.
        var all = new float[64];
        for (var i = 0; i < 48; i++) all[i] = 100;
        for (var i = 48; i < 64; i++) all[i] = -100 + (i == 48 + 5 ? 20 : 0);
        var d = new float[4];
        Dfl.Distances(all, d);
        Assert.Equal(7.5f, d[0], 1e-4f);
        Assert.Equal(5f, d[3], 1e-3f);
    }
}
