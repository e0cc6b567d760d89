using Hailo.Media;
using Hailo.Vision;
using Xunit;

namespace Hailo.Media.Tests;

/// <summary>
/// The letterbox helpers put image content exactly where <see cref="LetterboxTransform"/> says (the transform's own
/// arithmetic is tested in Hailo.Vision.Tests).
/// </summary>
public sealed class LetterboxTests
{
    /// <summary>A grey image with one red square; returns it and the square's centre.</summary>
    private static RgbaImage WithSquare(int w, int h, int x0, int y0, int size)
    {
        var px = new byte[w * h * 4];
        for (var i = 0; i < w * h; i++) (px[4 * i], px[4 * i + 1], px[4 * i + 2], px[4 * i + 3]) = (60, 60, 60, 255);
        for (var y = y0; y < y0 + size; y++)
            for (var x = x0; x < x0 + size; x++)
                (px[(y * w + x) * 4], px[(y * w + x) * 4 + 1], px[(y * w + x) * 4 + 2]) = (250, 0, 0);
        return RgbaImage.FromRgba(px, w, h);
    }

    [Theory]
    [InlineData(1280, 720)]
    [InlineData(720, 1280)]
    [InlineData(1279, 719)]
    [InlineData(333, 999)]
    [InlineData(200, 100)]
    public void Content_lands_where_ToInput_maps_it_in_bytes_and_floats(int w, int h)
    {
        var size = Math.Max(8, Math.Min(w, h) / 10);
        var (x0, y0) = (w * 3 / 5, h / 4);
        using var img = WithSquare(w, h, x0, y0, size);
        var (cx, cy) = (x0 + size / 2f, y0 + size / 2f);

        var hwc = new byte[640 * 640 * 3];
        var fit = TensorPrep.LetterboxHwcBytes(img, hwc, 640, 640, (114, 114, 114));
        var (ex, ey) = fit.ToInput(cx, cy);
        double sx = 0, sy = 0, n = 0;
        for (var y = 0; y < 640; y++)
            for (var x = 0; x < 640; x++)
            {
                var r = hwc[(y * 640 + x) * 3] - 60.0;
                var wgt = Math.Max(0, r) * (hwc[(y * 640 + x) * 3 + 1] < 40 ? 1 : 0);
                (sx, sy, n) = (sx + wgt * (x + 0.5), sy + wgt * (y + 0.5), n + wgt);
            }
        Assert.Equal(ex, sx / n, 0.75);
        Assert.Equal(ey, sy / n, 0.75);
        // Padding is the pad colour, the image area is not.
        Assert.Equal(114, hwc[0]);
        var (px, py) = ((int)fit.PadX + 1, (int)fit.PadY + 1);
        Assert.InRange(hwc[(py * 640 + px) * 3], 58, 62);

        var chw = new float[3 * 640 * 640];
        var fit2 = TensorPrep.LetterboxChw(img, chw, 640, 640, (114, 114, 114), Normalization.Unit);
        Assert.Equal(fit, fit2);
        Assert.Equal(114 / 255f, chw[0], 1e-6f);
        Assert.Equal(hwc[(py * 640 + px) * 3 + 1] / 255f, chw[640 * 640 + py * 640 + px], 1e-6f);
    }

    [Theory]
    [InlineData(1280, 720)]
    [InlineData(1279, 719)]
    [InlineData(1920, 1080)]
    [InlineData(720, 1280)]
    [InlineData(3000, 1000)]
    public void A_reduced_decode_letterboxes_in_source_coordinates(int w, int h)
    {
        // The dark 16-px square's centre in the source; a reduced decode made for the letterbox must put it where the
        // transform (in source coordinates) says, and the transform must be the one the whole image gets.
        var (x0, y0) = (w * 3 / 5, h / 4);
        var jpeg = ImageDecoderTests.GradientJpeg(w, h, x0, y0);
        using var full = ImageDecoder.Decode(jpeg);
        using var reduced = ImageDecoder.Decode(jpeg, atLeast: (sw, sh) =>
        {
            var f = LetterboxTransform.Fit(sw, sh, 640, 640);
            return (f.ScaledWidth, f.ScaledHeight);
        });
        Assert.True(reduced.IsReduced);
        Assert.Equal((w, h), (reduced.SourceWidth, reduced.SourceHeight));

        var chwFull = new float[3 * 640 * 640];
        var chw = new float[3 * 640 * 640];
        var fit = TensorPrep.LetterboxChw(full, chwFull, 640, 640, (114, 114, 114), Normalization.Unit);
        Assert.Equal(fit, TensorPrep.LetterboxChw(reduced, chw, 640, 640, (114, 114, 114), Normalization.Unit));
        var hwc = new byte[640 * 640 * 3];
        Assert.Equal(fit, TensorPrep.LetterboxHwcBytes(reduced, hwc, 640, 640, (114, 114, 114)));

        var (ex, ey) = fit.ToInput(x0 + 8, y0 + 8);
        double sx = 0, sy = 0, n = 0;
        for (var y = 0; y < 640; y++)
            for (var x = 0; x < 640; x++)
            {
                // Darkness below the surrounding gradient (≥ 60 in every channel) weighs the centroid.
                var wgt = Math.Max(0, 0.2f - chw[y * 640 + x]);
                (sx, sy, n) = (sx + wgt * (x + 0.5), sy + wgt * (y + 0.5), n + wgt);
                Assert.Equal(chw[640 * 640 + y * 640 + x], hwc[(y * 640 + x) * 3 + 1] / 255f, 1e-6f);
            }
        Assert.Equal(ex, sx / n, 0.75);
        Assert.Equal(ey, sy / n, 0.75);
        // Everything outside the image is the pad colour, in all three planes.
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < 640; y++)
                for (var x = 0; x < 640; x++)
                {
                    var inside = x >= fit.PadX && x < fit.PadX + fit.ScaledWidth && y >= fit.PadY && y < fit.PadY + fit.ScaledHeight;
                    if (!inside) Assert.Equal(114 / 255f, chw[c * 640 * 640 + y * 640 + x], 1e-6f);
                }
    }
}
