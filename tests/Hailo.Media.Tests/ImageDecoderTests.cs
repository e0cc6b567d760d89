using Hailo.Core;
using Hailo.TestSupport;
using SkiaSharp;
using Xunit;

namespace Hailo.Media.Tests;

public sealed class ImageDecoderTests
{
    /// <summary>40×20: left half red, right half blue, one green pixel at (0,0) to pin the corner.</summary>
    private static byte[] Pattern(out int w, out int h)
    {
        w = 40; h = 20;
        var px = new byte[w * h * 4];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var i = (y * w + x) * 4;
                (px[i], px[i + 1], px[i + 2], px[i + 3]) = x < w / 2 ? ((byte)255, (byte)0, (byte)0, (byte)255) : ((byte)0, (byte)0, (byte)255, (byte)255);
            }
        (px[0], px[1], px[2]) = ((byte)0, (byte)255, (byte)0);
        return px;
    }

    private static byte[] Encode(SKEncodedImageFormat format, int quality = 100)
    {
        var px = Pattern(out var w, out var h);
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        px.CopyTo(bmp.GetPixelSpan());
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(format, quality);
        return data.ToArray();
    }

    private static (byte R, byte G, byte B) Pixel(RgbaImage img, int x, int y)
    {
        var p = img.Pixels.Slice(y * img.RowBytes + x * 4, 4);
        return (p[0], p[1], p[2]);
    }

    private static void AssertNear((byte R, byte G, byte B) expected, (byte R, byte G, byte B) actual, int tolerance)
    {
        Assert.InRange(actual.R, Math.Max(0, expected.R - tolerance), Math.Min(255, expected.R + tolerance));
        Assert.InRange(actual.G, Math.Max(0, expected.G - tolerance), Math.Min(255, expected.G + tolerance));
        Assert.InRange(actual.B, Math.Max(0, expected.B - tolerance), Math.Min(255, expected.B + tolerance));
    }

    public static TheoryData<string> Formats => ["png", "jpeg", "webp", "bmp", "gif"];

    [Theory]
    [MemberData(nameof(Formats))]
    public void Decodes_every_accepted_format(string format)
    {
        var px = Pattern(out var w, out var h);
        var bytes = format switch
        {
            "png" => Encode(SKEncodedImageFormat.Png),
            "jpeg" => Encode(SKEncodedImageFormat.Jpeg),
            "webp" => Encode(SKEncodedImageFormat.Webp),
            "bmp" => ImageFiles.Bmp(px, w, h),
            _ => ImageFiles.Gif(w, h, [(255, 0, 0), (0, 0, 255)], [0]),
        };
        using var img = ImageDecoder.Decode(bytes);
        Assert.Equal((w, h), (img.Width, img.Height));
        var lossy = format is "jpeg" or "webp" ? 40 : 0;
        AssertNear((255, 0, 0), Pixel(img, 10, 10), lossy);
        if (format != "gif") AssertNear((0, 0, 255), Pixel(img, 30, 10), lossy);
        Assert.Equal(255, img.Pixels[3]);
    }

    [Fact]
    public void Gif_gives_its_first_frame()
    {
        var gif = ImageFiles.Gif(8, 8, [(255, 0, 0), (0, 255, 0), (0, 0, 255)], [1, 2, 0]);
        using var img = ImageDecoder.Decode(gif);
        AssertNear((0, 255, 0), Pixel(img, 4, 4), 0);
    }

    [Theory]
    [InlineData(1, 40, 20, 0, 0)]    // upright: green corner stays top-left
    [InlineData(2, 40, 20, 39, 0)]   // mirrored
    [InlineData(3, 40, 20, 39, 19)]  // rotated 180°
    [InlineData(4, 40, 20, 0, 19)]   // flipped
    [InlineData(5, 20, 40, 0, 0)]    // transposed
    [InlineData(6, 20, 40, 19, 0)]   // rotated 90° clockwise
    [InlineData(7, 20, 40, 19, 39)]  // transversed
    [InlineData(8, 20, 40, 0, 39)]   // rotated 90° counter-clockwise
    public void Exif_orientation_is_applied(int orientation, int w, int h, int greenX, int greenY)
    {
        var png = Encode(SKEncodedImageFormat.Png);
        using var source = ImageDecoder.Decode(png);
        // Orientation is exercised both through a real JPEG EXIF segment and through the pixel transform.
        var jpeg = ImageFiles.WithExifOrientation(Encode(SKEncodedImageFormat.Jpeg), orientation);
        using var fromJpeg = ImageDecoder.Decode(jpeg);
        Assert.Equal((w, h), (fromJpeg.Width, fromJpeg.Height));
        using var exact = Orientation.Apply(source.Copy(), orientation);
        Assert.Equal((w, h), (exact.Width, exact.Height));
        Assert.Equal((0, 255, 0), Pixel(exact, greenX, greenY));
        // The red half is where the orientation puts the original left side.
        var (rx, ry) = orientation switch { 1 or 4 => (5, 10), 2 or 3 => (34, 10), 5 or 6 => (10, 5), _ => (10, 34) };
        AssertNear((255, 0, 0), Pixel(fromJpeg, rx, ry), 40);
    }

    [Fact]
    public void Transparent_pixels_are_composited_over_white()
    {
        using var bmp = new SKBitmap(new SKImageInfo(4, 4, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bmp.Erase(new SKColor(0, 0, 0, 0));
        bmp.SetPixel(1, 1, new SKColor(0, 0, 0, 255));
        using var data = SKImage.FromBitmap(bmp).Encode(SKEncodedImageFormat.Png, 100);
        using var img = ImageDecoder.Decode(data.ToArray());
        Assert.Equal((255, 255, 255), Pixel(img, 0, 0));
        Assert.Equal((0, 0, 0), Pixel(img, 1, 1));
    }

    [Fact]
    public void Decompression_bomb_is_refused_from_the_header()
    {
        var bomb = ImageFiles.PngHeaderOnly(30000, 30000);
        Assert.True(bomb.Length < 100);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(bomb));
        Assert.Equal(("image_too_large", RejectionKind.Invalid), (e.Code, e.Kind));
        Assert.Contains("30000×30000", e.Message);
        var before = GC.GetTotalAllocatedBytes();
        Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(bomb));
        Assert.True(GC.GetTotalAllocatedBytes() - before < 1 << 20, "refusing the bomb must not allocate its pixels");
    }

    [Fact]
    public void Pixel_limit_is_configurable()
    {
        var png = Encode(SKEncodedImageFormat.Png);
        Assert.Equal("image_too_large", Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(png, maxPixels: 799)).Code);
        using var ok = ImageDecoder.Decode(png, maxPixels: 800);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("text")]
    [InlineData("truncated-jpeg")]
    [InlineData("truncated-png")]
    [InlineData("jpeg-header-only")]
    public void Garbage_is_a_clear_400(string kind)
    {
        var jpeg = Encode(SKEncodedImageFormat.Jpeg);
        var png = Encode(SKEncodedImageFormat.Png);
        var bytes = kind switch
        {
            "empty" => [],
            "text" => "this is not an image, it is a sentence."u8.ToArray(),
            "truncated-jpeg" => jpeg[..(jpeg.Length / 2)],
            "truncated-png" => png[..(png.Length - 30)],
            _ => jpeg[..20],
        };
        var e = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(bytes));
        Assert.Equal(RejectionKind.Invalid, e.Kind);
        Assert.Equal("invalid_image", e.Code);
        // The same when a reduced decode is allowed (the smallest DCT scale here).
        var reduced = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(bytes, atLeast: (_, _) => (1, 1)));
        Assert.Equal((RejectionKind.Invalid, "invalid_image"), (reduced.Kind, reduced.Code));
    }

    [Fact]
    public void A_truncated_jpeg_decoded_reduced_is_a_clear_400()
    {
        var jpeg = GradientJpeg(1280, 720, 600, 300);
        var e = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(jpeg[..(jpeg.Length / 2)], atLeast: (_, _) => (640, 360)));
        Assert.Equal((RejectionKind.Invalid, "invalid_image"), (e.Kind, e.Code));
    }

    [Fact]
    public void Unsupported_format_is_415()
    {
        // A 1×1 ICO: Skia can read it, the service does not accept it.
        byte[] ico = [0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 32, 0, 48, 0, 0, 0, 22, 0, 0, 0,
            40, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            255, 0, 0, 255, 0, 0, 0, 0];
        var e = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(ico));
        Assert.Equal((RejectionKind.Unsupported, "unsupported_image_format"), (e.Kind, e.Code));
    }

    /// <summary>A w×h JPEG (quality 90) of smooth gradients and a dark 16-px square at (x0, y0).</summary>
    internal static byte[] GradientJpeg(int w, int h, int x0, int y0)
    {
        var px = new byte[w * h * 4];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var i = (y * w + x) * 4;
                var dark = x >= x0 && x < x0 + 16 && y >= y0 && y < y0 + 16;
                (px[i], px[i + 1], px[i + 2], px[i + 3]) = dark
                    ? ((byte)10, (byte)10, (byte)10, (byte)255)
                    : ((byte)(60 + 150 * x / w), (byte)(60 + 150 * y / h), (byte)160, (byte)255);
            }
        using var img = RgbaImage.FromRgba(px, w, h);
        return img.Encode(ImageFormat.Jpeg, 90);
    }

    [Theory]
    [InlineData(640, 360, 640, 360)]   // 4/8
    [InlineData(641, 10, 800, 450)]    // 4/8 is one pixel short: 5/8
    [InlineData(320, 256, 480, 270)]   // 2/8 is too low (180 < 256): 3/8
    [InlineData(100, 50, 160, 90)]     // 1/8, the smallest DCT scale
    [InlineData(1280, 720, 1280, 720)] // the whole image
    [InlineData(5000, 5000, 1280, 720)] // never more than the whole image
    public void A_jpeg_is_decoded_at_the_smallest_dct_scale_covering_the_wanted_size(int wantW, int wantH, int w, int h)
    {
        var jpeg = GradientJpeg(1280, 720, 600, 300);
        var asked = (0, 0);
        using var img = ImageDecoder.Decode(jpeg, atLeast: (sw, sh) => { asked = (sw, sh); return (wantW, wantH); });
        Assert.Equal((1280, 720), asked);
        Assert.Equal((w, h), (img.Width, img.Height));
        Assert.Equal((1280, 720), (img.SourceWidth, img.SourceHeight));
        Assert.Equal(w != 1280, img.IsReduced);
    }

    [Fact]
    public void A_reduced_decode_looks_like_the_whole_image_downscaled()
    {
        var jpeg = GradientJpeg(1280, 720, 600, 300);
        using var full = ImageDecoder.Decode(jpeg);
        Assert.False(full.IsReduced);
        using var expected = full.Resize(640, 360);
        using var reduced = ImageDecoder.Decode(jpeg, atLeast: (_, _) => (640, 360));
        Assert.Equal((640, 360), (reduced.Width, reduced.Height));
        long diff = 0, worst = 0;
        for (var y = 0; y < 360; y++)
        {
            var a = expected.Row(y);
            var b = reduced.Row(y);
            for (var i = 0; i < a.Length; i++)
            {
                var d = Math.Abs(a[i] - b[i]);
                diff += d;
                worst = Math.Max(worst, d);
            }
        }
        Assert.InRange(diff / (640.0 * 360 * 4), 0, 2.0);
        // The dark square is at half its coordinates: (300..308, 150..158).
        AssertNear((10, 10, 10), Pixel(reduced, 304, 154), 25);
        AssertNear(Pixel(expected, 290, 154), Pixel(reduced, 290, 154), 12);
    }

    [Fact]
    public void A_reduced_decode_follows_the_exif_orientation()
    {
        // Stored 1280×720, shown rotated 90° clockwise: upright 720×1280; the square moves to (720-316..720-300, 600..616).
        var jpeg = ImageFiles.WithExifOrientation(GradientJpeg(1280, 720, 600, 300), 6);
        var asked = (0, 0);
        using var img = ImageDecoder.Decode(jpeg, atLeast: (w, h) => { asked = (w, h); return (w / 2, h / 2); });
        Assert.Equal((720, 1280), asked);
        Assert.Equal((360, 640), (img.Width, img.Height));
        Assert.Equal((720, 1280), (img.SourceWidth, img.SourceHeight));
        AssertNear((10, 10, 10), Pixel(img, (720 - 308) / 2, 608 / 2), 25);
    }

    [Fact]
    public void Other_formats_are_decoded_whole_whatever_size_is_wanted()
    {
        var png = Encode(SKEncodedImageFormat.Png);
        using var img = ImageDecoder.Decode(png, atLeast: (_, _) => (1, 1));
        Assert.Equal((40, 20), (img.Width, img.Height));
        Assert.Equal((40, 20), (img.SourceWidth, img.SourceHeight));
        Assert.False(img.IsReduced);
    }
}
