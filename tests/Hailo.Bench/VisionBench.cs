using System.Diagnostics;
using Hailo.Media;
using HailoVision.Engine;

namespace Hailo.Bench;

/// <summary>
/// hailo-vision's image preprocessing of a 1920×1080 JPEG (photo-like detail): decode (Hailo.Media, reduced at the
/// DCT where the pixel budget allows), reduction to Qwen2-VL's pixel budget, RGB, and the NPU frame (cover + centre
/// crop to 336×336). No VLM runs here: the NPU's generation is HailoRT's, and the CPU path is not built.
/// </summary>
public sealed class VisionBench
{
    private static byte[] Photo1920x1080()
    {
        var rng = new Random(5);
        var px = new byte[1920 * 1080 * 4];
        for (var y = 0; y < 1080; y++)
            for (var x = 0; x < 1920; x++)
            {
                var i = (y * 1920 + x) * 4;
                var n = rng.Next(-20, 21);
                px[i] = (byte)Math.Clamp(x / 8 + n, 0, 255);
                px[i + 1] = (byte)Math.Clamp(y / 5 + n, 0, 255);
                px[i + 2] = (byte)Math.Clamp(128 + (int)(60 * Math.Sin(x / 40.0 + y / 70.0)) + n, 0, 255);
                px[i + 3] = 255;
            }
        using var img = RgbaImage.FromRgba(px, 1920, 1080);
        return img.Encode(ImageFormat.Jpeg, 90);
    }

    public Task<Report> RunAsync()
    {
        var report = new Report($"Measured by `make bench` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}; Release build, one thread; JPEG decoder in use: {ImageDecoder.JpegDecoder}.");
        var jpeg = Photo1920x1080();
        var decode = new List<double>();
        var frame = new List<double>();
        var size = (0, 0);
        for (var i = 0; i < 35; i++)
        {
            var sw = Stopwatch.StartNew();
            var img = ImagePrep.Decode(jpeg, ImageDecoder.DefaultMaxPixels);
            var t1 = sw.Elapsed.TotalMilliseconds;
            _ = ImagePrep.CoverCrop(img, 336, 336);
            if (i >= 5) { decode.Add(t1); frame.Add(sw.Elapsed.TotalMilliseconds - t1); }
            size = (img.Width, img.Height);
        }
        report.Add($"1920×1080 JPEG ({jpeg.Length / 1024} KiB) → decoded RGB {size.Item1}×{size.Item2} (pixel budget), p50", $"{Stats.Median(decode):0.0} ms");
        report.Add("→ NPU frame 336×336 (cover, bilinear, centre crop), p50", $"{Stats.Median(frame):0.00} ms");
        report.Note("The frame size of the real Qwen2-VL HEF comes from hs_vlm_frame_spec at load; 336×336 is the fake's and the earlier service's.");
        return Task.FromResult(report);
    }
}
