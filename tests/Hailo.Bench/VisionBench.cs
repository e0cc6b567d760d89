using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hailo.GenAI;
using Hailo.GenAI.Chat;
using Hailo.Media;
using Hailo.TestSupport;
using HailoVision;
using HailoVision.Engine;
using LLama.Native;

namespace Hailo.Bench;

/// <summary>
/// hailo-vision's image preprocessing of a 1920×1080 JPEG (photo-like detail): decode (Hailo.Media, reduced at the
/// DCT where the pixel budget allows), reduction to Qwen2-VL's pixel budget, RGB, and the NPU frame (cover + centre
/// crop to 336×336). Then the CPU VLM path: a generated text GGUF in Qwen2.5-0.5B's shapes (random weights, Q8_0) with
/// a generated CLIP/LLaVA projector, installed as smolvlm:256m, one image and greedy decoding through the Native AOT
/// binary's streamed /api/chat (timed at the client) and through the service's own runner (MtmdRunner) called directly
/// in this process on the same files, with the same thread count, chat template and image preparation.
/// </summary>
public sealed class VisionBench(string repo, string models)
{
    private const int Tokens = 64, Runs = 3, Threads = 2;
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

    public async Task<Report> RunAsync()
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
        await ApiVsDirect(report);
        return report;
    }

    /// <summary>An image of camera-snapshot size (640×480 JPEG): the service decodes it; libmtmd resizes it for the projector.</summary>
    private static byte[] Snapshot()
    {
        using var img = RgbaImage.Filled(640, 480, 90, 140, 200);
        return img.Encode(ImageFormat.Jpeg, 85);
    }

    private async Task ApiVsDirect(Report report)
    {
        var manifest = VisionModels.Find(VisionModels.DefaultCpuModel, Hailo.Core.Backend.Cpu)!;
        var root = Path.Combine(models, "bench-vision");
        var dir = Path.Combine(root, manifest.Name);
        var gguf = Path.Combine(dir, manifest.Files[0].Name);
        var mmproj = Path.Combine(dir, manifest.Files[1].Name);
        if (!File.Exists(gguf) || !File.Exists(mmproj))
        {
            Directory.CreateDirectory(dir);
            GgufWriter.Write(gguf + ".tmp", GgufWriter.Qwen05BShapes());
            MmprojWriter.Write(mmproj, new MmprojWriter.Spec(TextEmbd: 896));
            File.Move(gguf + ".tmp", gguf, true);
        }
        var binary = ServiceBench.Binary(repo, "hailo-vision");
        var jpeg = Snapshot();
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
            NativeLibraryConfig.All.WithAvx(AvxLevel.Avx2); // the AOT binary (x86-64-v3) loads the AVX2 build too
        var http = new List<Run>();
        var direct = new List<Run>();
        await using (var p = ServiceProcess.Start(binary, ["--port", "{port}", "--config", "/dev/null", "--models-dir", root,
                         "--models.search_paths", "", "--threads", Threads.ToString(), "--device", "cpu"]))
        using (var runner = MtmdRunner.Load(gguf, mmproj, Threads, 4096))
        {
            await p.WaitForDatagram("READY=1", TimeSpan.FromMinutes(3));
            for (var i = 0; i <= Runs; i++)
            {
                var prompt = $"Run {i}. What is in this picture?";
                var h = await HttpRun(p.Client, prompt, jpeg);
                var d = DirectRun(runner, prompt, jpeg);
                if (h.PromptTokens != d.PromptTokens) throw new InvalidOperationException($"the API's prompt has {h.PromptTokens} tokens, the direct one {d.PromptTokens}");
                if (i == 0) continue; // warm-up
                http.Add(h);
                direct.Add(d);
            }
        }
        var tpsHttp = Stats.Median(http.Select(x => x.Tps).ToList());
        var tpsDirect = Stats.Median(direct.Select(x => x.Tps).ToList());
        var ttftHttp = Stats.Median(http.Select(x => x.Ttft).ToList());
        var ttftDirect = Stats.Median(direct.Select(x => x.Ttft).ToList());
        var decode = Stats.Median(direct.Select(x => x.DecodeMs).ToList());
        var ratio = tpsHttp / tpsDirect;
        report.Add($"CPU VLM: tokens/s through /api/chat (streamed, client-side; {Tokens} tokens, {Threads} threads)", $"{tpsHttp:F1}");
        report.Add("CPU VLM: tokens/s, the runner called directly", $"{tpsDirect:F1}");
        report.Add("CPU VLM: API ÷ direct", $"{ratio:F3}", "≥ 0.95", ratio >= 0.95);
        report.Add("CPU VLM: time to first token, API", $"{ttftHttp:F1} ms");
        report.Add("CPU VLM: time to first token, direct (image decode included)", $"{ttftDirect:F1} ms");
        report.Add("CPU VLM: first token API − direct", $"{ttftHttp - ttftDirect:F1} ms", "≤ 5 ms", ttftHttp - ttftDirect <= 5);
        report.Add("CPU VLM: 640×480 JPEG decode in that (both sides do it)", $"{decode:F1} ms");
        report.Note($"CPU VLM rows: medians of {Runs} runs after one warm-up, API and direct in turn, each run a new prompt ({http[0].PromptTokens} prompt tokens, 16 of them the image's). " +
                    $"Model: random weights in Qwen2.5-0.5B's shapes (Q8_0, {new FileInfo(gguf).Length >> 20} MB) with a generated 32×32-pixel CLIP projector: the text side's speed is a real 0.5B model's, " +
                    "the image encoder is far smaller than SmolVLM's, and the words are gibberish. The direct side decodes the same JPEG with the service's ImagePrep and renders the same chat template. " +
                    $"Load average during the run: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} shared cores (noisy: read the ratios, not the absolute figures).");
    }

    private sealed record Run(double Ttft, double Tps, int PromptTokens, double DecodeMs);

    private static async Task<Run> HttpRun(HttpClient client, string prompt, byte[] jpeg)
    {
        var body = $$"""{"model":"{{VisionModels.DefaultCpuModel}}","stream":true,"options":{"num_predict":{{Tokens}},"temperature":0,"seed":1},"messages":[{"role":"user","content":{{JsonSerializer.Serialize(prompt)}},"images":["{{Convert.ToBase64String(jpeg)}}"]}]}""";
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/chat") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        var start = Stopwatch.GetTimestamp();
        using var r = await client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        r.EnsureSuccessStatusCode();
        using var lines = new StreamReader(await r.Content.ReadAsStreamAsync());
        double first = 0, last = 0;
        var n = 0;
        while (await lines.ReadLineAsync() is { } line)
        {
            using var d = JsonDocument.Parse(line);
            if (d.RootElement.GetProperty("done").GetBoolean())
            {
                var count = d.RootElement.GetProperty("eval_count").GetInt32();
                if (count < 16) throw new InvalidOperationException("generation ended early: " + line);
                return new Run(first, (count - 1) / ((last - first) / 1000), d.RootElement.GetProperty("prompt_eval_count").GetInt32(), 0);
            }
            var t = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (n++ == 0) first = t;
            last = t;
        }
        throw new InvalidOperationException("the stream ended without a done line");
    }

    private static Run DirectRun(MtmdRunner runner, string prompt, byte[] jpeg)
    {
        var start = Stopwatch.GetTimestamp();
        var image = ImagePrep.Decode(jpeg, 40_000_000);
        var decodeMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var turns = new List<ChatTurn> { new("user", prompt, Images: [image]) };
        var text = runner.RenderChat(turns) ?? throw new InvalidOperationException("no chat template");
        var options = new SamplingOptions { NumPredict = Tokens, Temperature = 0, Seed = 1 };
        double first = 0, last = 0;
        var n = 0;
        var stats = runner.Run(new GenerationInput(text, options, 4096, null, true, turns), _ =>
        {
            var t = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (n++ == 0) first = t;
            last = t;
        }, CancellationToken.None);
        if (stats.EvalTokens < 16) throw new InvalidOperationException($"direct generation ended after {stats.EvalTokens} tokens");
        return new Run(first, (stats.EvalTokens - 1) / ((last - first) / 1000), stats.PromptTokens, decodeMs);
    }
}
