using Hailo.GenAI.Chat;
using Hailo.Media;

namespace HailoVision.Engine;

/// <summary>
/// Image preprocessing. A request's image is decoded by Hailo.Media (JPEG, PNG, WebP, BMP, GIF; EXIF orientation
/// applied; the pixel limit checked from the header before any pixel is decoded), reduced to at most
/// <see cref="MaxDecodedPixels"/> (Qwen2-VL's own upper bound, 1280 patches of 28×28) keeping its aspect, and kept as
/// 8-bit RGB. Each backend then makes the input its model takes: the NPU's HEF has one fixed frame
/// (<see cref="CoverCrop"/>: scaled to cover the frame, bilinear, centre-cropped; RGB order, never BGR).
/// </summary>
public static class ImagePrep
{
    public const int MaxDecodedPixels = 1280 * 28 * 28;

    public static ChatImage Decode(byte[] data, long maxPixels)
    {
        using var image = ImageDecoder.Decode(data, maxPixels, (w, h) => Fit(w, h));
        var (tw, th) = Fit(image.Width, image.Height);
        using var sized = tw == image.Width && th == image.Height ? null : image.Resize(tw, th);
        var src = sized ?? image;
        var rgb = new byte[src.Width * src.Height * 3];
        for (var y = 0; y < src.Height; y++)
        {
            var row = src.Row(y);
            var o = y * src.Width * 3;
            for (var x = 0; x < src.Width; x++)
            {
                rgb[o + x * 3] = row[x * 4];
                rgb[o + x * 3 + 1] = row[x * 4 + 1];
                rgb[o + x * 3 + 2] = row[x * 4 + 2];
            }
        }
        return new ChatImage(rgb, src.Width, src.Height, image.SourceWidth, image.SourceHeight);
    }

    /// <summary>The size within <see cref="MaxDecodedPixels"/> that keeps the aspect (the size itself when it fits).</summary>
    public static (int Width, int Height) Fit(int w, int h)
    {
        if ((long)w * h <= MaxDecodedPixels) return (w, h);
        var s = Math.Sqrt((double)MaxDecodedPixels / ((long)w * h));
        return (Math.Max(1, (int)(w * s)), Math.Max(1, (int)(h * s)));
    }

    /// <summary>
    /// The image scaled (bilinear, pixel centres aligned) so that it covers <paramref name="width"/>×<paramref name="height"/>,
    /// then centre-cropped to it: HWC RGB bytes, what a fixed-frame VLM HEF takes.
    /// </summary>
    public static byte[] CoverCrop(ChatImage image, int width, int height)
    {
        var scale = Math.Max((double)width / image.Width, (double)height / image.Height);
        // The scaled image is (image.Width*scale) × (image.Height*scale); the crop starts at its centre minus half the frame.
        var offX = (image.Width * scale - width) / 2;
        var offY = (image.Height * scale - height) / 2;
        var dst = new byte[width * height * 3];
        var src = image.Rgb;
        var stride = image.Width * 3;
        for (var y = 0; y < height; y++)
        {
            var sy = Math.Clamp((y + offY + 0.5) / scale - 0.5, 0, image.Height - 1);
            var y0 = (int)sy;
            var y1 = Math.Min(y0 + 1, image.Height - 1);
            var fy = sy - y0;
            for (var x = 0; x < width; x++)
            {
                var sx = Math.Clamp((x + offX + 0.5) / scale - 0.5, 0, image.Width - 1);
                var x0 = (int)sx;
                var x1 = Math.Min(x0 + 1, image.Width - 1);
                var fx = sx - x0;
                for (var c = 0; c < 3; c++)
                {
                    var top = src[y0 * stride + x0 * 3 + c] * (1 - fx) + src[y0 * stride + x1 * 3 + c] * fx;
                    var bottom = src[y1 * stride + x0 * 3 + c] * (1 - fx) + src[y1 * stride + x1 * 3 + c] * fx;
                    dst[(y * width + x) * 3 + c] = (byte)Math.Round(top * (1 - fy) + bottom * fy);
                }
            }
        }
        return dst;
    }
}
