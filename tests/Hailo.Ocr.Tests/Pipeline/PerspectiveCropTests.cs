using System.Numerics;
using Hailo.Media;
using HailoOcr.Pipeline;
using Xunit;

namespace Hailo.Ocr.Tests.Pipeline;

public class PerspectiveCropTests
{
    private static RgbaImage Noise(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var px = new byte[w * h * 4];
        rng.NextBytes(px);
        return RgbaImage.FromRgba(px, w, h);
    }

    private static (byte R, byte G, byte B) Pixel(RgbaImage img, int x, int y)
    {
        var row = img.Row(y);
        return (row[x * 4], row[x * 4 + 1], row[x * 4 + 2]);
    }

    [Fact]
    public void AxisAlignedQuad_EqualsSubImage()
    {
        using var img = Noise(64, 48, 1);
        using var crop = PerspectiveCrop.Crop(img, [new(10, 5), new(40, 5), new(40, 25), new(10, 25)]);
        Assert.Equal(30, crop.Width);
        Assert.Equal(20, crop.Height);
        for (var y = 0; y < 20; y++)
        for (var x = 0; x < 30; x++)
            Assert.Equal(Pixel(img, 10 + x, 5 + y), Pixel(crop, x, y));
    }

    [Fact]
    public void WholeImageQuad_EqualsImage()
    {
        using var img = Noise(33, 17, 2);
        using var crop = PerspectiveCrop.Crop(img, [new(0, 0), new(33, 0), new(33, 17), new(0, 17)]);
        Assert.Equal(img.Width, crop.Width);
        Assert.Equal(img.Height, crop.Height);
        for (var y = 0; y < 17; y++) Assert.True(img.Row(y).SequenceEqual(crop.Row(y)), $"row {y}");
    }

    [Theory]
    [InlineData(30.0)]
    [InlineData(-20.0)]
    [InlineData(8.0)]
    public void RotatedQuad_ComesOutUpright(double degrees)
    {
        // A 160×80 rectangle with a 20-pixel checker in its own frame, drawn rotated on a grey image.
        const int w = 160, h = 80, cell = 20;
        const int size = 300;
        var centre = new Vector2(150, 150);
        var a = degrees * Math.PI / 180;
        double c = Math.Cos(a), s = Math.Sin(a);
        var px = new byte[size * size * 4];
        for (var y = 0; y < size; y++)
        for (var x = 0; x < size; x++)
        {
            double dx = x + 0.5 - centre.X, dy = y + 0.5 - centre.Y;
            double u = dx * c + dy * s + w / 2.0, v = -dx * s + dy * c + h / 2.0;
            var (r, g, b) = u is >= 0 and < w && v is >= 0 and < h
                ? (((int)(u / cell) + (int)(v / cell)) % 2 == 0 ? ((byte)0, (byte)0, (byte)0) : ((byte)255, (byte)0, (byte)0))
                : ((byte)128, (byte)128, (byte)128);
            var i = (y * size + x) * 4;
            px[i] = r; px[i + 1] = g; px[i + 2] = b; px[i + 3] = 255;
        }
        using var img = RgbaImage.FromRgba(px, size, size);
        var quad = Quads.RotatedRect(centre, w, h, degrees);

        using var crop = PerspectiveCrop.Crop(img, quad);
        Assert.Equal(w, crop.Width);
        Assert.Equal(h, crop.Height);
        for (var cy = 0; cy < h / cell; cy++)
        for (var cx = 0; cx < w / cell; cx++)
        {
            // Sample well inside each cell, where rotation aliasing cannot reach.
            foreach (var (ox, oy) in new[] { (10, 10), (5, 5), (15, 14) })
            {
                var (r, g, b) = Pixel(crop, cx * cell + ox, cy * cell + oy);
                var red = (cx + cy) % 2 == 1;
                Assert.True(Math.Abs(r - (red ? 255 : 0)) <= 8 && g <= 8 && b <= 8, $"cell ({cx},{cy}) at +({ox},{oy}): {r},{g},{b}");
            }
        }
    }

    [Fact]
    public void TallQuad_IsRotatedCounterClockwise()
    {
        using var img = Noise(50, 90, 3);
        // 20 wide × 60 high: ratio 3 ≥ 1.5.
        using var crop = PerspectiveCrop.Crop(img, [new(10, 20), new(30, 20), new(30, 80), new(10, 80)]);
        Assert.Equal(60, crop.Width);
        Assert.Equal(20, crop.Height);
        // 90° counter-clockwise: the quad's top-right pixel lands top-left, its top-left lands bottom-left.
        for (var y = 0; y < 20; y++)
        for (var x = 0; x < 60; x++)
            Assert.Equal(Pixel(img, 10 + 19 - y, 20 + x), Pixel(crop, x, y));
    }

