using Hailo.Media;
using Hailo.TestSupport;
using HailoClip.Pipeline;
using Xunit;
using Xunit.Abstractions;

namespace Hailo.Clip.Tests.Pipeline;

/// <summary>
/// CLIP's preprocessing against tensors known by construction: the resize arithmetic of torchvision, the centre crop
/// offsets, Pillow's bicubic weights (which reproduce a constant exactly and a linear ramp away from the borders),
/// and the mean/std normalisation.
/// </summary>
public sealed class ClipPreprocessTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(640, 480, 298, 224)]   // int(224 · 640 / 480) = int(298.67)
    [InlineData(480, 640, 224, 298)]
    [InlineData(224, 500, 224, 500)]   // the short side is already 224: no resize
    [InlineData(1000, 1000, 224, 224)]
    [InlineData(300, 100, 672, 224)]
    public void Shortest_side_goes_to_224_and_the_other_is_truncated(int w, int h, int rw, int rh) =>
        Assert.Equal((rw, rh), ClipPreprocess.ResizedSize(w, h));

    [Fact]
    public void Centre_crop_takes_the_middle_columns_with_round_half_to_even()
    {
        // 325 × 224: no resize, crop left = round(101 / 2) = round(50.5) = 50 (half to even).
        using var img = RgbaImage.Filled(325, 224, 0, 0, 0);
        var px = img.MutablePixels;
        for (var y = 0; y < 224; y++)
            for (var x = 0; x < 325; x++) { px[y * img.RowBytes + x * 4] = (byte)(x % 256); px[y * img.RowBytes + x * 4 + 1] = (byte)y; }
        var rgb = ClipPreprocess.ResizeCrop(img);
        Assert.Equal(50, rgb[0]);                       // column 0 of the crop is source column 50
        Assert.Equal((50 + 223) % 256, rgb[223 * 3]);
        Assert.Equal(100, rgb[(100 * 224 + 7) * 3 + 1]); // rows are not moved
        // 327 wide: round(51.5) = 52.
        using var wider = RgbaImage.Filled(327, 224, 0, 0, 0);
        var wp = wider.MutablePixels;
        for (var x = 0; x < 327; x++) wp[x * 4] = (byte)x;
        Assert.Equal(52, ClipPreprocess.ResizeCrop(wider)[0]);
    }

    [Fact]
    public void Bicubic_keeps_a_uniform_colour_exactly()
    {
        using var img = RgbaImage.Filled(640, 480, 200, 100, 50);
        var rgb = ClipPreprocess.ResizeCrop(img);
        Assert.Equal(224 * 224 * 3, rgb.Length);
        for (var i = 0; i < rgb.Length; i += 3) Assert.Equal((200, 100, 50), (rgb[i], rgb[i + 1], rgb[i + 2]));
    }

    [Fact]
    public void Bicubic_halving_of_a_linear_ramp_gives_the_ramp_at_the_output_centres()
    {
        using var img = RgbaImage.Filled(448, 448, 0, 0, 0);
        var px = img.MutablePixels;
        for (var y = 0; y < 448; y++)
            for (var x = 0; x < 448; x++) px[y * img.RowBytes + x * 4] = (byte)(x / 2);
        // The source is x/2 rounded down (0,0,1,1,2,2,…): the ramp x/2 − 0.25 plus ±0.25 alternating. Halving, output X
        // weighs source pixels symmetrically about 2X + 0.5: the alternation cancels pairwise and the ramp (which a
        // cubic reproduces) gives exactly X there, so away from the borders every output is X.
        var rgb = ClipPreprocess.ResizeCrop(img);
        for (var x = 4; x < 220; x++) Assert.Equal(x, rgb[(112 * 224 + x) * 3]);
    }

    [Fact]
    public void Pillow_weights_widen_when_shrinking_and_sum_to_one()
    {
        var up = ClipPreprocess.Coefficients(100, 224, 0, 224);
        Assert.All(up, c => Assert.True(c.Weights.Length <= 5));
        var down = ClipPreprocess.Coefficients(896, 224, 0, 224);   // scale 4: support 8 → up to 17 taps
        Assert.True(down[100].Weights.Length >= 16);
        Assert.All(down, c => Assert.InRange(c.Weights.Sum(), (1 << 22) - 20, (1 << 22) + 20));
        Assert.Equal(1.0, ClipPreprocess.Cubic(0));
        Assert.Equal(0.0, ClipPreprocess.Cubic(1));
        Assert.Equal(0.0, ClipPreprocess.Cubic(2));
        Assert.Equal(-0.0625, ClipPreprocess.Cubic(1.5), 12);       // a·(x−5)x+8)x−4) at 1.5 with a = −0.5
    }

    [Fact]
    public void Normalisation_uses_clips_mean_and_std_in_chw_order()
    {
        using var img = RgbaImage.Filled(224, 224, 255, 0, 128);
        var rgb = ClipPreprocess.ResizeCrop(img);
        var chw = new float[3 * 224 * 224];
        ClipPreprocess.Normalize(rgb, chw);
        var expected = ClipTestModel.NormalisedColour(255, 0, 128);
        Assert.Equal(expected[0], chw[0], 5);
        Assert.Equal(expected[1], chw[224 * 224], 5);
        Assert.Equal(expected[2], chw[2 * 224 * 224 + 500], 5);
        Assert.Equal(1.9297, chw[0], 3);   // (1 − 0.48145466) / 0.26862954
    }

    [Theory]
    [InlineData(1280, 720)]   // landscape: both passes, a horizontal crop
    [InlineData(480, 640)]    // portrait: a vertical crop
    [InlineData(224, 300)]    // no horizontal pass
    [InlineData(300, 224)]    // no vertical pass
    [InlineData(100, 60)]     // enlarging: narrow kernels
    [InlineData(2000, 1999)]  // shrinking by ~9: wide kernels
    [InlineData(227, 229)]
    public void The_vectorised_resize_gives_the_scalar_references_bytes(int w, int h)
    {
        var rng = new Random(w * 31 + h);
        var px = new byte[w * h * 4];
        rng.NextBytes(px);
        // Noise with hard edges drives the bicubic overshoot into the clamping at 0 and 255.
        for (var i = 0; i < px.Length; i += 4 * 7) px[i] = (byte)(i % 3 == 0 ? 0 : 255);
        using var img = RgbaImage.FromRgba(px, w, h);
        var fast = ClipPreprocess.ResizeCrop(img);
        var reference = new byte[fast.Length];
        ClipPreprocess.ResizeCropReference(img, reference);
        Assert.Equal(reference, fast);
    }

    [Fact]
    public void A_reduced_jpeg_decode_stays_close_to_the_full_decode()
    {
        // A 1280×720 camera-like frame (gradients, a sine pattern and ±20 noise), JPEG quality 90. Full decode
        // (what Pillow does) against the 3/8 DCT-scaled decode clip.reduced_decode picks (480×270), each resized
        // and cropped to 224×224: the README quotes these bounds.
        var jpeg = CameraFrameJpeg();
        using var full = ImageDecoder.Decode(jpeg);
        using var reduced = ImageDecoder.Decode(jpeg, ImageDecoder.DefaultMaxPixels, (w, h) => ClipPreprocess.ResizedSize(w, h));
        Assert.Equal((480, 270), (reduced.Width, reduced.Height));
        var a = ClipPreprocess.ResizeCrop(full);
        var b = ClipPreprocess.ResizeCrop(reduced);
        var diffs = a.Zip(b, (x, y) => Math.Abs(x - y)).ToArray();
        var mean = diffs.Average();
        var max = diffs.Max();
        Assert.True(mean < 2, $"mean abs difference {mean:0.00} levels");
        Assert.True(max < 16, $"max abs difference {max} levels");
        // In the model's input units ((x/255 − mean)/std) the mean difference is mean / (255 · std) ≈ mean · 0.0146.
        var ta = new float[3 * 224 * 224];
        var tb = new float[3 * 224 * 224];
        ClipPreprocess.Normalize(a, ta);
        ClipPreprocess.Normalize(b, tb);
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < ta.Length; i++) { dot += ta[i] * tb[i]; na += ta[i] * ta[i]; nb += tb[i] * tb[i]; }
        output.WriteLine($"full vs reduced: mean abs {mean:0.000} levels, max abs {max} levels, cosine of the input tensors {dot / Math.Sqrt(na * nb):0.00000}");
        Assert.True(dot / Math.Sqrt(na * nb) > 0.999, $"cosine of the two input tensors {dot / Math.Sqrt(na * nb):0.0000}");
    }

    /// <summary>The bench's 1280×720 frame: horizontal and vertical ramps, a sine pattern, ±20 noise; JPEG quality 90.</summary>
    internal static byte[] CameraFrameJpeg()
    {
        var rng = new Random(3);
        var px = new byte[1280 * 720 * 4];
        for (var y = 0; y < 720; y++)
            for (var x = 0; x < 1280; x++)
            {
                var i = (y * 1280 + x) * 4;
                var n = rng.Next(-20, 21);
                px[i] = (byte)Math.Clamp(x / 5 + n, 0, 255);
                px[i + 1] = (byte)Math.Clamp(y / 3 + n, 0, 255);
                px[i + 2] = (byte)Math.Clamp(128 + (int)(60 * Math.Sin(x / 40.0 + y / 70.0)) + n, 0, 255);
                px[i + 3] = 255;
            }
        using var img = RgbaImage.FromRgba(px, 1280, 720);
        return img.Encode(ImageFormat.Jpeg, 90);
    }
}
