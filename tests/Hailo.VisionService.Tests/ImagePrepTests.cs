using Hailo.GenAI.Chat;
using Hailo.Media;
using HailoVision.Engine;
using Xunit;

namespace Hailo.VisionService.Tests;

/// <summary>The preprocessing against tensors worked out by hand.</summary>
public sealed class ImagePrepTests
{
    private static ChatImage Image(int w, int h, Func<int, int, (byte, byte, byte)> pixel)
    {
        var rgb = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                (rgb[(y * w + x) * 3], rgb[(y * w + x) * 3 + 1], rgb[(y * w + x) * 3 + 2]) = pixel(x, y);
        return new ChatImage(rgb, w, h, w, h);
    }

    [Fact]
    public void A_wide_image_at_the_frame_height_is_centre_cropped_without_resampling()
    {
        // 4×2, column x has red = 10·x: the 2×2 frame is columns 1 and 2, exactly.
        var img = Image(4, 2, (x, y) => ((byte)(10 * x), (byte)y, 7));
        var f = ImagePrep.CoverCrop(img, 2, 2);
        Assert.Equal(new byte[] { 10, 0, 7, 20, 0, 7, 10, 1, 7, 20, 1, 7 }, f);
    }

    [Fact]
    public void Upscaling_is_bilinear_with_pixel_centres_aligned()
    {
        // 2×1 black|white to 4×2: source x = (x + 0.5)/2 − 0.5 → −0.25 (clamped 0), 0.25, 0.75, 1.25 (clamped 1).
        var img = Image(2, 1, (x, _) => x == 0 ? ((byte)0, (byte)0, (byte)0) : ((byte)200, (byte)200, (byte)200));
        var f = ImagePrep.CoverCrop(img, 4, 2);
        var row = Enumerable.Range(0, 4).Select(x => f[x * 3]).ToArray();
        Assert.Equal(new byte[] { 0, 50, 150, 200 }, row);
        Assert.Equal(f.AsSpan(0, 12).ToArray(), f.AsSpan(12, 12).ToArray());
    }

    [Fact]
    public void Channels_stay_in_rgb_order()
    {
        var png = VisionFixture.Png(250, 20, 5);
        var img = ImagePrep.Decode(png, 1_000_000);
        var f = ImagePrep.CoverCrop(img, 3, 3);
        Assert.Equal((byte)250, f[0]);
        Assert.Equal((byte)20, f[1]);
        Assert.Equal((byte)5, f[2]);
    }

    [Fact]
    public void Exif_orientation_is_applied_before_framing()
    {
        // A 40×20 JPEG turned by EXIF 6 (90° clockwise) is 20×40 upright.
        using var wide = RgbaImage.Filled(40, 20, 128, 128, 128);
        var jpeg = Hailo.TestSupport.ImageFiles.WithExifOrientation(wide.Encode(ImageFormat.Jpeg), 6);
        var img = ImagePrep.Decode(jpeg, 1_000_000);
        Assert.Equal((20, 40), (img.Width, img.Height));
    }

    [Fact]
    public void A_large_image_is_reduced_to_the_pixel_budget_keeping_its_aspect()
    {
        var (w, h) = ImagePrep.Fit(1920, 1080);
        Assert.True((long)w * h <= ImagePrep.MaxDecodedPixels);
        Assert.InRange((double)w / h, 1.77, 1.78);
        Assert.Equal((640, 480), ImagePrep.Fit(640, 480));
    }

    [Fact]
    public void A_header_claiming_too_many_pixels_is_refused_before_decoding()
    {
        var e = Assert.Throws<InvalidImageException>(() => ImagePrep.Decode(Hailo.TestSupport.ImageFiles.PngHeaderOnly(30000, 30000), 40_000_000));
        Assert.Equal("image_too_large", e.Code);
    }
}
