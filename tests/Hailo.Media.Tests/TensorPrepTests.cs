using Hailo.Vision;
using Xunit;

namespace Hailo.Media.Tests;

public sealed class TensorPrepTests
{
    private static RgbaImage Random(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var px = new byte[w * h * 4];
        rng.NextBytes(px);
        return RgbaImage.FromRgba(px, w, h);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(8, 8)]
    [InlineData(33, 17)]
    [InlineData(640, 2)]
    public void Chw_matches_the_scalar_formula_for_every_pixel(int w, int h)
    {
        using var img = Random(w, h, w * 31 + h);
        var n = Normalization.ImageNet;
        var planeW = w + 3; var planeH = h + 2;
        var t = new float[3 * planeW * planeH];
        Array.Fill(t, -99f);
        TensorPrep.ToChw(img, t, planeW, planeH, n, x0: 2, y0: 1);
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        for (var y = 0; y < planeH; y++)
            for (var x = 0; x < planeW; x++)
                for (var c = 0; c < 3; c++)
                {
                    var v = t[c * planeW * planeH + y * planeW + x];
                    var inside = x >= 2 && x < 2 + w && y >= 1 && y < 1 + h;
                    if (!inside) { Assert.Equal(-99f, v); continue; }
                    var p = img.Pixels[(y - 1) * img.RowBytes + (x - 2) * 4 + c];
                    Assert.Equal((p / 255f - mean[c]) / std[c], v, 1e-4f);
                }
    }

    [Theory]
    [InlineData(480, 270, 320, 256)]  // hailo-depth's reduced decode to its model input
    [InlineData(37, 23, 64, 48)]      // enlarged
    [InlineData(1280, 720, 320, 256)] // blocks averaged first (4×2), then bilinear
    [InlineData(101, 77, 33, 77)]     // one axis only, not a whole factor
    [InlineData(5, 5, 5, 5)]          // same size: a plain copy into planes
    public void ResizeToChw_matches_resize_then_chw_within_skias_rounding(int w, int h, int outW, int outH)
    {
        using var img = Random(w, h, w + 7 * h);
        var n = Normalization.ImageNet;
        var expected = new float[3 * outW * outH];
        using (var resized = img.Resize(outW, outH)) TensorPrep.ToChw(resized, expected, outW, outH, n);
        var actual = new float[3 * outW * outH];
        TensorPrep.ResizeToChw(img, actual, outW, outH, n);
        // Skia rounds each resized pixel to 8 bits; this keeps the fraction: at most half a level apart.
        float[] std = [0.229f, 0.224f, 0.225f];
        var plane = outW * outH;
        for (var i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) * 255 * std[i / plane] <= 0.51f, $"value {i}: {actual[i]} against {expected[i]}");

