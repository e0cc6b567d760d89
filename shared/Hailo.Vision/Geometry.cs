using System.Numerics;

namespace Hailo.Vision;

/// <summary>
/// Planar geometry for polygons and rotated boxes (e.g. text boxes) in image coordinates (x right, y down): convex
/// hull, minimum-area rectangle (rotating calipers), corner ordering, area, perimeter and rectangle offsetting.
/// </summary>
public static class Geometry
{
    // Relative tolerance when two candidate top edges are equally well aligned with +x (e.g. a square at 45°).
    private const double AlignmentTieTolerance = 1e-6;

    /// <summary>
    /// Convex hull (Andrew's monotone chain) without duplicate or collinear vertices. Vertices are ordered so the
    /// shoelace signed area is positive: clockwise on screen (y down), i.e. counter-clockwise in y-up math axes.
    /// </summary>
    public static Vector2[] ConvexHull(ReadOnlySpan<Vector2> points)
    {
        if (points.Length == 0) return [];
        var sorted = points.ToArray();
        sorted.AsSpan().Sort(new XyComparer());
        var hull = new Vector2[2 * sorted.Length];
        var n = HullOfSorted(sorted, hull);
        return hull.AsSpan(0, n).ToArray();
    }

    /// <summary>
    /// Minimum-area enclosing rectangle. Corners are ordered TL, TR, BR, BL (see <see cref="OrderCorners"/>);
    /// Width = |TR − TL| and Height = |BL − TL|.
    /// </summary>
    public static (Vector2[] Corners, float Width, float Height) MinAreaRect(ReadOnlySpan<Vector2> points)
    {
        if (points.Length == 0) throw new ArgumentException("at least one point is required", nameof(points));
        var hull = ConvexHull(points);
        var corners = new Vector2[4];
        MinAreaRectOfHull(hull, corners);
        return (corners, Vector2.Distance(corners[0], corners[1]), Vector2.Distance(corners[0], corners[3]));
    }

    /// <summary>
    /// Orders any 4 points as TL, TR, BR, BL: clockwise on screen around their centroid, starting at the vertex whose
    /// outgoing edge points most nearly along +x (on an exact tie, the higher then the more-left start wins).
    /// </summary>
    public static Vector2[] OrderCorners(ReadOnlySpan<Vector2> quad)
    {
        if (quad.Length != 4) throw new ArgumentException("exactly 4 points are required", nameof(quad));
        var result = new Vector2[4];
        OrderCorners(quad, result);
        return result;
    }

    /// <summary>Absolute area of a simple polygon (shoelace formula).</summary>
    public static float PolygonArea(ReadOnlySpan<Vector2> polygon) => (float)Math.Abs(SignedArea(polygon));

    /// <summary>Length of the closed polygon's boundary.</summary>
    public static float Perimeter(ReadOnlySpan<Vector2> polygon)
    {
        if (polygon.Length < 2) return 0f;
        double sum = 0;
        var prev = polygon[^1];
        foreach (var p in polygon)
        {
            double dx = p.X - prev.X, dy = p.Y - prev.Y;
            sum += Math.Sqrt(dx * dx + dy * dy);
            prev = p;
        }
        return (float)sum;
    }

    /// <summary>
    /// Offsets a rectangle (4 corners in cyclic order, e.g. TL, TR, BR, BL) outward by <paramref name="distance"/>
    /// on every side, keeping the corner order; a negative distance shrinks it.
    /// </summary>
    public static Vector2[] ExpandRect(ReadOnlySpan<Vector2> rectCorners, float distance)
    {
        if (rectCorners.Length != 4) throw new ArgumentException("exactly 4 corners are required", nameof(rectCorners));
        var result = new Vector2[4];
        ExpandRect(rectCorners, distance, result);
        return result;
    }

    /// <summary>Allocation-free form; <paramref name="result"/> may alias <paramref name="r"/>.</summary>
    public static void ExpandRect(ReadOnlySpan<Vector2> r, float distance, Span<Vector2> result)
    {
        // Each corner moves by d along both of its edges' outward directions; for a rectangle that offsets every
        // side by exactly d. u and v are the directions away from corner 0 along its two edges.
        double ux = r[1].X - r[0].X, uy = r[1].Y - r[0].Y;
        double vx = r[3].X - r[0].X, vy = r[3].Y - r[0].Y;
        var lu = Math.Sqrt(ux * ux + uy * uy);
        var lv = Math.Sqrt(vx * vx + vy * vy);
        const double eps = 1e-12;
        if (lu > eps && lv > eps)
        {
            ux /= lu; uy /= lu; vx /= lv; vy /= lv;
        }
        else if (lu > eps)
        {
            // Degenerate (zero-height) rectangle: pick the normal that keeps the usual TL,TR,BR,BL orientation.
            ux /= lu; uy /= lu; vx = -uy; vy = ux;
        }
        else if (lv > eps)
        {
            vx /= lv; vy /= lv; ux = vy; uy = -vx;
        }
        else
        {
            ux = 1; uy = 0; vx = 0; vy = 1;
        }
        double d = distance;
        result[0] = new Vector2((float)(r[0].X - d * (ux + vx)), (float)(r[0].Y - d * (uy + vy)));
        result[1] = new Vector2((float)(r[1].X + d * (ux - vx)), (float)(r[1].Y + d * (uy - vy)));
        result[2] = new Vector2((float)(r[2].X + d * (ux + vx)), (float)(r[2].Y + d * (uy + vy)));
        result[3] = new Vector2((float)(r[3].X - d * (ux - vx)), (float)(r[3].Y - d * (uy - vy)));
    }

