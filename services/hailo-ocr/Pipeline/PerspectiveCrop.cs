using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using Hailo.Media;

namespace HailoOcr.Pipeline;

/// <summary>
/// Cuts a text quad out of an image and warps it to an upright rectangle for recognition.
/// </summary>
/// <remarks>
/// Coordinates are continuous with pixel (x, y) covering [x, x+1] × [y, y+1] (the convention of
/// <see cref="DbPostProcess"/>), so an axis-aligned quad with integer corners yields exactly those pixels.
/// </remarks>
public static class PerspectiveCrop
{
    // Guards against absurd quads (e.g. from a corrupt model output) allocating gigabytes.
    private const int MaxSide = 16384;
    private const long MaxPixels = 1L << 24;

    /// <summary>
    /// Warps the quad (TL, TR, BR, BL in image pixels) to an upright rectangle of width max(|TL−TR|, |BL−BR|) and
    /// height max(|TL−BL|, |TR−BR|) (at least 1), bilinear sampling, edge-clamped. If height/width ≥ 1.5 the result
    /// is rotated 90° counter-clockwise so vertical text lies horizontal (PaddleOCR's convention).
    /// </summary>
    public static RgbaImage Crop(RgbaImage image, ReadOnlySpan<Vector2> quad)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (quad.Length != 4) throw new ArgumentException("exactly 4 corners are required", nameof(quad));

        var w = Side(Math.Max(Vector2.Distance(quad[0], quad[1]), Vector2.Distance(quad[3], quad[2])));
        var h = Side(Math.Max(Vector2.Distance(quad[0], quad[3]), Vector2.Distance(quad[1], quad[2])));
        if ((long)w * h > MaxPixels)
        {
            var s = Math.Sqrt((double)MaxPixels / ((long)w * h));
            w = Math.Max(1, (int)(w * s));
            h = Math.Max(1, (int)(h * s));
        }

        Span<Vector2> rect = [new(0, 0), new(w, 0), new(w, h), new(0, h)];
        var m = new double[9];
        var projective = TryHomography(rect, quad, m);
        Vector2 q0 = quad[0], q1 = quad[1], q2 = quad[2], q3 = quad[3];
        var finite = true;
        foreach (var p in quad) finite &= float.IsFinite(p.X) && float.IsFinite(p.Y);

        // Source position of unrotated-rectangle point (u, v) as homogeneous (x·d, y·d, d).
        (double X, double Y, double D) Map(double u, double v)
        {
            if (!finite) return (0, 0, 1);
            if (projective) return (m[0] * u + m[1] * v + m[2], m[3] * u + m[4] * v + m[5], m[6] * u + m[7] * v + m[8]);
            // Degenerate quad (collinear or coincident corners): a bilinear patch is always defined.
            double a = u / w, b = v / h;
            return ((1 - a) * (1 - b) * q0.X + a * (1 - b) * q1.X + a * b * q2.X + (1 - a) * b * q3.X,
                (1 - a) * (1 - b) * q0.Y + a * (1 - b) * q1.Y + a * b * q2.Y + (1 - a) * b * q3.Y, 1);
        }

        var rotate = (double)h / w >= 1.5;
        int outW = rotate ? h : w, outH = rotate ? w : h;
        var byteCount = outW * outH * 4;
        var buffer = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            var dst = buffer.AsSpan(0, byteCount);
            // Image properties call into SkiaSharp; read them once, not per pixel.
            var src = image.Pixels;
            var stride = image.RowBytes;
            var imageW = image.Width;
            var imageH = image.Height;
            for (var oy = 0; oy < outH; oy++)
            {
                // Rotating the result 90° CCW puts unrotated (u, v) at output (v, w − u). Either way the mapping's
                // numerators and denominator are linear along an output row, so only two points per row are mapped.
                var (ax, ay, ad) = rotate ? Map(w - (oy + 0.5), 0.5) : Map(0.5, oy + 0.5);
                var (bx, by, bd) = rotate ? Map(w - (oy + 0.5), 1.5) : Map(1.5, oy + 0.5);
                double dx = bx - ax, dy = by - ay, dd = bd - ad;
                var outRow = dst.Slice(oy * outW * 4, outW * 4);
                for (var ox = 0; ox < outW; ox++)
                {
                    var inv = 1 / (ad + ox * dd);
                    Sample(src, stride, imageW, imageH, (ax + ox * dx) * inv, (ay + ox * dy) * inv, outRow.Slice(ox * 4, 4));
                }
            }
            return RgbaImage.FromRgba(dst, outW, outH);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int Side(float length)
    {
        if (!float.IsFinite(length)) return 1;
        return (int)Math.Clamp(MathF.Round(length), 1f, MaxSide);
    }

