using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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

    /// <summary>
    /// The upright size of the encoded image these pixels were decoded from. Equal to <see cref="Width"/>×
    /// <see cref="Height"/> unless the decoder was allowed to decode a reduced image (see
    /// <see cref="ImageDecoder.Decode(ReadOnlySpan{byte}, long, Func{int, int, ValueTuple{int, int}}?)"/>); results
    /// are reported in these coordinates.
    /// </summary>
    public int SourceWidth => _sourceWidth > 0 ? _sourceWidth : Width;
    /// <inheritdoc cref="SourceWidth"/>
    public int SourceHeight => _sourceHeight > 0 ? _sourceHeight : Height;
    /// <summary>True when the pixels are a reduced decode of a larger source.</summary>
    public bool IsReduced => SourceWidth != Width || SourceHeight != Height;

    private int _sourceWidth, _sourceHeight;

    internal void SetSourceSize(int width, int height)
    {
        _sourceWidth = width;
        _sourceHeight = height;
    }

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

    /// <summary>
    /// A resized copy. Downscaling by an integer factor of 2 or more first averages whole blocks of pixels (an exact
    /// area filter, so large downscales do not alias), then bilinear filtering covers the remaining factor below 2,
    /// with the source rectangle kept at its exact fractional size so that geometry is preserved. This is what
    /// mipmapped sampling gives, without building a mipmap chain per image (which cost ~20 ms for 1280×720).
    /// </summary>
    public RgbaImage Resize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (width == Width && height == Height) return Copy();
        int kx = Math.Max(1, Width / width), ky = Math.Max(1, Height / height);
        using var reduced = kx > 1 || ky > 1 ? BoxReduce(kx, ky) : null;
        var source = reduced ?? Bitmap;
        var dst = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        if (source.Width == width && source.Height == height && Width % kx == 0 && Height % ky == 0)
        {
            source.GetPixelSpan().CopyTo(dst.GetPixelSpan());
            return new RgbaImage(dst);
        }
        using (var pixmap = source.PeekPixels())
        using (var src = SKImage.FromPixels(pixmap))
        using (var canvas = new SKCanvas(dst))
        using (var paint = new SKPaint())
        {
            var srcRect = new SKRect(0, 0, (float)Width / kx, (float)Height / ky);
            canvas.DrawImage(src, srcRect, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None), paint);
        }
        return new RgbaImage(dst);
    }

    /// <summary>
    /// Averages blocks of kx×ky pixels into one (the last column/row averages what is left of the image), rounded to
    /// nearest. Rows are summed vertically with vector code, then each block's columns once per output row.
    /// </summary>
    internal SKBitmap BoxReduce(int kx, int ky)
    {
        int ow = (Width + kx - 1) / kx, oh = (Height + ky - 1) / ky, rowLength = Width * 4;
        var dst = new SKBitmap(new SKImageInfo(ow, oh, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var src = Pixels;
        var outPixels = dst.GetPixelSpan();
        var column = new uint[rowLength];
        for (var oy = 0; oy < oh; oy++)
        {
            Array.Clear(column);
            int y0 = oy * ky, y1 = Math.Min(y0 + ky, Height);
            for (var y = y0; y < y1; y++) AddRow(src.Slice(y * RowBytes, rowLength), column);
            var outRow = outPixels.Slice(oy * dst.RowBytes, ow * 4);
            for (var ox = 0; ox < ow; ox++)
            {
                int x0 = ox * kx, x1 = Math.Min(x0 + kx, Width);
                uint r = 0, g = 0, b = 0;
                for (var x = x0 * 4; x < x1 * 4; x += 4)
                {
                    r += column[x];
                    g += column[x + 1];
                    b += column[x + 2];
                }
                var count = (uint)((x1 - x0) * (y1 - y0));
                var half = count / 2;
                outRow[ox * 4] = (byte)((r + half) / count);
                outRow[ox * 4 + 1] = (byte)((g + half) / count);
                outRow[ox * 4 + 2] = (byte)((b + half) / count);
                outRow[ox * 4 + 3] = 255;
            }
        }
        return dst;
    }

    private static void AddRow(ReadOnlySpan<byte> row, Span<uint> sums)
    {
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            ref var s = ref MemoryMarshal.GetReference(row);
            ref var d = ref MemoryMarshal.GetReference(sums);
            for (; i <= row.Length - 16; i += 16)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref s, (nuint)i));
                var (a, b) = Vector128.Widen(lo);
                var (c, e) = Vector128.Widen(hi);
                (Vector128.LoadUnsafe(ref d, (nuint)i) + a).StoreUnsafe(ref d, (nuint)i);
                (Vector128.LoadUnsafe(ref d, (nuint)i + 4) + b).StoreUnsafe(ref d, (nuint)i + 4);
                (Vector128.LoadUnsafe(ref d, (nuint)i + 8) + c).StoreUnsafe(ref d, (nuint)i + 8);
                (Vector128.LoadUnsafe(ref d, (nuint)i + 12) + e).StoreUnsafe(ref d, (nuint)i + 12);
            }
        }
        for (; i < row.Length; i++) sums[i] += row[i];
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

public static class ImageFormats
{
    /// <summary>The encoded image as a data URL (data:image/png;base64,… or data:image/jpeg;base64,…), as JSON answers carry it.</summary>
    public static string DataUrl(byte[] encoded, ImageFormat format) =>
        (format == ImageFormat.Png ? "data:image/png;base64," : "data:image/jpeg;base64,") + Convert.ToBase64String(encoded);
}