    public static double SignedArea(ReadOnlySpan<Vector2> polygon)
    {
        if (polygon.Length < 3) return 0;
        double sum = 0;
        var prev = polygon[^1];
        foreach (var p in polygon)
        {
            sum += (double)prev.X * p.Y - (double)p.X * prev.Y;
            prev = p;
        }
        return sum / 2;
    }

    // Exact for float inputs: differences and products of floats fit in a double's mantissa.
    private static double Cross(Vector2 o, Vector2 a, Vector2 b)
        => ((double)a.X - o.X) * ((double)b.Y - o.Y) - ((double)a.Y - o.Y) * ((double)b.X - o.X);

    /// <summary>
    /// Monotone chain over points sorted lexicographically (by x then y, or by y then x: both are monotone orders).
    /// <paramref name="hull"/> needs room for 2·points.Length. Returns the vertex count, positive orientation.
    /// </summary>
    public static int HullOfSorted(ReadOnlySpan<Vector2> sorted, Span<Vector2> hull)
    {
        var n = sorted.Length;
        if (n == 0) return 0;
        if (n == 1)
        {
            hull[0] = sorted[0];
            return 1;
        }
        var k = 0;
        for (var i = 0; i < n; i++)
        {
            while (k >= 2 && Cross(hull[k - 2], hull[k - 1], sorted[i]) <= 0) k--;
            hull[k++] = sorted[i];
        }
        var lower = k + 1;
        for (var i = n - 2; i >= 0; i--)
        {
            while (k >= lower && Cross(hull[k - 2], hull[k - 1], sorted[i]) <= 0) k--;
            hull[k++] = sorted[i];
        }
        k--; // the last point repeats the first
        if (k == 2 && hull[0] == hull[1]) k = 1; // all points identical
        // A (y, x) order mirrors the axes, which flips the chain's turning direction.
        if (k >= 3 && SignedArea(hull[..k]) < 0) hull[..k].Reverse();
        return k;
    }

    /// <summary>
    /// Rotating calipers over a convex hull with positive orientation: for each hull edge, the tightest rectangle
    /// with a side on that edge. Writes corners TL, TR, BR, BL and returns the area.
    /// </summary>
    public static double MinAreaRectOfHull(ReadOnlySpan<Vector2> hull, Span<Vector2> corners)
    {
        var n = hull.Length;
        if (n == 1)
        {
            corners.Fill(hull[0]);
            return 0;
        }
        if (n == 2)
        {
            // A segment: a rectangle of zero thickness whose long side is its "width" or "height" by orientation.
            Vector2 a = hull[0], b = hull[1];
            var d = b - a;
            if (Math.Abs(d.X) >= Math.Abs(d.Y))
            {
                if (a.X > b.X) (a, b) = (b, a);
                corners[0] = a; corners[1] = b; corners[2] = b; corners[3] = a;
            }
            else
            {
                if (a.Y > b.Y) (a, b) = (b, a);
                corners[0] = a; corners[1] = a; corners[2] = b; corners[3] = b;
            }
            return 0;
        }

        // Extremal vertices for the first edge by a full scan; afterwards they only move forward as the edge turns.
        int iMaxU = 0, iMaxN = 0, iMinU = 0;
        EdgeFrame(hull, 0, out var ox, out var oy, out var ux, out var uy);
        double maxU = double.NegativeInfinity, maxN = double.NegativeInfinity, minU = double.PositiveInfinity;
        for (var j = 0; j < n; j++)
        {
            double px = hull[j].X - ox, py = hull[j].Y - oy;
            var pu = px * ux + py * uy;
            var pn = py * ux - px * uy;
            if (pu > maxU) { maxU = pu; iMaxU = j; }
            if (pu < minU) { minU = pu; iMinU = j; }
            if (pn > maxN) { maxN = pn; iMaxN = j; }
        }

        var bestArea = double.PositiveInfinity;
        double bOx = 0, bOy = 0, bUx = 1, bUy = 0, bMinU = 0, bMaxU = 0, bMaxN = 0;
        for (var i = 0; i < n; i++)
        {
            EdgeFrame(hull, i, out ox, out oy, out ux, out uy);
            iMaxU = Advance(hull, iMaxU, ox, oy, ux, uy);
            iMaxN = Advance(hull, iMaxN, ox, oy, -uy, ux);
            iMinU = Advance(hull, iMinU, ox, oy, -ux, -uy);
            maxU = (hull[iMaxU].X - ox) * ux + (hull[iMaxU].Y - oy) * uy;
            minU = (hull[iMinU].X - ox) * ux + (hull[iMinU].Y - oy) * uy;
            maxN = (hull[iMaxN].Y - oy) * ux - (hull[iMaxN].X - ox) * uy;
            var area = (maxU - minU) * maxN;
            if (area < bestArea)
            {
                bestArea = area;
                bOx = ox; bOy = oy; bUx = ux; bUy = uy; bMinU = minU; bMaxU = maxU; bMaxN = maxN;
            }
        }

        // Left normal of the edge points into the hull (positive orientation); the rectangle spans [0, maxN] along it.
        double nx = -bUy, ny = bUx;
        Span<Vector2> rect = stackalloc Vector2[4];
        rect[0] = Point(bOx + bMinU * bUx, bOy + bMinU * bUy);
        rect[1] = Point(bOx + bMaxU * bUx, bOy + bMaxU * bUy);
        rect[2] = Point(bOx + bMaxU * bUx + bMaxN * nx, bOy + bMaxU * bUy + bMaxN * ny);
        rect[3] = Point(bOx + bMinU * bUx + bMaxN * nx, bOy + bMinU * bUy + bMaxN * ny);
        OrderCorners(rect, corners);
        return bestArea;
    }

