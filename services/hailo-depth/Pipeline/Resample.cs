namespace HailoDepth.Pipeline;

/// <summary>Bilinear resampling of a float grid with pixel centres aligned (align_corners = false), edges clamped.</summary>
internal static class Resample
{
    public static float[] Bilinear(ReadOnlySpan<float> src, int srcWidth, int srcHeight, int width, int height)
    {
        var dst = new float[width * height];
        if (width == srcWidth && height == srcHeight)
        {
            src.CopyTo(dst);
            return dst;
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
        var sy = srcHeight / (float)height;
        for (var y = 0; y < height; y++)
        {
            var f = Math.Clamp((y + 0.5f) * sy - 0.5f, 0, srcHeight - 1);
            var y0 = (int)f;
            var y1 = Math.Min(y0 + 1, srcHeight - 1);
            var wy = f - y0;
            var r0 = src.Slice(y0 * srcWidth, srcWidth);
            var r1 = src.Slice(y1 * srcWidth, srcWidth);
            var row = dst.AsSpan(y * width, width);
            for (var x = 0; x < width; x++)
            {
                var top = r0[x0[x]] + (r0[x1[x]] - r0[x0[x]]) * wx[x];
                var bottom = r1[x0[x]] + (r1[x1[x]] - r1[x0[x]]) * wx[x];
                row[x] = top + (bottom - top) * wy;
            }
        }
        return dst;
    }
}
