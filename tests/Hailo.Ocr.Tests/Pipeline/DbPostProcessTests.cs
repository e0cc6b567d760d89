using System.Numerics;
using Hailo.Vision;
using HailoOcr.Pipeline;
using Xunit;

namespace Hailo.Ocr.Tests.Pipeline;

public class DbPostProcessTests
{
    private static readonly DbOptions Defaults = new();

    private sealed class Map(int width, int height, float background = 0.05f)
    {
        public int Width { get; } = width;
        public int Height { get; } = height;
        public float[] Data { get; } = Enumerable.Repeat(background, width * height).ToArray();

        /// <summary>Sets every pixel whose centre lies inside the rotated rectangle.</summary>
        public Map Paint(Vector2 centre, float w, float h, double degrees, float value = 0.9f)
        {
            var a = degrees * Math.PI / 180;
            double c = Math.Cos(a), s = Math.Sin(a);
            for (var y = 0; y < Height; y++)
            for (var x = 0; x < Width; x++)
            {
                double dx = x + 0.5 - centre.X, dy = y + 0.5 - centre.Y;
                double u = dx * c + dy * s, v = -dx * s + dy * c;
                if (Math.Abs(u) < w / 2 && Math.Abs(v) < h / 2) Data[y * Width + x] = value;
            }
            return this;
        }

        /// <summary>Fills pixels [x0, x0+w) × [y0, y0+h).</summary>
        public Map Block(int x0, int y0, int w, int h, float value = 0.9f)
        {
            for (var y = y0; y < y0 + h; y++)
            for (var x = x0; x < x0 + w; x++)
                Data[y * Width + x] = value;
            return this;
        }

        public List<TextBox> Detect(DbOptions? options = null) => DbPostProcess.Detect(Data, Width, Height, options ?? Defaults);
    }

    private static float UnclipDistance(float w, float h) => w * h * 1.5f / (2 * (w + h));

    private static void AssertCorners(Vector2[] expected, Vector2[] actual, float tolerance)
    {
        for (var i = 0; i < 4; i++)
            Assert.True(Vector2.Distance(expected[i], actual[i]) <= tolerance,
                $"corner {i}: expected {expected[i]}, got {actual[i]} (all: {string.Join(" ", actual)})");
    }

    [Fact]
    public void AxisAlignedRectangle_GivesExactUnclippedBox()
    {
        var boxes = new Map(320, 240).Block(50, 100, 160, 40).Detect();
        var box = Assert.Single(boxes);
        var d = UnclipDistance(160, 40);
        Vector2[] expected = [new(50 - d, 100 - d), new(210 + d, 100 - d), new(210 + d, 140 + d), new(50 - d, 140 + d)];
        AssertCorners(expected, box.Corners, 1e-3f);
        Assert.Equal(0.9f, box.Score, 4);
    }

    [Theory]
    [InlineData(10.0)]
    [InlineData(-10.0)]
    [InlineData(30.0)]
    [InlineData(-30.0)]
    [InlineData(3.0)]
    public void RotatedRectangle_GivesAnalyticUnclippedBox(double degrees)
    {
        var centre = new Vector2(200.3f, 150.7f);
        const float w = 160, h = 40;
        var boxes = new Map(400, 300).Paint(centre, w, h, degrees).Detect();
        var box = Assert.Single(boxes);
        var d = UnclipDistance(w, h);
        var expected = Geometry.OrderCorners(Quads.RotatedRect(centre, w + 2 * d, h + 2 * d, degrees));
        AssertCorners(expected, box.Corners, 1f);
        Assert.InRange(box.Score, 0.85f, 0.9001f);
        Assert.Equal(w + 2 * d, Vector2.Distance(box.Corners[0], box.Corners[1]), 1f);
        Assert.Equal(h + 2 * d, Vector2.Distance(box.Corners[0], box.Corners[3]), 1f);
    }

    [Fact]
    public void SeparateRectangles_ComeBackInReadingOrder()
    {
        // The right box starts higher, so raster order finds it first; reading order puts the left one first.
        var map = new Map(500, 300)
            .Block(300, 40, 120, 30)
            .Block(40, 44, 150, 30)
            .Paint(new Vector2(250, 200), 300, 40, -4);
        var boxes = map.Detect();
        Assert.Equal(3, boxes.Count);
        Assert.True(boxes[0].Corners[0].X < 40 && boxes[1].Corners[0].X > 250, "first line left to right");
        Assert.True(boxes[2].Corners[0].Y > 150, "second line last");
        Assert.All(boxes, b => Assert.Equal(0.9f, b.Score, 1));
    }

    [Fact]
    public void LowScoreBlob_IsRejected()
    {
        var map = new Map(200, 100).Block(20, 20, 100, 30, 0.4f);
        Assert.Empty(map.Detect(new DbOptions { Threshold = 0.3f, BoxThreshold = 0.6f }));
        // Same blob passes once the box threshold is below its mean.
        var box = Assert.Single(map.Detect(new DbOptions { Threshold = 0.3f, BoxThreshold = 0.35f }));
        Assert.Equal(0.4f, box.Score, 4);
    }

    [Fact]
    public void BelowThresholdMap_GivesNothing()
    {
        var map = new Map(100, 100).Block(10, 10, 50, 20, 0.3f); // not strictly above the threshold
        Assert.Empty(map.Detect());
    }

