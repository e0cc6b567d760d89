using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hailo.TestSupport;
using LLama;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;

namespace Hailo.Bench;

/// <summary>
/// hailo-ollama on the CPU, in one run: a GGUF of realistic size written by the test writer (random weights in
/// Qwen2.5-0.5B's shapes, Q8_0), the same raw prompt and greedy decoding through the Native AOT binary's HTTP API
/// (streamed /api/generate, timed at the client) and through LLamaSharp called directly in this process (same
/// llama.cpp build, same thread count). Random weights: the speed is a real model's, the words are not.
/// </summary>
internal sealed class OllamaBench(string repo, string models)
{
    private const int Tokens = 64, Runs = 3, Threads = 2;
    private const string Prompt = "The history of the Raspberry Pi begins in 2006, when a group at the University of Cambridge";

    public async Task<Report> RunAsync()
    {
        var dir = Path.Combine(models, "bench-ollama", "qwen2.5:0.5b");
        var gguf = Path.Combine(dir, "qwen2.5-0.5b-instruct-q4_k_m.gguf");
        if (!File.Exists(gguf))
        {
            Directory.CreateDirectory(dir);
            GgufWriter.Write(gguf + ".tmp", GgufWriter.Qwen05BShapes());
            File.Move(gguf + ".tmp", gguf);
        }
        var binary = ServiceBench.Binary(repo, "hailo-ollama");
        var report = new Report($"hailo-ollama, CPU backend (x64 Native AOT, {Threads} threads, {Tokens} tokens, greedy; model: random weights in Qwen2.5-0.5B's shapes, Q8_0, {new FileInfo(gguf).Length >> 20} MB)");

        // Idle: no model at all.
        var empty = Directory.CreateTempSubdirectory("hailo-ollama-bench-").FullName;
        var (readyMs, idleRss) = await ServiceBench.Startup(binary, ["--port", "{port}", "--config", "/dev/null", "--models-dir", empty, "--models.search_paths", ""], runs: 3);
        Directory.Delete(empty, true);

        // Through the HTTP API of the AOT binary and LLamaSharp directly on the same file, run after run in turn (so
        // that a change in the machine's load hits both alike); each run's prompt is new to both (no cached prefix).
        if (RuntimeInformation.ProcessArchitecture == Architecture.X64)
            NativeLibraryConfig.All.WithAvx(AvxLevel.Avx2); // the AOT binary (x86-64-v3) loads the AVX2 build too
        var http = new List<(double Ttft, double Tps)>();
        var direct = new List<(double Ttft, double Tps)>();
        await using (var p = ServiceProcess.Start(binary, ["--port", "{port}", "--config", "/dev/null", "--models-dir", Path.GetDirectoryName(dir)!,
                         "--models.search_paths", "", "--threads", Threads.ToString(), "--device", "cpu"]))
        using (var weights = LLamaWeights.LoadFromFile(new ModelParams(gguf) { ContextSize = 2048, Threads = Threads, BatchThreads = Threads, GpuLayerCount = 0 }))
        {
            await p.WaitForDatagram("READY=1", TimeSpan.FromMinutes(3));
            for (var i = 0; i <= Runs; i++)
            {
                var prompt = $"Run {i}. {Prompt}";
                var h = await HttpRun(p.Client, prompt);
                var d = await DirectRun(weights, prompt);
                if (i == 0) continue; // warm-up
                http.Add(h);
                direct.Add(d);
            }
        }

        var tpsHttp = Stats.Median(http.Select(x => x.Tps).ToList());
        var tpsDirect = Stats.Median(direct.Select(x => x.Tps).ToList());
        var ttftHttp = Stats.Median(http.Select(x => x.Ttft).ToList());
        var ttftDirect = Stats.Median(direct.Select(x => x.Ttft).ToList());
        var ratio = tpsHttp / tpsDirect;
        report.Add("tokens/s through the HTTP API (streamed, client-side)", $"{tpsHttp:F1}");
        report.Add("tokens/s, LLamaSharp called directly", $"{tpsDirect:F1}");
        report.Add("HTTP ÷ direct", $"{ratio:F3}", "≥ 0.95", ratio >= 0.95);
        report.Add("time to first token, HTTP API", $"{ttftHttp:F1} ms");
        report.Add("time to first token, direct", $"{ttftDirect:F1} ms");
        report.Add("first token: HTTP − direct", $"{ttftHttp - ttftDirect:F1} ms", "≤ 5 ms", ttftHttp - ttftDirect <= 5);
        report.Add("idle RSS, no model", $"{idleRss / 1048576.0:F1} MB", "≤ 40 MB", idleRss <= 40L << 20);
        report.Add("exec → READY=1, no model", $"{readyMs:F0} ms");
        report.Note($"Medians of {Runs} runs after one warm-up run each, HTTP and direct in turn; the prompt is sent raw (no template) and is the same both ways. " +
                    $"Load average during the run: {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores (a shared machine: figures move with it). " +
                    "Time to first token includes evaluating the prompt; on the HTTP side it also includes the request and the first NDJSON line. " +
                    "The direct side is LLamaSharp's StatelessExecutor, which creates its context on every call; the service keeps its context, which is why its first token can come sooner.");
        return report;
    }

