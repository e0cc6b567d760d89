using Hailo.Core;
using SkiaSharp;

namespace Hailo.Media;

/// <summary>A request's image could not be used: not an image, truncated, unsupported or too large.</summary>
public sealed class InvalidImageException(RejectionKind kind, string code, string message) : RequestRejectedException(kind, code, message);

/// <summary>
/// Decodes JPEG, PNG, WebP, BMP and the first GIF frame with Skia; a JPEG's pixels come from the system's
/// libjpeg-turbo when it is installed (<see cref="TurboJpeg"/>: its SIMD code, which Skia's copy lacks). The pixel
/// count is checked from the header before any pixel is decoded, so a small file claiming 30000×30000 costs nothing.
/// </summary>
public static class ImageDecoder
{
    public const string AcceptedFormats = "JPEG, PNG, WebP, BMP, GIF";

    /// <summary>The default limit: 40 megapixels (a 8K×5K photo), well above any camera a Pi is used with.</summary>
    public const long DefaultMaxPixels = 40_000_000;

    /// <summary>
    /// Decodes the image upright. With <paramref name="atLeast"/>, a JPEG may be decoded reduced: the function gets
    /// the upright source size and returns the size the caller will resize to; the decoder then picks the smallest of
    /// libjpeg's DCT scales (1/8 … 8/8) that still covers that size, which skips most of the IDCT, colour conversion
    /// and the caller's downscaling (1280×720 → 640×360: 12.4 → 5.1 ms here). The DCT scale is an area filter, so the
    /// result is what a good downscale gives. <see cref="RgbaImage.SourceWidth"/>/<see cref="RgbaImage.SourceHeight"/>
    /// keep the source size, in which results are reported. Other formats are always decoded whole.
    /// </summary>
    public static RgbaImage Decode(ReadOnlySpan<byte> data, long maxPixels = DefaultMaxPixels, Func<int, int, (int Width, int Height)>? atLeast = null) =>
        Decode(data, maxPixels, atLeast, useTurbo: true);

    /// <summary>The decoder, with the choice of JPEG pixel decoder open to the tests.</summary>
    internal static RgbaImage Decode(ReadOnlySpan<byte> data, long maxPixels, Func<int, int, (int Width, int Height)>? atLeast, bool useTurbo)
    {
        if (data.IsEmpty) throw new InvalidImageException(RejectionKind.Invalid, "invalid_image", "the image is empty (0 bytes)");
        using var skData = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(new SKMemoryStream(skData), out var createResult);
        if (codec is null)
            throw createResult == SKCodecResult.IncompleteInput
                ? new InvalidImageException(RejectionKind.Invalid, "invalid_image", "the image data is truncated")
                : new InvalidImageException(RejectionKind.Invalid, "invalid_image", $"the data is not an image in a supported format ({AcceptedFormats})");
        if (codec.EncodedFormat is not (SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Png or SKEncodedImageFormat.Webp
            or SKEncodedImageFormat.Bmp or SKEncodedImageFormat.Gif))
            throw new InvalidImageException(RejectionKind.Unsupported, "unsupported_image_format", $"{codec.EncodedFormat} images are not supported; send {AcceptedFormats}");

        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0) throw new InvalidImageException(RejectionKind.Invalid, "invalid_image", "the image has no pixels");
        if ((long)info.Width * info.Height > maxPixels)
            throw new InvalidImageException(RejectionKind.Invalid, "image_too_large",
                $"the image is {info.Width}×{info.Height} = {(long)info.Width * info.Height} pixels; the limit is {maxPixels} pixels");

        var hasAlpha = info.AlphaType != SKAlphaType.Opaque;
        var swapped = (int)codec.EncodedOrigin >= 5; // EXIF 5-8 turn the image by 90°
        var (uprightWidth, uprightHeight) = swapped ? (info.Height, info.Width) : (info.Width, info.Height);
        var size = atLeast is not null && codec.EncodedFormat == SKEncodedImageFormat.Jpeg
            ? ReducedSize(codec, atLeast(uprightWidth, uprightHeight), swapped)
            : new SKSizeI(info.Width, info.Height);
        var decodeInfo = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, hasAlpha ? SKAlphaType.Premul : SKAlphaType.Opaque);
        var decoded = new SKBitmap(decodeInfo);
        try
        {
            var turbo = codec.EncodedFormat == SKEncodedImageFormat.Jpeg && useTurbo
                ? TurboJpeg.TryDecode(data, decoded.GetPixels(), size.Width, size.Height, decoded.RowBytes)
                : TurboJpeg.Outcome.Declined;
            if (turbo == TurboJpeg.Outcome.TooManyScans)
                throw new InvalidImageException(RejectionKind.Invalid, "invalid_image",
                    "the progressive JPEG has more than 500 scans; no camera or encoder writes that many");
            var result = turbo == TurboJpeg.Outcome.Decoded ? SKCodecResult.Success : codec.GetPixels(decodeInfo, decoded.GetPixels());
            if (result == SKCodecResult.IncompleteInput || result == SKCodecResult.ErrorInInput)
                throw new InvalidImageException(RejectionKind.Invalid, "invalid_image", "the image data is truncated or corrupt");
            if (result != SKCodecResult.Success)
                throw new InvalidImageException(RejectionKind.Invalid, "invalid_image", $"the image could not be decoded ({result})");

            var image = new RgbaImage(decoded);
            if (hasAlpha) CompositeOverWhite(image);
            var upright = Orientation.Apply(image, codec.EncodedOrigin);
            if (!ReferenceEquals(upright, image)) image.Dispose();
            decoded = null!;
            upright.SetSourceSize(uprightWidth, uprightHeight);
            return upright;
        }
        catch
        {
            decoded?.Dispose();
            throw;
        }
    }

    /// <summary>The smallest DCT scale k/8 whose (stored-orientation) size covers the wanted upright size.</summary>
    private static SKSizeI ReducedSize(SKCodec codec, (int Width, int Height) wanted, bool swapped)
    {
        var (w, h) = swapped ? (wanted.Height, wanted.Width) : (wanted.Width, wanted.Height);
        for (var k = 1; k < 8; k++)
        {
            var size = codec.GetScaledDimensions(k / 8f);
            if (size.Width >= w && size.Height >= h) return size;
        }
        return new SKSizeI(codec.Info.Width, codec.Info.Height);
    }

    /// <summary>Which library decodes JPEG pixels in this process, and why when it is not libjpeg-turbo's SIMD build.</summary>
    public static string JpegDecoder => TurboJpeg.Unavailable is { } why ? $"skia ({why})" : "libturbojpeg";

    /// <summary>Reads only the header: format and size, without decoding pixels.</summary>

    public static (int Width, int Height, string Format)? Probe(ReadOnlySpan<byte> data)
    {
        using var skData = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(skData);
        return codec is null ? null : (codec.Info.Width, codec.Info.Height, codec.EncodedFormat.ToString());
    }

    /// <summary>Premultiplied RGBA over an opaque white background: c' = c + (255 - a).</summary>
    private static void CompositeOverWhite(RgbaImage image)
    {
        var px = image.MutablePixels;
        for (var i = 0; i < px.Length; i += 4)
        {
            var inv = 255 - px[i + 3];
            if (inv == 0) continue;
            px[i] = (byte)Math.Min(255, px[i] + inv);
            px[i + 1] = (byte)Math.Min(255, px[i + 1] + inv);
            px[i + 2] = (byte)Math.Min(255, px[i + 2] + inv);
            px[i + 3] = 255;
        }
    }
}