    /// <summary>Bilinear sample at continuous (x, y), i.e. pixel-index position (x − 0.5, y − 0.5), edges clamped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sample(ReadOnlySpan<byte> src, int stride, int width, int height, double x, double y, Span<byte> rgba)
    {
        // Clamp before converting to int; NaN (a denominator of 0 in a folded quad) falls back to the first pixel.
        var fx = Math.Clamp(x - 0.5, 0, width - 1);
        var fy = Math.Clamp(y - 0.5, 0, height - 1);
        if (double.IsNaN(fx)) fx = 0;
        if (double.IsNaN(fy)) fy = 0;
        var x0 = (int)fx;
        var y0 = (int)fy;
        var ax = (float)(fx - x0);
        var ay = (float)(fy - y0);
        var i00 = y0 * stride + x0 * 4;
        var i01 = x0 + 1 < width ? i00 + 4 : i00;
        var down = y0 + 1 < height ? stride : 0;
        for (var c = 0; c < 3; c++)
        {
            float p00 = src[i00 + c], p01 = src[i01 + c], p10 = src[i00 + down + c], p11 = src[i01 + down + c];
            var top = p00 + (p01 - p00) * ax;
            var bottom = p10 + (p11 - p10) * ax;
            rgba[c] = (byte)(top + (bottom - top) * ay + 0.5f);
        }
        rgba[3] = 255;
    }

    /// <summary>
    /// The 3×3 homography mapping each <paramref name="from"/> corner to the matching <paramref name="to"/> corner
    /// (used as dst rectangle → src quad), row-major with h[8] = 1.
    /// </summary>
    /// <exception cref="ArgumentException">The corners are degenerate (three collinear), so no homography exists.</exception>
    internal static double[] Homography(ReadOnlySpan<Vector2> from, ReadOnlySpan<Vector2> to)
    {
        var h = new double[9];
        if (!TryHomography(from, to, h)) throw new ArgumentException("degenerate quadrilateral: no unique homography");
        return h;
    }

    internal static bool TryHomography(ReadOnlySpan<Vector2> from, ReadOnlySpan<Vector2> to, Span<double> h)
    {
        if (from.Length != 4 || to.Length != 4) throw new ArgumentException("exactly 4 point pairs are required");
        // Each pair (x, y) → (X, Y) gives two linear equations in h0..h7 (h8 = 1):
        //   h0 x + h1 y + h2 − h6 x X − h7 y X = X
        //   h3 x + h4 y + h5 − h6 x Y − h7 y Y = Y
        Span<double> a = stackalloc double[8 * 9];
        for (var i = 0; i < 4; i++)
        {
            double x = from[i].X, y = from[i].Y, tx = to[i].X, ty = to[i].Y;
            var r = a.Slice(2 * i * 9, 9);
            r[0] = x; r[1] = y; r[2] = 1; r[3] = 0; r[4] = 0; r[5] = 0; r[6] = -x * tx; r[7] = -y * tx; r[8] = tx;
            r = a.Slice((2 * i + 1) * 9, 9);
            r[0] = 0; r[1] = 0; r[2] = 0; r[3] = x; r[4] = y; r[5] = 1; r[6] = -x * ty; r[7] = -y * ty; r[8] = ty;
        }

        // Gauss–Jordan elimination with partial pivoting on the augmented 8×9 matrix.
        double scale = 0;
        foreach (var v in a) scale = Math.Max(scale, Math.Abs(v));
        if (!(scale > 0) || !double.IsFinite(scale)) return false;
        var tiny = scale * 1e-12;
        for (var col = 0; col < 8; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < 8; r++)
                if (Math.Abs(a[r * 9 + col]) > Math.Abs(a[pivot * 9 + col])) pivot = r;
            if (!(Math.Abs(a[pivot * 9 + col]) > tiny)) return false;
            if (pivot != col)
                for (var c = 0; c < 9; c++) (a[col * 9 + c], a[pivot * 9 + c]) = (a[pivot * 9 + c], a[col * 9 + c]);
            var inv = 1 / a[col * 9 + col];
            for (var c = col; c < 9; c++) a[col * 9 + c] *= inv;
            for (var r = 0; r < 8; r++)
            {
                if (r == col) continue;
                var f = a[r * 9 + col];
                if (f == 0) continue;
                for (var c = col; c < 9; c++) a[r * 9 + c] -= f * a[col * 9 + c];
            }
        }
        for (var i = 0; i < 8; i++) h[i] = a[i * 9 + 8];
        h[8] = 1;
        foreach (var v in h[..9]) if (!double.IsFinite(v)) return false;
        return true;
    }
}
