using System.Buffers;
using System.Numerics;
using Hailo.Vision;

namespace HailoOcr.Pipeline;

/// <summary>
/// A detected text region: 4 corners ordered top-left, top-right, bottom-right, bottom-left (clockwise in image
/// coordinates, y down), and the mean probability inside it.
/// </summary>
public sealed record TextBox(Vector2[] Corners, float Score);

/// <summary>Thresholds of the DB (differentiable binarisation) post-processing.</summary>
public sealed record DbOptions
{
    /// <summary>Binarisation threshold of the probability map.</summary>
    public float Threshold { get; init; } = 0.3f;
    /// <summary>Minimum mean probability inside a candidate.</summary>
    public float BoxThreshold { get; init; } = 0.6f;
    /// <summary>Expansion: distance = area * ratio / perimeter.</summary>
    public float UnclipRatio { get; init; } = 1.5f;
    /// <summary>Connected regions examined at most (in raster order of their first pixel).</summary>
    public int MaxCandidates { get; init; } = 1000;
    /// <summary>Shorter side of a box, in map pixels, before unclip (and MinSize + 2 after).</summary>
    public float MinSize { get; init; } = 3f;
}

/// <summary>
/// Turns a DB probability map into rotated text boxes: binarise, 8-connected regions, minimum-area rectangle,
/// mean-probability score, unclip (offset by area·ratio/perimeter).
/// </summary>
/// <remarks>
/// Coordinates are continuous with pixel (x, y) covering [x, x+1] × [y, y+1], so a caller scales them to the
/// source image by multiplying with image size / map size, and a map-filling region spans [0, width] × [0, height].
/// </remarks>
public static class DbPostProcess
{
    private const byte Background = 0, Foreground = 1, Visited = 2;

    /// <summary>Boxes in probability-map pixel coordinates (x right, y down), sorted by <see cref="ReadingOrder"/>.</summary>
    public static List<TextBox> Detect(ReadOnlySpan<float> probabilities, int width, int height, DbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        if (probabilities.Length < (long)width * height)
            throw new ArgumentException($"expected {(long)width * height} probabilities, got {probabilities.Length}", nameof(probabilities));
        var boxes = new List<TextBox>();
        if (width == 0 || height == 0 || options.MaxCandidates <= 0) return boxes;

        // The binary map carries a one-pixel background border so neighbour lookups never need bounds checks.
        var pw = width + 2;
        var ph = height + 2;
        if ((long)pw * ph > Array.MaxLength) throw new ArgumentException("probability map too large", nameof(probabilities));
        var stateArr = ArrayPool<byte>.Shared.Rent(pw * ph);
        var rowMinArr = ArrayPool<int>.Shared.Rent(height);
        var rowMaxArr = ArrayPool<int>.Shared.Rent(height);
        var pointsArr = ArrayPool<Vector2>.Shared.Rent(2 * height);
        var hullArr = ArrayPool<Vector2>.Shared.Rent(4 * height);
        var stack = new IntStack(256);
        try
        {
            var state = stateArr.AsSpan(0, pw * ph);
            Binarise(probabilities, width, height, options.Threshold, state);
            var rowMin = rowMinArr.AsSpan(0, height);
            var rowMax = rowMaxArr.AsSpan(0, height);
            rowMin.Fill(int.MaxValue);
            rowMax.Fill(int.MinValue);
            Span<Vector2> rect = stackalloc Vector2[4];
            Span<Vector2> expanded = stackalloc Vector2[4];

            var candidates = 0;
            var pos = 0;
            while (candidates < options.MaxCandidates)
            {
                var found = state[pos..].IndexOf(Foreground);
                if (found < 0) break;
                pos += found;
                candidates++;

                Fill(state, pw, pos, ref stack, rowMin, rowMax, out var yMin, out var yMax);

                // Pixel centres of each row's extreme pixels: their hull is the hull of the region's centres.
                var np = 0;
                var spanArea = 0;
                for (var y = yMin; y <= yMax; y++)
                {
                    spanArea += rowMax[y] - rowMin[y] + 1;
                    float cy = y + 0.5f;
                    pointsArr[np++] = new Vector2(rowMin[y] + 0.5f, cy);
                    if (rowMax[y] != rowMin[y]) pointsArr[np++] = new Vector2(rowMax[y] + 0.5f, cy);
                    rowMin[y] = int.MaxValue;
                    rowMax[y] = int.MinValue;
                }
                if (np < 4) continue; // too few outline points for a box: a pixel or a short line

                // Points are in (y, x) lexicographic order already, so no sort is needed.
                var nh = Geometry.HullOfSorted(pointsArr.AsSpan(0, np), hullArr);
                Geometry.MinAreaRectOfHull(hullArr.AsSpan(0, nh), rect);
                Geometry.ExpandRect(rect, OutlineMargin(rect, spanArea), rect);
                float w = Vector2.Distance(rect[0], rect[1]), h = Vector2.Distance(rect[0], rect[3]);
                if (MathF.Min(w, h) < options.MinSize) continue;

                var score = MeanInside(probabilities, width, height, rect);
                if (score < options.BoxThreshold) continue;

                // Unclip. Offsetting a rectangle with round joins and taking the new minimum-area rectangle is the
                // same rectangle grown by the offset distance on every side.
                var perimeter = 2 * (w + h);
                var distance = perimeter > 0 ? w * h * options.UnclipRatio / perimeter : 0f;
                if (MathF.Min(w, h) + 2 * distance < options.MinSize + 2) continue;
                Geometry.ExpandRect(rect, distance, expanded);

                var corners = new Vector2[4];
                for (var i = 0; i < 4; i++)
                    corners[i] = Vector2.Clamp(expanded[i], Vector2.Zero, new Vector2(width, height));
                boxes.Add(new TextBox(corners, score));
            }
        }
        finally
        {
            stack.Dispose();
            ArrayPool<Vector2>.Shared.Return(hullArr);
            ArrayPool<Vector2>.Shared.Return(pointsArr);
            ArrayPool<int>.Shared.Return(rowMaxArr);
            ArrayPool<int>.Shared.Return(rowMinArr);
            ArrayPool<byte>.Shared.Return(stateArr);
        }
        ReadingOrder.Sort(boxes);
        return boxes;
    }

