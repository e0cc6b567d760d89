using System.Numerics;
using Hailo.Vision;
using Xunit;

namespace Hailo.Vision.Tests;

/// <summary>Convex hull, minimum-area rectangle, corner order, area, perimeter and rectangle offsets.</summary>
public class GeometryTests
{
    internal static Vector2[] RotatedRect(Vector2 centre, float w, float h, double degrees)
    {
        var a = degrees * Math.PI / 180;
        double c = Math.Cos(a), s = Math.Sin(a);
        Vector2 P(double x, double y) => new((float)(centre.X + x * c - y * s), (float)(centre.Y + x * s + y * c));
        // Unrotated: TL, TR, BR, BL with y down; rotation by a positive angle turns clockwise on screen.
        return [P(-w / 2, -h / 2), P(w / 2, -h / 2), P(w / 2, h / 2), P(-w / 2, h / 2)];
    }

    private static double Cross(Vector2 o, Vector2 a, Vector2 b)
        => ((double)a.X - o.X) * ((double)b.Y - o.Y) - ((double)a.Y - o.Y) * ((double)b.X - o.X);

    private static Vector2[] RandomCloud(Random rng, int n, float spread)
    {
        var pts = new Vector2[n];
        for (var i = 0; i < n; i++)
        {
            // Mix of uniform points and a few integer-gridded ones, which produce duplicates and collinear runs.
            pts[i] = rng.Next(3) == 0
                ? new Vector2(rng.Next(-5, 6), rng.Next(-5, 6))
                : new Vector2((float)(rng.NextDouble() * 2 - 1) * spread, (float)(rng.NextDouble() * 2 - 1) * spread * 0.3f);
        }
        return pts;
    }

    [Fact]
    public void ConvexHull_ContainsAllPointsAndIsStrictlyConvex()
    {
        for (var seed = 0; seed < 300; seed++)
        {
            var rng = new Random(seed);
            var pts = RandomCloud(rng, rng.Next(3, 200), 10 + seed);
            var hull = Geometry.ConvexHull(pts);
            Assert.True(hull.Length >= 3, $"seed {seed}");
            var n = hull.Length;
            for (var i = 0; i < n; i++)
            {
                // Positive orientation (clockwise on screen) and no collinear or repeated vertices.
                Assert.True(Cross(hull[i], hull[(i + 1) % n], hull[(i + 2) % n]) > 0, $"seed {seed}: not strictly convex at {i}");
                Assert.Contains(hull[i], pts);
            }
            foreach (var p in pts)
                for (var i = 0; i < n; i++)
                    Assert.True(Cross(hull[i], hull[(i + 1) % n], p) >= -1e-9, $"seed {seed}: {p} outside edge {i}");
            Assert.True(Geometry.SignedArea(hull) > 0);
        }
    }

    [Fact]
    public void ConvexHull_DegenerateInputs()
    {
        Assert.Empty(Geometry.ConvexHull([]));
        Assert.Equal([new Vector2(3, 4)], Geometry.ConvexHull([new Vector2(3, 4)]));
        Assert.Equal([new Vector2(3, 4)], Geometry.ConvexHull([new Vector2(3, 4), new Vector2(3, 4), new Vector2(3, 4)]));
        var line = Geometry.ConvexHull([new Vector2(2, 2), new Vector2(0, 0), new Vector2(1, 1), new Vector2(3, 3), new Vector2(1, 1)]);
        Assert.Equal(2, line.Length);
        Assert.Contains(new Vector2(0, 0), line);
        Assert.Contains(new Vector2(3, 3), line);
    }

    [Fact]
    public void ConvexHull_DropsInteriorAndEdgePoints()
    {
        Vector2[] pts = [new(0, 0), new(2, 0), new(4, 0), new(4, 3), new(2, 1), new(0, 3), new(1, 3), new(4, 1)];
        var hull = Geometry.ConvexHull(pts);
        Assert.Equal(4, hull.Length);
        Assert.Equal(12f, Geometry.PolygonArea(hull));
        // Positive shoelace orientation: on screen (y down), (0,0) → (4,0) → (4,3) → (0,3) order.
        var start = Array.IndexOf(hull, new Vector2(0, 0));
        Assert.Equal(new Vector2(4, 0), hull[(start + 1) % 4]);
        Assert.Equal(new Vector2(4, 3), hull[(start + 2) % 4]);
    }

