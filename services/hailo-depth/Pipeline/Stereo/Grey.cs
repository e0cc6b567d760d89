using Hailo.Media;

namespace HailoDepth.Pipeline.Stereo;

/// <summary>Grey images for matching: luma from RGBA, and 2×2 box halving for the half-resolution mode.</summary>
internal static class Grey
{
    /// <summary>BT.601 luma, (77 R + 150 G + 29 B) / 256.</summary>
    public static byte[] From(RgbaImage image)
    {
        var w = image.Width;
        var h = image.Height;
        var grey = GC.AllocateUninitializedArray<byte>(w * h);
        for (var y = 0; y < h; y++)
        {
            var row = image.Row(y);
            var o = y * w;
            for (var x = 0; x < w; x++)
                grey[o + x] = (byte)((77 * row[4 * x] + 150 * row[4 * x + 1] + 29 * row[4 * x + 2]) >> 8);
        }
        return grey;
    }

    /// <summary>Each output pixel the rounded mean of a 2×2 block; an odd last row or column is dropped.</summary>
    public static byte[] Half(byte[] grey, int width, int height, out int halfWidth, out int halfHeight)
    {
        halfWidth = width / 2;
        halfHeight = height / 2;
        var half = GC.AllocateUninitializedArray<byte>(halfWidth * halfHeight);
        for (var y = 0; y < halfHeight; y++)
        {
            var a = 2 * y * width;
            var b = a + width;
            var o = y * halfWidth;
            for (var x = 0; x < halfWidth; x++)
                half[o + x] = (byte)((grey[a + 2 * x] + grey[a + 2 * x + 1] + grey[b + 2 * x] + grey[b + 2 * x + 1] + 2) >> 2);
        }
        return half;
    }
}
