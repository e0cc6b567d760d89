using System.Diagnostics;
using Hailo.Media;

namespace Hailo.Bench;

/// <summary>
/// JPEG decoding of the benchmarks' 1280×720 photograph: the system's libjpeg-turbo (SIMD) against the copy inside
/// SkiaSharp (no SIMD), at the sizes the services ask for, interleaved in the same run.
/// </summary>
public sealed class MediaBench
{
    /// <summary>SkiaSharp's own JPEG decode at the smallest DCT scale covering w×h, into RGBA: the baseline.</summary>
    private static void SkiaDecode(byte[] jpeg, int w, int h)
    {
        using var codec = SkiaSharp.SKCodec.Create(new SkiaSharp.SKMemoryStream(jpeg));
        var size = codec.Info.Size;
        for (var k = 1; k <= 8; k++)
        {
            size = codec.GetScaledDimensions(k / 8f);
            if (size.Width >= w && size.Height >= h) break;
        }
        var info = new SkiaSharp.SKImageInfo(size.Width, size.Height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Opaque);
        using var bitmap = new SkiaSharp.SKBitmap(info);
        if (codec.GetPixels(info, bitmap.GetPixels()) != SkiaSharp.SKCodecResult.Success) throw new InvalidOperationException("Skia could not decode the bench photograph");
    }

    public Task<Report> RunAsync()
    {
        var report = new Report($"Measured by `make bench` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}; Release build, one thread; JPEG decoder in use: {ImageDecoder.JpegDecoder}.");
        var jpeg = BenchModels.Photo1280x720();
        foreach (var (w, h, who) in new[] { (1280, 720, "whole image (annotated answers, OCR)"), (640, 360, "1/2: 640×640 letterbox (pose, SCRFD)"), (398, 224, "3/8: CLIP's 224 short side") })
        {
            var turbo = new List<double>();
            var skia = new List<double>();
            for (var i = 0; i < 45; i++)
            {
                var sw = Stopwatch.StartNew();
                using (ImageDecoder.Decode(jpeg, ImageDecoder.DefaultMaxPixels, (_, _) => (w, h))) { }
                if (i >= 5) turbo.Add(sw.Elapsed.TotalMilliseconds);
                sw.Restart();
                SkiaDecode(jpeg, w, h);
                if (i >= 5) skia.Add(sw.Elapsed.TotalMilliseconds);
            }
            double t = Stats.Median(turbo), s = Stats.Median(skia);
            report.Add($"1280×720 JPEG ({jpeg.Length / 1024} KiB) → {who}: libturbojpeg / Skia, p50", $"{t:0.00} / {s:0.00} ms ({t / s:0.00}×)");
        }
        report.Note("Skia: SkiaSharp's own JPEG codec at the same DCT scale into RGBA (what Hailo.Media did before), called directly.");
        report.Note("The bench photograph is gradients under ±20 of per-pixel noise at quality 90: large for its size, so entropy decoding (the same C code in both) is a bigger share than in a camera frame.");
        return Task.FromResult(report);
    }
}