        // The byte tensor a HEF takes: the same pixels, rounded (Skia's rounding and ours may differ by one level).
        var expectedBytes = new byte[3 * outW * outH];
        using (var resized = img.Resize(outW, outH)) TensorPrep.ToHwcBytes(resized, expectedBytes, outW);
        var bytes = new byte[3 * outW * outH];
        TensorPrep.ResizeToHwcBytes(img, bytes, outW, outH);
        for (var i = 0; i < bytes.Length; i++)
            Assert.True(Math.Abs(bytes[i] - expectedBytes[i]) <= 1, $"byte {i}: {bytes[i]} against {expectedBytes[i]}");
    }

    [Fact]
    public void ResizeToChw_interpolates_at_pixel_centres_and_clamps_the_edges()
    {
        // A 2×1 image (0 then 200) stretched to 4×1: centres at source x = -0.25, 0.25, 0.75, 1.25 → 0, 50, 150, 200.
        using var img = RgbaImage.FromRgba([0, 0, 0, 255, 200, 100, 40, 255], 2, 1);
        var t = new float[12];
        TensorPrep.ResizeToChw(img, t, 4, 1, Normalization.Unit);
        Assert.Equal([0f, 50f, 150f, 200f], t[..4].Select(v => MathF.Round(v * 255, 3)));
        Assert.Equal([0f, 25f, 75f, 100f], t[4..8].Select(v => MathF.Round(v * 255, 3)));
        Assert.Equal([0f, 10f, 30f, 40f], t[8..].Select(v => MathF.Round(v * 255, 3)));
        Assert.Throws<ArgumentException>(() => TensorPrep.ResizeToChw(img, new float[11], 4, 1, Normalization.Unit));
        var hwc = new byte[12];
        TensorPrep.ResizeToHwcBytes(img, hwc, 4, 1);
        Assert.Equal([0, 0, 0, 50, 25, 10, 150, 75, 30, 200, 100, 40], hwc);
    }

    [Fact]
    public void Bgr_order_puts_blue_in_plane_zero_with_plane_zero_normalisation()
    {
        using var img = RgbaImage.FromRgba([10, 20, 30, 255, 200, 100, 50, 255], 2, 1);
        var n = Normalization.MeanStd(0.1f, 0.2f, 0.3f, 0.5f, 0.6f, 0.7f);
        var t = new float[6];
        TensorPrep.ToChw(img, t, 2, 1, n, bgr: true);
        Assert.Equal((30 / 255f - 0.1f) / 0.5f, t[0], 1e-5f);  // B with plane-0 values
        Assert.Equal((50 / 255f - 0.1f) / 0.5f, t[1], 1e-5f);
        Assert.Equal((20 / 255f - 0.2f) / 0.6f, t[2], 1e-5f);  // G
        Assert.Equal((10 / 255f - 0.3f) / 0.7f, t[4], 1e-5f);  // R with plane-2 values
        Assert.Equal((200 / 255f - 0.3f) / 0.7f, t[5], 1e-5f);
    }

    [Fact]
    public void Fill_and_hwc_bytes()
    {
        var t = new float[3 * 4];
        TensorPrep.FillChw(t, 2, 2, 255, 0, 128, Normalization.Unit);
        Assert.Equal([1, 1, 1, 1, 0, 0, 0, 0], t[..8]);
        Assert.Equal(128 / 255f, t[8], 1e-6f);

        using var img = Random(3, 2, 5);
        var hwc = new byte[5 * 3 * 3];
        TensorPrep.ToHwcBytes(img, hwc, planeWidth: 5, x0: 1, y0: 1);
        for (var y = 0; y < 2; y++)
            for (var x = 0; x < 3; x++)
                for (var c = 0; c < 3; c++)
                    Assert.Equal(img.Pixels[y * img.RowBytes + x * 4 + c], hwc[((y + 1) * 5 + x + 1) * 3 + c]);
        Assert.Equal(0, hwc[0]);
    }

    [Fact]
    public void Letterbox_round_trips_and_keeps_the_aspect_ratio()
    {
        var rng = new Random(7);
        for (var i = 0; i < 500; i++)
        {
            int w = rng.Next(1, 5000), h = rng.Next(1, 5000), iw = rng.Next(32, 1300), ih = rng.Next(32, 1300);
            var t = LetterboxTransform.Fit(w, h, iw, ih);
            Assert.InRange(t.ScaledWidth, 1, iw);
            Assert.InRange(t.ScaledHeight, 1, ih);
            Assert.True(t.ScaledWidth == iw || t.ScaledHeight == ih || t.ScaledWidth == 1 || t.ScaledHeight == 1);
            Assert.InRange(t.PadX + t.ScaledWidth, 0, iw);
            Assert.InRange(t.PadY + t.ScaledHeight, 0, ih);
            var (x, y) = (rng.NextSingle() * w, rng.NextSingle() * h);
            var (ix, iy) = t.ToInput(x, y);
            var (ox, oy) = t.ToOriginal(ix, iy);
            Assert.Equal(x, ox, Math.Max(1e-3f, x * 1e-5f));
            Assert.Equal(y, oy, Math.Max(1e-3f, y * 1e-5f));
        }
    }

    [Fact]
    public void Resize_averages_when_shrinking()
    {
        // A 1-pixel checkerboard shrunk 8× must come out mid-grey, not aliased black or white.
        var w = 64; var px = new byte[w * w * 4];
        for (var y = 0; y < w; y++)
            for (var x = 0; x < w; x++)
            {
                var v = (byte)((x + y) % 2 == 0 ? 255 : 0);
                var i = (y * w + x) * 4;
                (px[i], px[i + 1], px[i + 2], px[i + 3]) = (v, v, v, 255);
            }
        using var img = RgbaImage.FromRgba(px, w, w);
        using var small = img.Resize(8, 8);
        for (var i = 0; i < 8 * 8; i++) Assert.InRange(small.Pixels[(i / 8) * small.RowBytes + (i % 8) * 4], 90, 165);
    }

    [Theory]
    [InlineData(1280, 720, 640, 360)]   // exactly 2×: block averages
    [InlineData(1400, 900, 400, 257)]   // 3 whole, then bilinear for the fractional rest
    [InlineData(1001, 601, 300, 180)]   // blocks that do not divide the image
    [InlineData(300, 200, 640, 427)]    // upscale
    public void Resize_keeps_geometry(int w, int h, int tw, int th)
    {
        // A dark vertical band between 40 % and 60 % of the width and a dark horizontal band between 25 % and 50 %
        // of the height: after resizing, the bands' edges must be where the same fractions put them (within 1 px).
        var px = new byte[w * h * 4];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var dark = (x >= 0.4 * w && x < 0.6 * w) || (y >= 0.25 * h && y < 0.5 * h);
                var i = (y * w + x) * 4;
                var v = (byte)(dark ? 0 : 255);
                (px[i], px[i + 1], px[i + 2], px[i + 3]) = (v, v, v, 255);
            }
        using var img = RgbaImage.FromRgba(px, w, h);
        using var small = img.Resize(tw, th);
        Assert.Equal((tw, th), (small.Width, small.Height));
        int Value(int x, int y) => small.Pixels[y * small.RowBytes + x * 4];
        // Scan a row outside the horizontal band and a column outside the vertical band for the 50 % crossings.
        var row = (int)(0.1 * th);
        var col = (int)(0.1 * tw);
        static double Crossing(Func<int, int> at, int from, int to, bool falling)
        {
            for (var i = from; i < to - 1; i++)
            {
                int a = at(i), b = at(i + 1);
                if (falling ? a >= 128 && b < 128 : a < 128 && b >= 128) return i + (a - 128.0) / (a - b) + 0.5;
            }
            return double.NaN;
        }
        Assert.InRange(Crossing(x => Value(x, row), 0, tw, true), 0.4 * tw - 1, 0.4 * tw + 1);
        Assert.InRange(Crossing(x => Value(x, row), 0, tw, false), 0.6 * tw - 1, 0.6 * tw + 1);
        Assert.InRange(Crossing(y => Value(col, y), 0, th, true), 0.25 * th - 1, 0.25 * th + 1);
        Assert.InRange(Crossing(y => Value(col, y), 0, th, false), 0.5 * th - 1, 0.5 * th + 1);
    }

    [Fact]
    public void Resize_by_two_is_the_rounded_mean_of_each_block()
    {
        var rnd = new Random(7);
        var px = new byte[64 * 32 * 4];
        rnd.NextBytes(px);
        using var img = RgbaImage.FromRgba(px, 64, 32);
        using var half = img.Resize(32, 16);
        for (var y = 0; y < 16; y++)
            for (var x = 0; x < 32; x++)
                for (var c = 0; c < 3; c++)
                {
                    var sum = 0;
                    for (var dy = 0; dy < 2; dy++)
                        for (var dx = 0; dx < 2; dx++)
                            sum += px[((2 * y + dy) * 64 + 2 * x + dx) * 4 + c];
                    Assert.Equal((sum + 2) / 4, half.Pixels[y * half.RowBytes + x * 4 + c]);
                }
    }
}
