using System.Numerics;
using System.Runtime.InteropServices;

namespace HailoDepth.Pipeline;

/// <summary>Bilinear resampling of a float grid with pixel centres aligned (align_corners = false), edges clamped.</summary>
internal static class Resample
{
    /// <summary>A new map, or one from <paramref name="allocate"/> (of exactly width × height).</summary>
    public static float[] Bilinear(ReadOnlySpan<float> src, int srcWidth, int srcHeight, int width, int height, Func<int, float[]>? allocate = null)
    {
        var dst = allocate?.Invoke(width * height) ?? new float[width * height];
        Bilinear(src, srcWidth, srcHeight, dst, width, height);
        return dst;
    }

    /// <summary>
    /// Into <paramref name="dst"/> (width × height, row-major). Separable: each source row the output needs is
    /// interpolated across once (top = r[x0] + (r[x1] − r[x0])·wx), then every output row is the vertical blend
    /// top + (bottom − top)·wy of two such rows, vectorised. The arithmetic is the textbook formula's, step for step.
    /// </summary>
    public static void Bilinear(ReadOnlySpan<float> src, int srcWidth, int srcHeight, Span<float> dst, int width, int height)
    {
        if (src.Length < srcWidth * srcHeight) throw new ArgumentException($"expected {srcWidth}×{srcHeight} values", nameof(src));
        if (dst.Length < width * height) throw new ArgumentException($"expected room for {width}×{height} values", nameof(dst));
        if (width == srcWidth && height == srcHeight)
        {
            src[..(width * height)].CopyTo(dst);
            return;
        }
        // Per output column: left source column and weight, computed once.
        var x0 = new int[width];
        var x1 = new int[width];
        var wx = new float[width];
        var sx = srcWidth / (float)width;
        for (var x = 0; x < width; x++)
        {
            var f = Math.Clamp((x + 0.5f) * sx - 0.5f, 0, srcWidth - 1);
            x0[x] = (int)f;
            x1[x] = Math.Min(x0[x] + 1, srcWidth - 1);
            wx[x] = f - x0[x];
        }
        // The two horizontally interpolated source rows the current output row lies between.
        var upper = new float[width];
        var lower = new float[width];
        int upperRow = -1, lowerRow = -1;
        var sy = srcHeight / (float)height;
        for (var y = 0; y < height; y++)
        {
            var f = Math.Clamp((y + 0.5f) * sy - 0.5f, 0, srcHeight - 1);
            var y0 = (int)f;
            var y1 = Math.Min(y0 + 1, srcHeight - 1);
            var wy = f - y0;
            if (upperRow != y0)
            {
                if (lowerRow == y0) (upper, lower, upperRow, lowerRow) = (lower, upper, y0, -1);
                else Across(src.Slice(y0 * srcWidth, srcWidth), x0, x1, wx, upper);
                upperRow = y0;
            }
            if (lowerRow != y1)
            {
                Across(src.Slice(y1 * srcWidth, srcWidth), x0, x1, wx, lower);
                lowerRow = y1;
            }
            Blend(upper, lower, wy, dst.Slice(y * width, width));
        }
    }

    private static void Across(ReadOnlySpan<float> row, int[] x0, int[] x1, float[] wx, Span<float> into)
    {
        for (var x = 0; x < into.Length; x++)
        {
            var a = row[x0[x]];
            into[x] = a + (row[x1[x]] - a) * wx[x];
        }
    }

    /// <summary>into = top + (bottom − top)·w.</summary>
    private static void Blend(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, float w, Span<float> into)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var t = MemoryMarshal.Cast<float, Vector<float>>(top);
            var b = MemoryMarshal.Cast<float, Vector<float>>(bottom);
            var o = MemoryMarshal.Cast<float, Vector<float>>(into);
            var wv = new Vector<float>(w);
            for (var k = 0; k < o.Length; k++) o[k] = t[k] + (b[k] - t[k]) * wv;
            i = o.Length * Vector<float>.Count;
        }
        for (; i < into.Length; i++) into[i] = top[i] + (bottom[i] - top[i]) * w;
    }
}
