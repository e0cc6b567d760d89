using System.Runtime.InteropServices;
using SkiaSharp;

namespace Hailo.Media;

/// <summary>Turns an image upright according to its EXIF orientation (values 1-8).</summary>
public static class Orientation
{
    /// <summary>Returns the same image for TopLeft, else a new upright image.</summary>
    public static RgbaImage Apply(RgbaImage image, SKEncodedOrigin origin) => Apply(image, (int)origin);

    /// <summary>EXIF orientation: 1 upright, 2 mirrored, 3 rotated 180°, 4 flipped, 5 transposed, 6 rotated 90° CW, 7 transversed, 8 rotated 90° CCW.</summary>
    public static RgbaImage Apply(RgbaImage image, int exifOrientation)
    {
        if (exifOrientation is < 2 or > 8) return image;
        int w = image.Width, h = image.Height;
        var swap = exifOrientation >= 5;
        int ow = swap ? h : w, oh = swap ? w : h;
        var dst = new SKBitmap(new SKImageInfo(ow, oh, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var src = MemoryMarshal.Cast<byte, uint>(image.Pixels);
        var dstPx = MemoryMarshal.Cast<byte, uint>(dst.GetPixelSpan());
        int srcStride = image.RowBytes / 4, dstStride = dst.RowBytes / 4;
        for (var y = 0; y < oh; y++)
        {
            for (var x = 0; x < ow; x++)
            {
                // (x, y) in the upright output comes from (sx, sy) in the stored image.
                var (sx, sy) = exifOrientation switch
                {
                    2 => (w - 1 - x, y),
                    3 => (w - 1 - x, h - 1 - y),
                    4 => (x, h - 1 - y),
                    5 => (y, x),
                    6 => (y, h - 1 - x),
                    7 => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x), // 8
                };
                dstPx[y * dstStride + x] = src[sy * srcStride + sx];
            }
        }
        return new RgbaImage(dst);
    }
}