    private static Vector2 Point(double x, double y) => new((float)x, (float)y);

    private static void EdgeFrame(ReadOnlySpan<Vector2> hull, int i, out double ox, out double oy, out double ux, out double uy)
    {
        var a = hull[i];
        var b = hull[i + 1 == hull.Length ? 0 : i + 1];
        ox = a.X; oy = a.Y;
        ux = (double)b.X - a.X; uy = (double)b.Y - a.Y;
        var len = Math.Sqrt(ux * ux + uy * uy); // > 0: the hull has no duplicate vertices
        ux /= len; uy /= len;
    }

    // Hill-climbs forward along the hull while the projection on (dx, dy) does not decrease; bounded by n steps so
    // rounding ties can never loop.
    private static int Advance(ReadOnlySpan<Vector2> hull, int idx, double ox, double oy, double dx, double dy)
    {
        var n = hull.Length;
        var cur = (hull[idx].X - ox) * dx + (hull[idx].Y - oy) * dy;
        for (var step = 0; step < n; step++)
        {
            var next = idx + 1 == n ? 0 : idx + 1;
            var v = (hull[next].X - ox) * dx + (hull[next].Y - oy) * dy;
            if (v < cur) break;
            idx = next;
            cur = v;
        }
        return idx;
    }

    public static void OrderCorners(ReadOnlySpan<Vector2> quad, Span<Vector2> result)
    {
        double cx = 0, cy = 0;
        for (var i = 0; i < 4; i++) { cx += quad[i].X; cy += quad[i].Y; }
        cx /= 4; cy /= 4;

        // Sort by angle around the centroid; with y down, increasing atan2 is clockwise on screen.
        Span<int> order = [0, 1, 2, 3];
        Span<double> angle = stackalloc double[4];
        for (var i = 0; i < 4; i++) angle[i] = Math.Atan2(quad[i].Y - cy, quad[i].X - cx);
        for (var i = 1; i < 4; i++)
        {
            var cur = order[i];
            var j = i - 1;
            while (j >= 0 && AngleGreater(quad, angle, order[j], cur)) { order[j + 1] = order[j]; j--; }
            order[j + 1] = cur;
        }

        // The top edge (TL→TR) is the edge whose direction has the largest cosine with +x.
        var best = 0;
        var bestCos = double.NegativeInfinity;
        for (var i = 0; i < 4; i++)
        {
            var a = quad[order[i]];
            var b = quad[order[(i + 1) & 3]];
            double dx = (double)b.X - a.X, dy = (double)b.Y - a.Y;
            var len = Math.Sqrt(dx * dx + dy * dy);
            var cos = len > 0 ? dx / len : -2;
            if (cos > bestCos + AlignmentTieTolerance)
            {
                best = i; bestCos = cos;
            }
            else if (cos > bestCos - AlignmentTieTolerance)
            {
                var cur = quad[order[best]];
                if (a.Y < cur.Y || (a.Y == cur.Y && a.X < cur.X))
                {
                    best = i;
                    bestCos = Math.Max(cos, bestCos);
                }
            }
        }
        for (var i = 0; i < 4; i++) result[i] = quad[order[(best + i) & 3]];
    }

    // Total order on angle, then distance and coordinates, so coincident angles still sort deterministically.
    private static bool AngleGreater(ReadOnlySpan<Vector2> quad, ReadOnlySpan<double> angle, int a, int b)
    {
        if (angle[a] != angle[b]) return angle[a] > angle[b];
        if (quad[a].Y != quad[b].Y) return quad[a].Y > quad[b].Y;
        if (quad[a].X != quad[b].X) return quad[a].X > quad[b].X;
        return a > b;
    }

    public readonly struct XyComparer : IComparer<Vector2>
    {
        public int Compare(Vector2 a, Vector2 b)
        {
            var c = a.X.CompareTo(b.X);
            return c != 0 ? c : a.Y.CompareTo(b.Y);
        }
    }
}
