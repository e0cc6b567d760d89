using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Hailo.Media;
using Hailo.Runtime.Onnx;
using Hailo.TestSupport;
using HailoOcr;
using HailoOcr.Pipeline;
using SkiaSharp;

namespace Hailo.Bench;

/// <summary>
/// hailo-ocr figures: binary size, exec → READY, idle RSS, latency of a 1280×720 image with 10 lines and
/// end-to-end ÷ model-only time. The service under test is the Native AOT binary; the model-only
/// baseline runs the same ONNX models with the same thread count in this process, interleaved with the
/// HTTP requests so both see the same machine load.
/// </summary>
public sealed class OcrBench(string repo, string models)
{
    private const int Threads = 2;
    private const int Requests = 500;

    public async Task<Report> RunAsync()
    {
        var binary = ServiceBench.Binary(repo, "hailo-ocr");
        var report = new Report($"Measured by `make bench` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}; Native AOT linux-x64 binary, cpu.threads={Threads}.");

        var size = new FileInfo(binary).Length;
        report.Add("binary size (without libonnxruntime.so, libSkiaSharp.so)", $"{size / 1e6:0.00} MB", "≤ 15 MB", size <= 15_000_000);

        var (readyLazy, rssIdle) = await Startup(binary, preload: false);
        report.Add("exec → READY=1, model loads on first request (median of 7)", $"{readyLazy:0} ms", "≤ 150 ms", readyLazy <= 150);
        report.Add("idle RSS before model load", $"{rssIdle / 1048576.0:0.0} MiB", "≤ 35 MB", rssIdle <= 35_000_000);
        var (readyLoaded, _) = await Startup(binary, preload: true);
        report.Add("exec → READY=1 with the PP-OCRv4 models loaded (median of 7)", $"{readyLoaded:0} ms");

        var jpeg = Scene();
        var args = new[] { "--port", "{port}", "--models-dir", models, "--models.search_paths", "", "--config", "/dev/null", "--threads", Threads.ToString() };
        await using var p = ServiceProcess.Start(binary, args);
        await p.WaitForDatagram("READY=1", TimeSpan.FromMinutes(2));
        var rssLoaded = Stats.Rss(p.Pid);

        using var baseline = Baseline();
        using var image = ImageDecoder.Decode(jpeg);
        var options = new OcrOptions(new DbOptions { UnclipRatio = 2.0f }, 0.5f, false);
        for (var i = 0; i < 10; i++) { await Post(p.Client, jpeg); baseline.Run(image, options); }

        var e2e = new List<double>();
        var serviceModel = new List<double>();
        var modelOnly = new List<double>();
        var lines = 0;
        for (var round = 0; round < Requests / 25; round++)
        {
            for (var i = 0; i < 25; i++)
            {
                var sw = Stopwatch.StartNew();
                var body = await Post(p.Client, jpeg);
                e2e.Add(sw.Elapsed.TotalMilliseconds);
                serviceModel.Add(body.GetProperty("performance").GetProperty("model_time_ms").GetDouble());
                lines = body.GetProperty("regions").GetArrayLength();
            }
            for (var i = 0; i < 25; i++) modelOnly.Add(baseline.Run(image, options).Models.TotalMs);
        }
        var rssAfter = Stats.Rss(p.Pid);

        report.Add($"latency p50, 1280×720 JPEG with 10 lines ({lines} read), {Requests} requests", $"{Stats.Median(e2e):0.0} ms");
        report.Add("latency p95", $"{Stats.Percentile(e2e, 95):0.0} ms");
        report.Add("model-only time p50 (det + rec ONNX runs, same image, this process)", $"{Stats.Median(modelOnly):0.0} ms");
        var ratio = Stats.Median(e2e) / Stats.Median(modelOnly);
        report.Add("end-to-end ÷ model-only (p50)", $"{ratio:0.000}", "≤ 1.25", ratio <= 1.25);
        report.Add("end-to-end ÷ model time measured inside the service (p50)", $"{Stats.Median(e2e) / Stats.Median(serviceModel):0.000}");
        report.Add("RSS with models loaded, before requests", $"{rssLoaded / 1048576.0:0.0} MiB");
        report.Add($"RSS after {Requests + 10} requests", $"{rssAfter / 1048576.0:0.0} MiB");
        report.Note("End-to-end is the client's view over loopback: upload, JPEG decode, detection resize and normalisation, DB post-processing, perspective crops, recognition pre-processing, CTC, JSON.");
        report.Note("The machine is shared and noisy: compare ratios, not absolute times, across runs.");
        return report;
    }

    private async Task<(double ReadyMs, long IdleRss)> Startup(string binary, bool preload)
    {
        var ready = new List<double>();
        long rss = 0;
        for (var i = 0; i < 7; i++)
        {
            await using var p = ServiceProcess.Start(binary, ["--port", "{port}", "--models-dir", models, "--models.search_paths", "", "--config", "/dev/null",
                "--models.preload", preload ? "true" : "false", "--threads", Threads.ToString()]);
            ready.Add((await p.WaitForDatagram("READY=1", TimeSpan.FromMinutes(2))).TotalMilliseconds);
            if (!preload && i == 0)
            {
                await Task.Delay(1000);
                rss = Stats.Rss(p.Pid);
            }
        }
        return (Stats.Median(ready), rss);
    }

    private static async Task<JsonElement> Post(HttpClient client, byte[] jpeg)
    {
        using var content = new ByteArrayContent(jpeg);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var r = await client.PostAsync("/v1/ocr/extract", content);
        var text = await r.Content.ReadAsStringAsync();
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException(text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private OcrPipeline Baseline()
    {
        var dir = Path.Combine(models, OcrModels.CpuDefault);
        return new OcrPipeline(
            new OnnxTextDetector(new OnnxModel(Path.Combine(dir, OcrModels.DetFile), Threads), 960),
            new OnnxTextRecognizer(new OnnxModel(Path.Combine(dir, OcrModels.RecFile), Threads),
                CtcDecoder.FromDictionaryFile(Path.Combine(dir, OcrModels.DictFile), appendSpace: true), 6),
            null, "baseline");
    }

    /// <summary>A 1280×720 JPEG with 10 lines of text in two columns of five.</summary>
    private static byte[] Scene()
    {
        using var tf = SKTypeface.FromFile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
        using var font = new SKFont(tf, 30);
        using var bmp = new SKBitmap(1280, 720, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using (var c = new SKCanvas(bmp))
        using (var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true })
        {
            c.Clear(new SKColor(250, 248, 240));
            string[] lines = ["Invoice 2026-1187", "Hailo AI HAT+ 2 x 1", "Raspberry Pi 5 8GB x 1", "Subtotal 229.00 EUR", "VAT 19% 43.51 EUR",
                "Ship to: 12 Example Road", "Tracking 1Z999AA10123", "Paid by card ending 4242", "Thank you for your order", "Total 272.51 EUR"];
            for (var i = 0; i < lines.Length; i++)
                c.DrawText(lines[i], i < 5 ? 60 : 680, 150 + (i % 5) * 110, SKTextAlign.Left, font, paint);
        }
        using var img = SKImage.FromBitmap(bmp);
        return img.Encode(SKEncodedImageFormat.Jpeg, 90).ToArray();
    }
}