    private static void Binarise(ReadOnlySpan<float> probabilities, int width, int height, float threshold, Span<byte> state)
    {
        var pw = width + 2;
        state[..pw].Clear();
        state[((height + 1) * pw)..].Clear();
        var vt = new Vector<float>(threshold);
        var lanes = Vector<float>.Count;
        for (var y = 0; y < height; y++)
        {
            var src = probabilities.Slice(y * width, width);
            var row = state.Slice((y + 1) * pw, pw);
            row[0] = Background;
            row[^1] = Background;
            var dst = row.Slice(1, width);
            var x = 0;
            // Four float vectors compare to four int masks (−1/0), which narrow to one byte vector; & 1 gives 0/1.
            for (; x <= width - 4 * lanes; x += 4 * lanes)
            {
                var m0 = Vector.GreaterThan(new Vector<float>(src.Slice(x)), vt);
                var m1 = Vector.GreaterThan(new Vector<float>(src.Slice(x + lanes)), vt);
                var m2 = Vector.GreaterThan(new Vector<float>(src.Slice(x + 2 * lanes)), vt);
                var m3 = Vector.GreaterThan(new Vector<float>(src.Slice(x + 3 * lanes)), vt);
                var bytes = Vector.AsVectorByte(Vector.Narrow(Vector.Narrow(m0, m1), Vector.Narrow(m2, m3)));
                (bytes & Vector<byte>.One).CopyTo(dst.Slice(x));
            }
            for (; x < width; x++) dst[x] = src[x] > threshold ? Foreground : Background;
        }
    }

    /// <summary>
    /// Scan-line flood fill (8-connected) from <paramref name="seed"/>, marking pixels visited and recording each
    /// row's leftmost and rightmost pixel (map coordinates).
    /// </summary>
    private static void Fill(Span<byte> state, int pw, int seed, ref IntStack stack, Span<int> rowMin, Span<int> rowMax,
        out int yMin, out int yMax)
    {
        yMin = int.MaxValue;
        yMax = int.MinValue;
        stack.Push(seed);
        while (stack.TryPop(out var idx))
        {
            if (state[idx] != Foreground) continue;
            // The padding border stops both searches within the row.
            var l = state[..idx].LastIndexOfAnyExcept(Foreground) + 1;
            var r = idx + state[idx..].IndexOfAnyExcept(Foreground) - 1;
            state[l..(r + 1)].Fill(Visited);

            var py = l / pw;
            var xl = l - py * pw - 1;
            var xr = r - py * pw - 1;
            var y = py - 1;
            if (xl < rowMin[y]) rowMin[y] = xl;
            if (xr > rowMax[y]) rowMax[y] = xr;
            if (y < yMin) yMin = y;
            if (y > yMax) yMax = y;

            // Diagonal neighbours count, so the rows above and below are scanned one pixel wider on each side.
            ScanRow(state, l - pw - 1, r - pw + 1, ref stack);
            ScanRow(state, l + pw - 1, r + pw + 1, ref stack);
        }
    }