    public static TheoryData<float> AspectRatios => [1f, 2f, 5f, 12f];

    [Theory]
    [MemberData(nameof(AspectRatios))]
    public void MinAreaRect_RecoversRotatedRectangles(float aspect)
    {
        var rng = new Random((int)(aspect * 1000));
        for (var deg = 0.0; deg < 180; deg += 2.5)
        {
            var h = 5f + (float)rng.NextDouble() * 40;
            var w = h * aspect;
            var centre = new Vector2((float)rng.NextDouble() * 500, (float)rng.NextDouble() * 500);
            var rect = RotatedRect(centre, w, h, deg + rng.NextDouble() * 0.1);
            // Corners plus points inside, in random order.
            var pts = new List<Vector2>(rect);
            for (var i = 0; i < 30; i++)
            {
                double a = rng.NextDouble(), b = rng.NextDouble();
                pts.Add(Vector2.Lerp(Vector2.Lerp(rect[0], rect[1], (float)a), Vector2.Lerp(rect[3], rect[2], (float)a), (float)b));
            }
            Shuffle(rng, pts);

            var (corners, rw, rh) = Geometry.MinAreaRect(pts.ToArray());
            var tol = 1e-3f * w;
            Assert.InRange(Math.Max(rw, rh), w - tol, w + tol);
            Assert.InRange(Math.Min(rw, rh), h - tol, h + tol);
            foreach (var expected in rect)
                Assert.True(corners.Any(c => Vector2.Distance(c, expected) <= tol), $"{deg}°: corner {expected} not found in {string.Join(" ", corners)}");
            Assert.Equal(rw, Vector2.Distance(corners[0], corners[1]), 3);
            Assert.Equal(rh, Vector2.Distance(corners[0], corners[3]), 3);
            Assert.Equal(corners, Geometry.OrderCorners(corners)); // already TL, TR, BR, BL
        }
    }

    [Fact]
    public void MinAreaRect_IsMinimalAndEnclosing()
    {
        for (var seed = 0; seed < 300; seed++)
        {
            var rng = new Random(1000 + seed);
            var pts = RandomCloud(rng, rng.Next(1, 120), 5 + seed % 50);
            var (corners, w, h) = Geometry.MinAreaRect(pts);
            double area = (double)w * h;

            float minX = float.MaxValue, minY = float.MaxValue, maxX = float.MinValue, maxY = float.MinValue;
            foreach (var p in pts)
            {
                minX = Math.Min(minX, p.X); maxX = Math.Max(maxX, p.X);
                minY = Math.Min(minY, p.Y); maxY = Math.Max(maxY, p.Y);
            }
            var aabb = (double)(maxX - minX) * (maxY - minY);
            Assert.True(area <= aabb * (1 + 1e-5) + 1e-6, $"seed {seed}: {area} > bounding box {aabb}");

            // Brute force over every hull edge direction must not find anything smaller.
            var hull = Geometry.ConvexHull(pts);
            if (hull.Length >= 3)
            {
                var best = double.MaxValue;
                for (var i = 0; i < hull.Length; i++)
                {
                    var q = hull[(i + 1) % hull.Length];
                    double ux = (double)q.X - hull[i].X, uy = (double)q.Y - hull[i].Y;
                    var len = Math.Sqrt(ux * ux + uy * uy);
                    ux /= len; uy /= len;
                    double lo = double.MaxValue, hi = double.MinValue, lo2 = double.MaxValue, hi2 = double.MinValue;
                    foreach (var p in hull)
                    {
                        double a = p.X * ux + p.Y * uy, b = p.Y * ux - p.X * uy;
                        lo = Math.Min(lo, a); hi = Math.Max(hi, a); lo2 = Math.Min(lo2, b); hi2 = Math.Max(hi2, b);
                    }
                    best = Math.Min(best, (hi - lo) * (hi2 - lo2));
                }
                Assert.True(Math.Abs(area - best) <= 1e-4 * Math.Max(best, 1), $"seed {seed}: {area} vs brute force {best}");
            }

            // Every point lies inside the rectangle (positive orientation: left of each edge).
            var tol = 1e-3 * (1 + Math.Max(w, h));
            foreach (var p in pts)
                for (var i = 0; i < 4; i++)
                    Assert.True(Cross(corners[i], corners[(i + 1) % 4], p) / Math.Max(1e-9, Vector2.Distance(corners[i], corners[(i + 1) % 4])) >= -tol
                        || Vector2.Distance(corners[i], corners[(i + 1) % 4]) < 1e-6,
                        $"seed {seed}: {p} outside");
        }
    }

