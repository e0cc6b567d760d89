using System.Diagnostics;
using Hailo.Core;
using Xunit;

namespace Hailo.Media.Tests;

/// <summary>
/// JPEG pixels from the system's libjpeg-turbo (SIMD) against Skia's own copy: the same pixels, the same verdicts on
/// broken files, and a refusal of progressive files with absurd scan counts.
/// </summary>
public sealed class TurboJpegTests
{
    [Fact]
    public void The_system_libjpeg_turbo_decodes_jpeg_pixels()
    {
        // .ci/install-deps installs libturbojpeg0 and every package depends on it: here it must be in use.
        Assert.True(TurboJpeg.IsAvailable, $"JPEG decoder: {ImageDecoder.JpegDecoder}");
        Assert.Equal("libturbojpeg", ImageDecoder.JpegDecoder);
    }

    public static TheoryData<int, int> Scales => new() { { 1280, 720 }, { 640, 360 }, { 480, 270 }, { 160, 90 } };

    [Theory]
    [MemberData(nameof(Scales))]
    public void It_gives_the_pixels_skia_gives_at_every_dct_scale(int w, int h)
    {
        foreach (var jpeg in new[] { ImageDecoderTests.GradientJpeg(1280, 720, 600, 300), NoisyJpeg(1280, 720) })
        {
            using var turbo = ImageDecoder.Decode(jpeg, ImageDecoder.DefaultMaxPixels, (_, _) => (w, h), useTurbo: true);
            using var skia = ImageDecoder.Decode(jpeg, ImageDecoder.DefaultMaxPixels, (_, _) => (w, h), useTurbo: false);
            Assert.Equal((w, h), (turbo.Width, turbo.Height));
            Assert.Equal((skia.Width, skia.Height), (turbo.Width, turbo.Height));
            var (mean, worst) = Diff(turbo, skia);
            // Both are libjpeg-turbo's accurate integer IDCT with fancy upsampling; the SIMD code is written to be
            // bit-exact with the C code, so the two agree to rounding at most.
            Assert.InRange(mean, 0, 0.05);
            Assert.InRange(worst, 0, 2);
        }
    }

    [Fact]
    public void Exif_orientation_still_applies_to_its_pixels()
    {
        var jpeg = Hailo.TestSupport.ImageFiles.WithExifOrientation(ImageDecoderTests.GradientJpeg(1280, 720, 600, 300), 6);
        using var turbo = ImageDecoder.Decode(jpeg, ImageDecoder.DefaultMaxPixels, (w, h) => (w / 2, h / 2), useTurbo: true);
        using var skia = ImageDecoder.Decode(jpeg, ImageDecoder.DefaultMaxPixels, (w, h) => (w / 2, h / 2), useTurbo: false);
        Assert.Equal((360, 640), (turbo.Width, turbo.Height));
        Assert.InRange(Diff(turbo, skia).Mean, 0, 0.05);
    }