    [Fact]
    public void SlightlyTallQuad_IsNotRotated()
    {
        using var img = Noise(50, 50, 4);
        using var crop = PerspectiveCrop.Crop(img, [new(0, 0), new(20, 0), new(20, 29), new(0, 29)]); // ratio 1.45
        Assert.Equal(20, crop.Width);
        Assert.Equal(29, crop.Height);
        Assert.Equal(Pixel(img, 3, 7), Pixel(crop, 3, 7));
    }

    public static TheoryData<float[]> DegenerateQuads => new()
    {
        new float[] { 5, 5, 5, 5, 5, 5, 5, 5 },                    // one point
        new float[] { 0, 0, 10, 0, 20, 0, 30, 0 },                 // collinear
        new float[] { 0, 0, 10, 10, 0, 0, 10, 10 },                // repeated pairs
        new float[] { 10, 0, 0, 0, 10, 10, 0, 10 },                // self-intersecting (bow tie)
        new float[] { -500, -500, -400, -500, -400, -450, -500, -450 }, // far outside the image
        new float[] { float.NaN, 0, 10, 0, 10, 10, 0, 10 },
        new float[] { 0, 0, float.PositiveInfinity, 0, 10, 10, 0, 10 },
        new float[] { 0, 0, 1e9f, 0, 1e9f, 1e9f, 0, 1e9f },        // absurdly large
        new float[] { 0.2f, 0.2f, 0.4f, 0.2f, 0.4f, 0.3f, 0.2f, 0.3f }, // sub-pixel
    };

    [Theory]
    [MemberData(nameof(DegenerateQuads))]
    public void DegenerateQuads_DoNotThrow(float[] q)
    {
        using var img = Noise(40, 30, 5);
        Vector2[] quad = [new(q[0], q[1]), new(q[2], q[3]), new(q[4], q[5]), new(q[6], q[7])];
        using var crop = PerspectiveCrop.Crop(img, quad);
        Assert.True(crop.Width >= 1 && crop.Height >= 1);
        Assert.True((long)crop.Width * crop.Height <= 1 << 24);
    }

    [Fact]
    public void FarOutsideQuad_ClampsToEdgePixels()
    {
        using var img = Noise(40, 30, 6);
        using var crop = PerspectiveCrop.Crop(img, [new(-500, -500), new(-400, -500), new(-400, -450), new(-500, -450)]);
        Assert.Equal(Pixel(img, 0, 0), Pixel(crop, 50, 25));
    }

    [Fact]
    public void Homography_MapsTheFourCorners()
    {
        var rng = new Random(11);
        for (var i = 0; i < 200; i++)
        {
            var w = 1 + rng.Next(400);
            var h = 1 + rng.Next(100);
            Vector2[] from = [new(0, 0), new(w, 0), new(w, h), new(0, h)];
            // A random convex-ish quad: jittered corners of a rotated rectangle.
            var rect = Quads.RotatedRect(new Vector2(500, 400), 50 + (float)rng.NextDouble() * 300, 20 + (float)rng.NextDouble() * 100, rng.NextDouble() * 360);
            var to = new Vector2[4];
            for (var k = 0; k < 4; k++) to[k] = rect[k] + new Vector2((float)rng.NextDouble() * 10 - 5, (float)rng.NextDouble() * 10 - 5);

            var m = PerspectiveCrop.Homography(from, to);
            Assert.Equal(9, m.Length);
            Assert.Equal(1.0, m[8]);
            for (var k = 0; k < 4; k++)
            {
                double x = from[k].X, y = from[k].Y;
                var den = m[6] * x + m[7] * y + m[8];
                Assert.Equal(to[k].X, (m[0] * x + m[1] * y + m[2]) / den, 1e-6);
                Assert.Equal(to[k].Y, (m[3] * x + m[4] * y + m[5]) / den, 1e-6);
            }
        }
    }

    [Fact]
    public void Homography_IsExactForAffineCase()
    {
        Vector2[] from = [new(0, 0), new(4, 0), new(4, 2), new(0, 2)];
        Vector2[] to = [new(10, 20), new(18, 20), new(18, 24), new(10, 24)];
        var m = PerspectiveCrop.Homography(from, to);
        double[] expected = [2, 0, 10, 0, 2, 20, 0, 0, 1];
        for (var i = 0; i < 9; i++) Assert.Equal(expected[i], m[i], 1e-9);
    }

    [Fact]
    public void Homography_OfDegenerateQuadThrows()
    {
        Vector2[] from = [new(0, 0), new(4, 0), new(4, 2), new(0, 2)];
        Assert.Throws<ArgumentException>(() => PerspectiveCrop.Homography(from, [new(1, 1), new(1, 1), new(1, 1), new(1, 1)]));
        Assert.Throws<ArgumentException>(() => PerspectiveCrop.Homography(from, [new(0, 0), new(1, 0), new(2, 0), new(3, 0)]));
    }
}