    private static async Task<(double Ttft, double Tps)> HttpRun(HttpClient client, string prompt)
    {
        var body = JsonSerializer.Serialize(new BenchRequest("qwen2.5:0.5b", prompt, true, new BenchOptions(Tokens, 0, 1)), BenchJson.Default.BenchRequest);
        using var req = new HttpRequestMessage(HttpMethod.Post, "/api/generate") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
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
                if (d.RootElement.GetProperty("eval_count").GetInt32() != Tokens) throw new InvalidOperationException("generation ended early: " + line);
                break;
            }
            var t = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (n++ == 0) first = t;
            last = t;
        }
        // Chunks can carry an incomplete UTF-8 character and be merged; the tokens are the service's eval_count.
        return (first, (Tokens - 1) / ((last - first) / 1000));
    }

    private static async Task<(double Ttft, double Tps)> DirectRun(LLamaWeights weights, string prompt)
    {
        var executor = new StatelessExecutor(weights, new ModelParams("") { ContextSize = 2048, Threads = Threads, BatchThreads = Threads });
        var ip = new InferenceParams { MaxTokens = Tokens, SamplingPipeline = new GreedySamplingPipeline(), AntiPrompts = [] };
        var start = Stopwatch.GetTimestamp();
        double first = 0, last = 0;
        var n = 0;
        await foreach (var _ in executor.InferAsync(prompt, ip))
        {
            var t = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (n++ == 0) first = t;
            last = t;
        }
        if (n != Tokens) throw new InvalidOperationException($"direct generation gave {n} pieces, not {Tokens}");
        return (first, (Tokens - 1) / ((last - first) / 1000));
    }
}

internal sealed record BenchOptions([property: System.Text.Json.Serialization.JsonPropertyName("num_predict")] int NumPredict,
    [property: System.Text.Json.Serialization.JsonPropertyName("temperature")] double Temperature,
    [property: System.Text.Json.Serialization.JsonPropertyName("seed")] int Seed);

internal sealed record BenchRequest([property: System.Text.Json.Serialization.JsonPropertyName("model")] string Model,
    [property: System.Text.Json.Serialization.JsonPropertyName("prompt")] string Prompt,
    [property: System.Text.Json.Serialization.JsonPropertyName("raw")] bool Raw,
    [property: System.Text.Json.Serialization.JsonPropertyName("options")] BenchOptions Options);

[System.Text.Json.Serialization.JsonSerializable(typeof(BenchRequest))]
internal sealed partial class BenchJson : System.Text.Json.Serialization.JsonSerializerContext;