    [Fact]
    public void A_truncated_jpeg_gets_skias_verdict()
    {
        var jpeg = NoisyJpeg(320, 240);
        foreach (var cut in new[] { jpeg.Length / 2, jpeg.Length - 10 })
        {
            var e = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(jpeg[..cut]));
            Assert.Equal((RejectionKind.Invalid, "invalid_image"), (e.Kind, e.Code));
        }
    }

    [Fact]
    public void A_progressive_jpeg_with_hundreds_of_scans_is_refused()
    {
        // jpegtran (libjpeg-turbo-progs) makes a progressive file of 10 scans; its last scan, repeated 600 times
        // before the end marker, gives 609 more. Each scan is a pass over the whole image: that is how a small file
        // keeps a decoder busy for minutes (each repeat is also a bogus progression, only a warning to libjpeg).
        var baseline = NoisyJpeg(64, 48);
        var ordinary = Jpegtran(baseline);
        var lastScan = LastIndexOf(ordinary, 0xFF, 0xDA);
        var end = LastIndexOf(ordinary, 0xFF, 0xD9);
        var scan = ordinary[lastScan..end];
        var progressive = new List<byte>(ordinary[..end]);
        for (var i = 0; i < 600; i++) progressive.AddRange(scan);
        progressive.AddRange(ordinary[end..]);
        var e0 = Assert.Throws<InvalidImageException>(() => ImageDecoder.Decode(progressive.ToArray()));
        Assert.Equal((RejectionKind.Invalid, "invalid_image"), (e0.Kind, e0.Code));
        Assert.Contains("scans", e0.Message);

        // The same file with the scan repeated 20 times: a bogus progression, decoded through as Skia does.
        var repeated = new List<byte>(ordinary[..end]);
        for (var i = 0; i < 20; i++) repeated.AddRange(scan);
        repeated.AddRange(ordinary[end..]);
        using (var turboRepeated = ImageDecoder.Decode(repeated.ToArray(), ImageDecoder.DefaultMaxPixels, null, useTurbo: true))
        using (var skiaRepeated = ImageDecoder.Decode(repeated.ToArray(), ImageDecoder.DefaultMaxPixels, null, useTurbo: false))
            Assert.InRange(Diff(turboRepeated, skiaRepeated).Mean, 0, 0.05);

        // The ordinary progressive file decodes, and like Skia's.
        using var turbo = ImageDecoder.Decode(ordinary, ImageDecoder.DefaultMaxPixels, null, useTurbo: true);
        using var skia = ImageDecoder.Decode(ordinary, ImageDecoder.DefaultMaxPixels, null, useTurbo: false);
        Assert.InRange(Diff(turbo, skia).Mean, 0, 0.05);
    }

    private static int LastIndexOf(byte[] data, byte a, byte b)
    {
        for (var i = data.Length - 2; i >= 0; i--)
            if (data[i] == a && data[i + 1] == b) return i;
        throw new InvalidOperationException($"marker {a:X2}{b:X2} not found");
    }

    private static byte[] Jpegtran(byte[] jpeg)
    {
        var dir = Directory.CreateTempSubdirectory("jpegtran");
        try
        {
            var input = Path.Combine(dir.FullName, "in.jpg");
            var output = Path.Combine(dir.FullName, "out.jpg");
            File.WriteAllBytes(input, jpeg);
            var psi = new ProcessStartInfo("jpegtran", $"-progressive -outfile {output} {input}") { RedirectStandardError = true };
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("jpegtran (apt install libjpeg-turbo-progs)");
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"jpegtran failed: {err}");
            return File.ReadAllBytes(output);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    /// <summary>A photograph-like JPEG (quality 90): gradients under ±20 of per-pixel noise, which makes it large.</summary>
    internal static byte[] NoisyJpeg(int w, int h)
    {
        var rng = new Random(3);
        var px = new byte[w * h * 4];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var i = (y * w + x) * 4;
                var n = rng.Next(-20, 21);
                px[i] = (byte)Math.Clamp(x * 255 / w + n, 0, 255);
                px[i + 1] = (byte)Math.Clamp(y * 255 / h + n, 0, 255);
                px[i + 2] = (byte)Math.Clamp(128 + (int)(60 * Math.Sin(x / 40.0 + y / 70.0)) + n, 0, 255);
                px[i + 3] = 255;
            }
        using var img = RgbaImage.FromRgba(px, w, h);
        return img.Encode(ImageFormat.Jpeg, 90);
    }

    private static (double Mean, int Worst) Diff(RgbaImage a, RgbaImage b)
    {
        long sum = 0;
        var worst = 0;
        for (var y = 0; y < a.Height; y++)
        {
            var ra = a.Row(y);
            var rb = b.Row(y);
            for (var i = 0; i < ra.Length; i++)
            {
                var d = Math.Abs(ra[i] - rb[i]);
                sum += d;
                worst = Math.Max(worst, d);
            }
        }
        return (sum / (a.Width * (double)a.Height * 4), worst);
    }
}