    /// <summary>
    /// How far the region's true outline lies outside the rectangle through its outermost pixel centres.
    /// </summary>
    /// <remarks>
    /// An edge along the pixel grid lies half a pixel beyond its centres, while an oblique edge has centres
    /// arbitrarily close to it, so no fixed margin suits both: the margin is chosen so that the rectangle's area
    /// equals the region's area, (w + 2e)(h + 2e) = A, within [0, ½]. A counts each row from its leftmost to its
    /// rightmost pixel, so holes do not shrink it. Crisp rectangles come out exact at any angle; ragged regions tend
    /// to 0, the pixel-centre outline.
    /// </remarks>
    private static float OutlineMargin(ReadOnlySpan<Vector2> rect, int area)
    {
        double w = Vector2.Distance(rect[0], rect[1]), h = Vector2.Distance(rect[0], rect[3]);
        var e = (Math.Sqrt((w - h) * (w - h) + 4.0 * area) - (w + h)) / 4;
        return (float)Math.Clamp(e, 0, 0.5);
    }

    private static void ScanRow(Span<byte> state, int from, int to, ref IntStack stack)
    {
        // One seed per run of unvisited foreground; the popped seed extends to the whole run.
        var row = state[from..(to + 1)];
        var i = 0;
        while (true)
        {
            var start = row[i..].IndexOf(Foreground);
            if (start < 0) return;
            i += start;
            stack.Push(from + i);
            var end = row[i..].IndexOfAnyExcept(Foreground);
            if (end < 0) return;
            i += end;
        }
    }

    /// <summary>Mean probability over the pixels whose centres lie inside the convex quad, clipped to the map.</summary>
    private static float MeanInside(ReadOnlySpan<float> probabilities, int width, int height, ReadOnlySpan<Vector2> quad)
    {
        float minY = quad[0].Y, maxY = quad[0].Y;
        for (var i = 1; i < 4; i++)
        {
            minY = MathF.Min(minY, quad[i].Y);
            maxY = MathF.Max(maxY, quad[i].Y);
        }
        // Rows whose centre y + 0.5 lies in [minY, maxY].
        var y0 = Math.Max(0, (int)MathF.Ceiling(minY - 0.5f));
        var y1 = Math.Min(height - 1, (int)MathF.Floor(maxY - 0.5f));
        double sum = 0;
        long count = 0;
        for (var y = y0; y <= y1; y++)
        {
            var cy = y + 0.5f;
            // Intersect the horizontal line through the pixel centres with the quad's edges.
            var xa = float.PositiveInfinity;
            var xb = float.NegativeInfinity;
            for (var i = 0; i < 4; i++)
            {
                var a = quad[i];
                var b = quad[(i + 1) & 3];
                if ((a.Y <= cy && b.Y >= cy) || (b.Y <= cy && a.Y >= cy))
                {
                    float x;
                    if (a.Y == b.Y)
                    {
                        xa = MathF.Min(xa, MathF.Min(a.X, b.X));
                        xb = MathF.Max(xb, MathF.Max(a.X, b.X));
                        continue;
                    }
                    x = a.X + (cy - a.Y) * (b.X - a.X) / (b.Y - a.Y);
                    xa = MathF.Min(xa, x);
                    xb = MathF.Max(xb, x);
                }
            }
            if (xa > xb) continue;
            var x0 = Math.Max(0, (int)MathF.Ceiling(xa - 0.5f));
            var x1 = Math.Min(width - 1, (int)MathF.Floor(xb - 0.5f));
            if (x0 > x1) continue;
            var row = probabilities.Slice(y * width + x0, x1 - x0 + 1);
            sum += Sum(row);
            count += row.Length;
        }
        if (count == 0)
        {
            // A sliver that covers no pixel centre: fall back to the pixel under its centre.
            var c = (quad[0] + quad[1] + quad[2] + quad[3]) / 4;
            var cx = Math.Clamp((int)MathF.Floor(c.X), 0, width - 1);
            var cyi = Math.Clamp((int)MathF.Floor(c.Y), 0, height - 1);
            return probabilities[cyi * width + cx];
        }
        return (float)(sum / count);
    }

    private static float Sum(ReadOnlySpan<float> values)
    {
        var acc = Vector<float>.Zero;
        var i = 0;
        for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count) acc += new Vector<float>(values.Slice(i));
        var sum = Vector.Sum(acc);
        for (; i < values.Length; i++) sum += values[i];
        return sum;
    }

    /// <summary>Growable stack of pixel indices backed by pooled arrays.</summary>
    private struct IntStack(int capacity) : IDisposable
    {
        private int[] _items = ArrayPool<int>.Shared.Rent(capacity);
        private int _count;

        public void Push(int value)
        {
            if (_count == _items.Length)
            {
                var bigger = ArrayPool<int>.Shared.Rent(_items.Length * 2);
                _items.AsSpan(0, _count).CopyTo(bigger);
                ArrayPool<int>.Shared.Return(_items);
                _items = bigger;
            }
            _items[_count++] = value;
        }

        public bool TryPop(out int value)
        {
            if (_count == 0)
            {
                value = 0;
                return false;
            }
            value = _items[--_count];
            return true;
        }

        public void Dispose()
        {
            if (_items.Length > 0) ArrayPool<int>.Shared.Return(_items);
            _items = [];
        }
    }
}