    [Fact]
    public void MinAreaRect_DegenerateInputs()
    {
        var (c, w, h) = Geometry.MinAreaRect([new Vector2(5, 6)]);
        Assert.All(c, p => Assert.Equal(new Vector2(5, 6), p));
        Assert.Equal(0, w);
        Assert.Equal(0, h);

        (c, w, h) = Geometry.MinAreaRect([new Vector2(10, 2), new Vector2(0, 2), new Vector2(4, 2)]);
        Assert.Equal([new Vector2(0, 2), new Vector2(10, 2), new Vector2(10, 2), new Vector2(0, 2)], c);
        Assert.Equal(10, w);
        Assert.Equal(0, h);

        (c, w, h) = Geometry.MinAreaRect([new Vector2(1, 9), new Vector2(1, 0)]);
        Assert.Equal([new Vector2(1, 0), new Vector2(1, 0), new Vector2(1, 9), new Vector2(1, 9)], c);
        Assert.Equal(0, w);
        Assert.Equal(9, h);

        Assert.Throws<ArgumentException>(() => Geometry.MinAreaRect([]));
    }

    [Fact]
    public void OrderCorners_ShuffledCornersOfRotatedRectangles()
    {
        var rng = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            // Within ±44° the rectangle's own top-left is the TL corner.
            var deg = rng.NextDouble() * 88 - 44;
            var w = 5 + (float)rng.NextDouble() * 100;
            var h = 5 + (float)rng.NextDouble() * 100;
            var rect = RotatedRect(new Vector2(50, 80), w, h, deg);
            var shuffled = rect.ToList();
            Shuffle(rng, shuffled);
            Assert.Equal(rect, Geometry.OrderCorners(shuffled.ToArray()));
        }
    }

    [Fact]
    public void OrderCorners_AnyAngleStartsAtEdgeClosestToPlusX()
    {
        var rng = new Random(8);
        for (var i = 0; i < 200; i++)
        {
            var deg = rng.NextDouble() * 360;
            var rect = RotatedRect(new Vector2(0, 0), 30, 10, deg);
            var shuffled = rect.ToList();
            Shuffle(rng, shuffled);
            var o = Geometry.OrderCorners(shuffled.ToArray());

            // A cyclic rotation of the clockwise-on-screen order...
            var start = Array.IndexOf(rect, o[0]);
            for (var k = 0; k < 4; k++) Assert.Equal(rect[(start + k) % 4], o[k]);
            // ...whose TL→TR edge has the largest x component among the four edge directions.
            var top = Vector2.Normalize(o[1] - o[0]).X;
            for (var k = 1; k < 4; k++) Assert.True(top >= Vector2.Normalize(o[(k + 1) % 4] - o[k]).X - 1e-6f);
        }
    }

    [Fact]
    public void OrderCorners_AxisAlignedAndDiamond()
    {
        Vector2[] rect = [new(0, 0), new(4, 0), new(4, 2), new(0, 2)];
        Assert.Equal(rect, Geometry.OrderCorners([rect[2], rect[0], rect[3], rect[1]]));
        // A square at exactly 45°: two edges tie for "most along +x"; the higher start vertex wins.
        Vector2[] diamond = [new(0, -1), new(1, 0), new(0, 1), new(-1, 0)];
        Assert.Equal(diamond, Geometry.OrderCorners([diamond[3], diamond[1], diamond[0], diamond[2]]));
        Assert.Throws<ArgumentException>(() => Geometry.OrderCorners(rect.AsSpan(0, 3)));
    }

    [Fact]
    public void ExpandRect_GrowsEachSideByTwiceDistance()
    {
        var rng = new Random(9);
        for (var i = 0; i < 200; i++)
        {
            var w = 1 + (float)rng.NextDouble() * 200;
            var h = 1 + (float)rng.NextDouble() * 50;
            var d = (float)rng.NextDouble() * 30;
            var deg = rng.NextDouble() * 360;
            var centre = new Vector2(100, 100);
            var rect = Geometry.OrderCorners(RotatedRect(centre, w, h, deg));
            var bigger = Geometry.ExpandRect(rect, d);
            var tol = 1e-3f;
            Assert.Equal(Vector2.Distance(rect[0], rect[1]) + 2 * d, Vector2.Distance(bigger[0], bigger[1]), tol);
            Assert.Equal(Vector2.Distance(rect[1], rect[2]) + 2 * d, Vector2.Distance(bigger[1], bigger[2]), tol);
            Assert.Equal(Vector2.Distance(rect[2], rect[3]) + 2 * d, Vector2.Distance(bigger[2], bigger[3]), tol);
            Assert.Equal(Vector2.Distance(rect[3], rect[0]) + 2 * d, Vector2.Distance(bigger[3], bigger[0]), tol);
            // Each side moved outward by exactly d: its distance to the original side's line.
            for (var k = 0; k < 4; k++)
            {
                var a = rect[k];
                var u = Vector2.Normalize(rect[(k + 1) % 4] - a);
                var outward = new Vector2(u.Y, -u.X); // right of the edge is outside for positive orientation
                Assert.Equal(d, Vector2.Dot(bigger[k] - a, outward), tol);
                Assert.Equal(d, Vector2.Dot(bigger[(k + 1) % 4] - a, outward), tol);
            }
            Assert.Equal(bigger, Geometry.OrderCorners(bigger)); // order kept
            var shrunk = Geometry.ExpandRect(bigger, -d);
            for (var k = 0; k < 4; k++) Assert.True(Vector2.Distance(rect[k], shrunk[k]) < 1e-3f);
        }
    }

    [Fact]
    public void ExpandRect_DegenerateRectangles()
    {
        var p = new Vector2(5, 5);
        var square = Geometry.ExpandRect([p, p, p, p], 2);
        Assert.Equal([new Vector2(3, 3), new Vector2(7, 3), new Vector2(7, 7), new Vector2(3, 7)], square);
        var flat = Geometry.ExpandRect([new Vector2(0, 0), new Vector2(10, 0), new Vector2(10, 0), new Vector2(0, 0)], 1);
        Assert.Equal([new Vector2(-1, -1), new Vector2(11, -1), new Vector2(11, 1), new Vector2(-1, 1)], flat);
    }

    [Fact]
    public void AreaAndPerimeter()
    {
        Vector2[] rect = [new(1, 1), new(5, 1), new(5, 4), new(1, 4)];
        Assert.Equal(12f, Geometry.PolygonArea(rect));
        Assert.Equal(12f, Geometry.PolygonArea([rect[3], rect[2], rect[1], rect[0]]));
        Assert.Equal(14f, Geometry.Perimeter(rect));
        Assert.Equal(6f, Geometry.PolygonArea([new Vector2(0, 0), new Vector2(4, 0), new Vector2(0, 3)]));
        Assert.Equal(12f, Geometry.Perimeter([new Vector2(0, 0), new Vector2(4, 0), new Vector2(0, 3)]));
        Assert.Equal(0f, Geometry.PolygonArea([new Vector2(0, 0), new Vector2(4, 0)]));
        var rotated = RotatedRect(new Vector2(10, 10), 7, 3, 33);
        Assert.Equal(21f, Geometry.PolygonArea(rotated), 3);
        Assert.Equal(20f, Geometry.Perimeter(rotated), 3);
    }

    internal static void Shuffle<T>(Random rng, List<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
