using SkiaSharp;

namespace Hailo.Media;

/// <summary>
/// A decoded image as opaque RGBA8888 pixels (row-major, 4 bytes per pixel, alpha always 255), upright
/// (EXIF orientation applied) and composited over white when the source had transparency.
/// </summary>
public sealed class RgbaImage : IDisposable
{
    internal SKBitmap Bitmap { get; }

    public int Width => Bitmap.Width;
    public int Height => Bitmap.Height;
    /// <summary>Bytes between rows (may exceed Width*4).</summary>
    public int RowBytes => Bitmap.RowBytes;

    internal RgbaImage(SKBitmap bitmap)
    {
        if (bitmap.ColorType != SKColorType.Rgba8888) throw new ArgumentException("expected an RGBA8888 bitmap", nameof(bitmap));
        Bitmap = bitmap;
    }

    /// <summary>Creates an image from tightly packed RGBA8888 pixels (alpha forced to 255).</summary>
    public static RgbaImage FromRgba(ReadOnlySpan<byte> rgba, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (rgba.Length != width * height * 4) throw new ArgumentException($"expected {width * height * 4} bytes", nameof(rgba));
        var bmp = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var dst = bmp.GetPixelSpan();
        for (var y = 0; y < height; y++) rgba.Slice(y * width * 4, width * 4).CopyTo(dst.Slice(y * bmp.RowBytes, width * 4));
        var img = new RgbaImage(bmp);
        img.ForceOpaque();
        return img;
    }

    /// <summary>Creates a blank image of one colour.</summary>
    public static RgbaImage Filled(int width, int height, byte r, byte g, byte b)
    {
        var bmp = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        bmp.Erase(new SKColor(r, g, b));
        return new RgbaImage(bmp);
    }

    /// <summary>The pixel bytes, <see cref="RowBytes"/> per row.</summary>
    public ReadOnlySpan<byte> Pixels => Bitmap.GetPixelSpan();

    /// <summary>Writable pixel bytes, for in-place drawing.</summary>
    public Span<byte> MutablePixels => Bitmap.GetPixelSpan();

    public ReadOnlySpan<byte> Row(int y) => Pixels.Slice(y * RowBytes, Width * 4);

    /// <summary>A resized copy. Linear filtering with mipmaps keeps large downscales free of aliasing.</summary>
    public RgbaImage Resize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (width == Width && height == Height) return Copy();
        var dst = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var sampling = width < Width || height < Height
            ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
            : new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None);
        using (var src = SKImage.FromBitmap(Bitmap))
        using (var canvas = new SKCanvas(dst))
        using (var paint = new SKPaint())
        {
            canvas.DrawImage(src, new SKRect(0, 0, width, height), sampling, paint);
        }
        return new RgbaImage(dst);
    }

    public RgbaImage Copy()
    {
        var dst = new SKBitmap(Bitmap.Info);
        Bitmap.GetPixelSpan().CopyTo(dst.GetPixelSpan());
        return new RgbaImage(dst);
    }

    /// <summary>Encodes as PNG or JPEG (quality 1-100).</summary>
    public byte[] Encode(ImageFormat format, int quality = 90)
    {
        using var img = SKImage.FromBitmap(Bitmap);
        using var data = img.Encode(format == ImageFormat.Png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    internal void ForceOpaque()
    {
        var px = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(Bitmap.GetPixelSpan());
        for (var i = 0; i < px.Length; i++) px[i] |= 0xFF000000u; // little-endian RGBA: alpha is the high byte
    }

    public void Dispose() => Bitmap.Dispose();
}

/// <summary>Encodings an image can be returned in.</summary>
public enum ImageFormat
{
    Png,
    Jpeg,
}