    [Fact]
    public void TinySpecks_AreRejected()
    {
        var map = new Map(200, 200)
            .Block(10, 10, 2, 2)
            .Block(50, 10, 1, 1)
            .Block(80, 10, 1, 40)   // a one-pixel-wide line
            .Block(120, 10, 30, 2)  // a two-pixel-high line
            .Block(100, 100, 20, 20);
        var box = Assert.Single(map.Detect());
        Assert.True(box.Corners[0].X < 100 && box.Corners[2].X > 120 && box.Corners[0].Y < 100, "only the 20×20 block");
    }

    [Fact]
    public void MinSize_IsAppliedBeforeUnclip()
    {
        var map = new Map(100, 100).Block(10, 10, 40, 4);
        Assert.Single(map.Detect());
        Assert.Empty(map.Detect(new DbOptions { MinSize = 5 }));
    }

    [Fact]
    public void AllZeroMap_GivesNoBoxes()
    {
        Assert.Empty(DbPostProcess.Detect(new float[64 * 48], 64, 48, Defaults));
    }

    [Fact]
    public void AllOneMap_GivesOneBoxClampedToTheMap()
    {
        const int w = 96, h = 64;
        var box = Assert.Single(DbPostProcess.Detect(Enumerable.Repeat(1f, w * h).ToArray(), w, h, Defaults));
        AssertCorners([new(0, 0), new(w, 0), new(w, h), new(0, h)], box.Corners, 1e-3f);
        Assert.Equal(1f, box.Score);
    }

    [Fact]
    public void BoxesNearTheEdge_AreClampedToBounds()
    {
        var box = Assert.Single(new Map(120, 80).Paint(new Vector2(20, 60), 50, 20, 20).Detect());
        Assert.All(box.Corners, c =>
        {
            Assert.InRange(c.X, 0, 120);
            Assert.InRange(c.Y, 0, 80);
        });
        Assert.Contains(box.Corners, c => c.X == 0);
    }

    [Fact]
    public void MaxCandidates_LimitsRegionsInRasterOrder()
    {
        var map = new Map(300, 400);
        for (var i = 0; i < 6; i++) map.Block(20, 20 + 60 * i, 200, 20);
        Assert.Equal(6, map.Detect().Count);
        var three = map.Detect(new DbOptions { MaxCandidates = 3 });
        Assert.Equal(3, three.Count);
        Assert.All(three, b => Assert.True(b.Corners[2].Y < 20 + 60 * 3, "only the first three rows"));
        Assert.Empty(map.Detect(new DbOptions { MaxCandidates = 0 }));
    }

    [Fact]
    public void MaxCandidates_CountsRejectedRegionsToo()
    {
        // Three specks precede the real box in raster order and use up the candidate budget.
        var map = new Map(100, 100).Block(10, 2, 1, 1).Block(20, 2, 1, 1).Block(30, 2, 1, 1).Block(10, 50, 60, 20);
        Assert.Empty(map.Detect(new DbOptions { MaxCandidates = 3 }));
        Assert.Single(map.Detect(new DbOptions { MaxCandidates = 4 }));
    }

    [Fact]
    public void DiagonalTouch_IsOneRegion_AndHolesAreIgnored()
    {
        // 8-connectivity: two blocks meeting only at a corner pixel form one region.
        var joined = new Map(200, 200).Block(20, 20, 40, 40).Block(60, 60, 40, 40);
        Assert.Single(joined.Detect(new DbOptions { BoxThreshold = 0.3f }));

        // A ring: the outer outline alone defines the box; the hole lowers the score.
        var ring = new Map(200, 200).Block(40, 40, 100, 60).Block(50, 50, 80, 40, 0.05f);
        var box = Assert.Single(ring.Detect(new DbOptions { BoxThreshold = 0.3f }));
        var d = UnclipDistance(100, 60);
        AssertCorners([new(40 - d, 40 - d), new(140 + d, 40 - d), new(140 + d, 100 + d), new(40 - d, 100 + d)], box.Corners, 1e-3f);
        var expectedScore = (0.9f * (6000 - 3200) + 0.05f * 3200) / 6000;
        Assert.Equal(expectedScore, box.Score, 4);
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => DbPostProcess.Detect(new float[10], 4, 4, Defaults));
        Assert.Throws<ArgumentOutOfRangeException>(() => DbPostProcess.Detect(new float[10], -1, 4, Defaults));
        Assert.Empty(DbPostProcess.Detect([], 0, 0, Defaults));
    }

    [Fact]
    public void ManyBoxes_AllFoundInReadingOrder()
    {
        // 20 lines of text-like blocks on a 960×960 map, two per line, slightly tilted.
        var map = new Map(960, 960);
        for (var line = 0; line < 10; line++)
        {
            map.Paint(new Vector2(230, 60 + 90 * line), 380, 36, 2);
            map.Paint(new Vector2(720, 62 + 90 * line), 360, 30, -2);
        }
        var boxes = map.Detect();
        Assert.Equal(20, boxes.Count);
        for (var i = 0; i < 20; i++)
        {
            var c = (boxes[i].Corners[0] + boxes[i].Corners[2]) / 2;
            Assert.Equal(i % 2 == 0 ? 230 : 720, c.X, 1f);
            Assert.Equal(60 + 90 * (i / 2) + 2 * (i % 2), c.Y, 1f);
        }
    }
}
