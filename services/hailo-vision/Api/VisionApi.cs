using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.GenAI.Api;
using Hailo.GenAI.Chat;
using Hailo.Hosting.Http;
using HailoVision.Engine;
using Microsoft.AspNetCore.Http;

namespace HailoVision.Api;

/// <summary>
/// hailo-vision's endpoints: Ollama's /api/chat and /api/generate with images, OpenAI's /v1/chat/completions with
/// image_url parts, the listings, and the predecessor's /v1/vision/analyze. Requests are read with the shared
/// Hailo.GenAI.Http readers (the same as hailo-ollama's) and run by the shared completion engine and sinks.
/// </summary>
internal sealed class VisionApi(CompletionEngine engine, VisionRegistry registry, VisionConfig config, Func<string, string> pullCommand,
    Hailo.Hosting.Models.ModelStore store, IHttpClientFactoryLite pulls) : IDisposable
{
    private readonly ImageUrlFetcher urls = new(config.Vision);

    public void Dispose() => urls.Dispose();

    public VisionRegistry Registry => registry;
    public CompletionEngine Engine => engine;

    private ImagePolicy Policy => new(config.Vision.MaxImages, (long)config.Vision.MaxImageMb << 20,
        (bytes, _) => ImagePrep.Decode(bytes, config.Vision.MaxImagePixels));

    private RequestImages Images(VisionModel model, IReadOnlyDictionary<string, byte[]>? fetched) => new(Policy, model.Name) { Fetched = fetched };

    /// <summary>The request's http(s) image URLs, fetched as vision.image_urls allows (or a 400 saying why not).</summary>
    private Task<Dictionary<string, byte[]>?> FetchUrlsAsync(JsonElement r, HttpContext http) => urls.FetchAllAsync(r, http.RequestAborted);

    /// <summary>The quantisation a GGUF's file name states (…-Q8_0.gguf → Q8_0), or "".</summary>
    private static string Quantization(string path)
    {
        var name = System.IO.Path.GetFileNameWithoutExtension(path);
        var dash = name.LastIndexOf('-');
        return dash >= 0 && dash + 1 < name.Length && (name[dash + 1] is 'Q' or 'F' or 'q' or 'f') ? name[(dash + 1)..].ToUpperInvariant() : "";
    }

    public VisionModel Resolve(string name)
    {
        var m = registry.Find(name);
        if (m is not null) return m;
        var catalog = VisionModels.Find(name, registry.Backend);
        var hint = catalog is not null ? $"; pull it first: {pullCommand(catalog.Name)}" : "";
        throw new ApiException(404, "model_not_found", $"model '{ClientText.Quote(name)}' not found{hint}") { Param = "model" };
    }

    private async Task RunAsync(CompletionJob job, ICompletionSink sink, long start, CancellationToken ct)
    {
        try { await engine.RunAsync(job, sink, start, ct).ConfigureAwait(false); }
        catch (GenAiException e) when (e.KvCacheBusy && !sink.Started && CpuFallback(job) is { } cpu)
        {
            // device: auto, vision.fallback_to_cpu: the NPU's KV cache stayed with another service; the CPU answers.
            fallbacks++;
            try { await engine.RunAsync(job with { Model = cpu }, sink, start, ct).ConfigureAwait(false); }
            catch (GenAiException e2) { throw Err.From(e2); }
        }
        catch (GenAiException e) { throw Err.From(e); }
    }

    private long fallbacks;

    /// <summary>Requests answered on the CPU because the NPU's KV cache was held elsewhere.</summary>
    public long CpuFallbacks => Interlocked.Read(ref fallbacks);

    /// <summary>The CPU model to answer an NPU job on when the KV cache is held elsewhere, or null (not allowed, not auto, not pulled).</summary>
    private VisionModel? CpuFallback(CompletionJob job) =>
        config.Vision.FallbackToCpu && config.Device == Backend.Auto && job.Model.Backend == Backend.Npu
            ? registry.FindCpu(config.Vision.CpuModel) : null;

    private SamplingOptions Options(JsonElement r)
    {
        r.TryGetProperty("options", out var o);
        return RequestJson.Options(o.ValueKind == JsonValueKind.Undefined ? null : o, null, config.Vision.MaxNumCtx);
    }

    // ---------------------------------------------------------------- Ollama

    public async Task ChatAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var model = Resolve(r.Model());
        var stream = r.Bool("stream") ?? true;
        var keepAlive = r.KeepAlive();
        var turns = ChatRequests.OllamaMessages(r, Images(model, await FetchUrlsAsync(r, http)));
        var tools = ChatRequests.Tools(r);
        var options = Options(r);
        var grammar = ChatRequests.FormatGrammar(r.TryGetProperty("format", out var f) ? f : default, model, "format");
        if (turns.Count == 0)
        {
            await LoadAsync(http, model, keepAlive, stream, chat: true, start);
            return;
        }
        var job = new CompletionJob { Model = model, Turns = turns, Options = options, Grammar = grammar, Tools = tools, KeepAlive = keepAlive, Truncate = r.Bool("truncate") ?? true };
        await RunAsync(job, new OllamaSink(http.Response, model.Name, chat: true, stream), start, http.RequestAborted);
    }

    /// <summary>/api/generate: prompt (+ system) and images (as Frigate sends them) → one user turn.</summary>
    public async Task GenerateAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var model = Resolve(r.Model());
        var prompt = r.Str("prompt") ?? "";
        var system = r.Str("system");
        var stream = r.Bool("stream") ?? true;
        var keepAlive = r.KeepAlive();
        if (r.Bool("raw") == true) throw Err.Bad("'raw' is not supported by a vision model: the images go through its chat template", "raw");
        if (r.Str("suffix") is { Length: > 0 }) throw Err.Bad($"model '{model.Name}' does not support insert (suffix)", "suffix");
        if (r.TryGetProperty("context", out var c) && c.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined))
            throw Err.Bad("'context' (continuing an earlier reply) is not supported by a vision model", "context");
        var images = ChatRequests.OllamaImages(r, "images", Images(model, await FetchUrlsAsync(r, http)));
        var options = Options(r);
        var grammar = ChatRequests.FormatGrammar(r.TryGetProperty("format", out var f) ? f : default, model, "format");
        if (prompt.Length == 0 && images.Count == 0)
        {
            await LoadAsync(http, model, keepAlive, stream, chat: false, start);
            return;
        }
        var turns = new List<ChatTurn>();
        if (system is not null) turns.Add(new ChatTurn("system", system));
        turns.Add(new ChatTurn("user", prompt, Images: images.Count > 0 ? images : null));
        var job = new CompletionJob { Model = model, Turns = turns, Options = options, Grammar = grammar, KeepAlive = keepAlive, Truncate = r.Bool("truncate") ?? true };
        await RunAsync(job, new OllamaSink(http.Response, model.Name, chat: false, stream), start, http.RequestAborted);
    }

    /// <summary>
    /// /api/pull: a catalog model of this service's backend (on the NPU the HEF, on the CPU the text GGUF and its
    /// projector), downloaded by the store as the pull command does, with Ollama's progress lines.
    /// </summary>
    public async Task PullAsync(HttpContext http)
    {
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var name = r.Model();
        var stream = r.Bool("stream") ?? true;
        var manifest = VisionModels.Find(name, registry.Backend)
                       ?? throw new ApiException(404, "model_not_found",
                           $"model '{ClientText.Quote(name)}' is not in this service's catalog for the {registry.Backend.Name()} backend (known: {string.Join(", ", VisionModels.Catalog.Where(m => m.Backend == registry.Backend).Select(VisionModels.ApiName))})") { Param = "model" };
        await OllamaPull.RunAsync(http, store, manifest, name, stream, pulls.Client);
    }

    /// <summary>An empty request: load the model (done_reason "load") or, with keep_alive 0, unload it ("unload").</summary>
    private async Task LoadAsync(HttpContext http, VisionModel model, TimeSpan? keepAlive, bool stream, bool chat, long start)
    {
        string reason;
        long loadNs = 0;
        if (keepAlive == TimeSpan.Zero)
        {
            engine.Scheduler.UnloadByName(model.Name);
            reason = "unload";
        }
        else
        {
            try
            {
                using var lease = await engine.AcquireAsync(model, config.Vision.NumCtx, keepAlive, http.RequestAborted);
                loadNs = lease.LoadNs;
            }
            catch (GenAiException e) { throw Err.From(e); }
            reason = "load";
        }
        var total = (long)(Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1e6);
        void Write(Utf8JsonWriter w)
        {
            w.WriteString("model", model.Name);
            w.WriteString("created_at", JsonOut.Iso(DateTime.UtcNow));
            if (chat)
            {
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                w.WriteString("content", "");
                w.WriteEndObject();
            }
            else w.WriteString("response", "");
            w.WriteBoolean("done", true);
            w.WriteString("done_reason", reason);
            w.WriteNumber("total_duration", total);
            w.WriteNumber("load_duration", loadNs);
        }
        if (stream)
        {
            http.Response.ContentType = "application/x-ndjson";
            await JsonOut.LineAsync(http.Response, Write, http.RequestAborted);
        }
        else await JsonOut.SingleAsync(http.Response, Write, http.RequestAborted);
    }

    public Task TagsAsync(HttpContext http)
    {
        var models = registry.List();
        return JsonOut.SingleAsync(http.Response, w =>
        {
            w.WriteStartArray("models");
            foreach (var m in models)
            {
                w.WriteStartObject();
                w.WriteString("name", m.Name);
                w.WriteString("model", m.Name);
                w.WriteString("modified_at", JsonOut.Iso(m.ModifiedAt));
                w.WriteNumber("size", SafeSize(m.Path));
                w.WriteString("digest", m.Manifest.Files[0].Sha256 ?? "");
                Details(w, m);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }, http.RequestAborted);
    }

    private static long SafeSize(string path)
    {
        try { return new FileInfo(path).Length; } catch (IOException) { return 0; }
    }

    private static void Details(Utf8JsonWriter w, VisionModel m)
    {
        w.WriteStartObject("details");
        w.WriteString("parent_model", "");
        w.WriteString("format", m.Backend == Backend.Npu ? "hef" : "gguf");
        w.WriteString("family", "qwen2vl");
        w.WriteStartArray("families");
        w.WriteStringValue("qwen2vl");
        w.WriteEndArray();
        w.WriteString("parameter_size", "2B");
        w.WriteString("quantization_level", m.Backend == Backend.Npu ? "Q4_0" : Quantization(m.Path));
        w.WriteEndObject();
    }

    public async Task ShowAsync(HttpContext http)
    {
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var m = Resolve(doc.RootElement.Model());
        await JsonOut.SingleAsync(http.Response, w =>
        {
            w.WriteString("license", m.Manifest.License);
            w.WriteString("modelfile", $"# Modelfile generated by hailo-vision\nFROM {m.Path}\n");
            w.WriteString("parameters", "");
            w.WriteString("template", m.Backend == Backend.Npu ? "(the HEF's own chat template, applied by HailoRT)" : "(the GGUF's own chat template, applied by llama.cpp, each image as libmtmd's media marker)");
            Details(w, m);
            w.WriteStartObject("model_info");
            w.WriteString("general.architecture", "qwen2vl");
            w.WriteString("general.format", m.Backend == Backend.Npu ? "hef" : "gguf");
            w.WriteEndObject();
            w.WriteStartArray("capabilities");
            w.WriteStringValue("completion");
            w.WriteStringValue("vision");
            w.WriteEndArray();
            w.WriteString("modified_at", JsonOut.Iso(m.ModifiedAt));
        }, http.RequestAborted);
    }

    public Task PsAsync(HttpContext http)
    {
        var loaded = engine.Scheduler.Loaded;
        return JsonOut.SingleAsync(http.Response, w =>
        {
            w.WriteStartArray("models");
            foreach (var r in loaded)
            {
                var m = (VisionModel)r.Source;
                w.WriteStartObject();
                w.WriteString("name", r.Name);
                w.WriteString("model", r.Name);
                w.WriteNumber("size", r.Model.MemoryBytes);
                w.WriteString("digest", m.Manifest.Files[0].Sha256 ?? "");
                Details(w, m);
                var expires = r.ExpiresAt ?? (r.KeepAlive == KeepAliveValue.Forever ? DateTime.UtcNow.AddYears(100) : DateTime.UtcNow + r.KeepAlive);
                w.WriteString("expires_at", JsonOut.Iso(expires));
                w.WriteNumber("size_vram", r.Model.Backend == Backend.Npu ? r.Model.MemoryBytes : 0);
                w.WriteNumber("context_length", r.Model.ContextSize);
                w.WriteString("backend", r.Model.Backend.Name());
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }, http.RequestAborted);
    }

    // ---------------------------------------------------------------- OpenAI

    public async Task OpenAiChatAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var model = Resolve(r.Model());
        var stream = r.Bool("stream") ?? false;
        var includeUsage = ChatRequests.IncludeUsage(r);
        var turns = ChatRequests.OpenAiMessages(r, Images(model, await FetchUrlsAsync(r, http)));
        List<JsonElement>? tools;
        try { tools = ChatRequests.Tools(r); }
        catch (ApiException e) { throw ChatRequests.OpenAiBad(e.Message, "tools"); }
        var grammar = ChatRequests.OpenAiResponseFormat(r, model);
        var options = ChatRequests.OpenAiOptions(r, null, config.Vision.MaxNumCtx);
        var job = new CompletionJob { Model = model, Turns = turns, Options = options, Grammar = grammar, Tools = tools };
        await RunAsync(job, new OpenAiSink(http.Response, model.Name, chat: true, stream, includeUsage, ChatRequests.OpenAiStreamError), start, http.RequestAborted);
    }

    public Task ModelsAsync(HttpContext http)
    {
        var models = registry.List().Select(OpenAiModelOf).ToList();
        return JsonOut.SingleAsync(http.Response, new OpenAiModelList("list", models), OpenAiJson.Default.OpenAiModelList, http.RequestAborted);
    }

    private static OpenAiModel OpenAiModelOf(VisionModel m) => new(m.Name, "model", new DateTimeOffset(m.ModifiedAt).ToUnixTimeSeconds(), "hailo");

    public Task ModelAsync(HttpContext http, string id)
    {
        var m = (ModelName.TryNormalise(id, out var name) ? registry.Find(name) : null)
                ?? throw new ApiException(404, "model_not_found", $"model '{ClientText.Quote(id)}' not found") { Param = "model" };
        return JsonOut.SingleAsync(http.Response, OpenAiModelOf(m), OpenAiJson.Default.OpenAiModel, http.RequestAborted);
    }

    // ---------------------------------------------------------------- /v1/vision/analyze

    /// <summary>
    /// The predecessor's endpoint: {images: [base64 or data URL...], prompt, temperature, max_tokens, model} → each
    /// image analysed on its own with the prompt: {model, results: [{index, analysis, prompt_tokens, completion_tokens,
    /// finish_reason}], total_inference_time_ms}. Unlike the predecessor, URLs are refused, and the counts are the device's.
    /// </summary>
    public async Task AnalyzeAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var item = ReadAnalyze(r, "", fetched: await FetchUrlsAsync(r, http));
        var results = new List<AnalyzeResult>();
        foreach (var (image, k) in item.Images.Select((x, k) => (x, k)))
            results.Add(await AnalyzeOneAsync(item, [image], k, http.RequestAborted));
        await WriteAnalyzeAsync(http, item.Model, [results], batch: false, start);
    }

    /// <summary>{requests: [{images, prompt, ...}, ...]} → {results: [{results: [...]}, ...]}: each request as /v1/vision/analyze.</summary>
    public async Task AnalyzeBatchAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        if (!r.TryGetProperty("requests", out var reqs) || reqs.ValueKind != JsonValueKind.Array || reqs.GetArrayLength() == 0)
            throw ChatRequests.OpenAiBad("'requests' must be a non-empty array of {images, prompt} objects", "requests");
        if (reqs.GetArrayLength() > config.Vision.MaxImages)
            throw ChatRequests.OpenAiBad($"'requests' has {reqs.GetArrayLength()} entries, more than vision.max_images ({config.Vision.MaxImages})", "requests");
        var items = new List<AnalyzeItem>();
        var counter = new RequestImages(Policy, "") { Fetched = await FetchUrlsAsync(r, http) };
        var i = 0;
        foreach (var q in reqs.EnumerateArray())
        {
            if (q.ValueKind != JsonValueKind.Object) throw ChatRequests.OpenAiBad($"requests[{i}] must be an object", "requests");
            items.Add(ReadAnalyze(q, $"requests[{i}].", counter));
            i++;
        }
        var all = new List<List<AnalyzeResult>>();
        foreach (var item in items)
        {
            var results = new List<AnalyzeResult>();
            foreach (var (image, k) in item.Images.Select((x, k) => (x, k)))
                results.Add(await AnalyzeOneAsync(item, [image], k, http.RequestAborted));
            all.Add(results);
        }
        await WriteAnalyzeAsync(http, items[0].Model, all, batch: true, start);
    }

    private sealed record AnalyzeItem(VisionModel Model, string Prompt, List<ChatImage> Images, SamplingOptions Options);

    private sealed record AnalyzeResult(int Index, string Analysis, int PromptTokens, int CompletionTokens, string FinishReason, double Ms);

    private AnalyzeItem ReadAnalyze(JsonElement r, string where, RequestImages? counter = null, IReadOnlyDictionary<string, byte[]>? fetched = null)
    {
        var name = r.TryGetProperty("model", out var mEl) && mEl.ValueKind != JsonValueKind.Null ? r.Model() : engine.Scheduler.DefaultModel;
        var model = Resolve(name);
        var prompt = r.Str("prompt");
        if (string.IsNullOrWhiteSpace(prompt)) throw ChatRequests.OpenAiBad($"'{where}prompt' is required", "prompt");
        if (!r.TryGetProperty("images", out var imgs) || imgs.ValueKind != JsonValueKind.Array || imgs.GetArrayLength() == 0)
            throw ChatRequests.OpenAiBad($"'{where}images' must be a non-empty array of base64 images or data URLs", "images");
        counter ??= Images(model, fetched);
        var list = new List<ChatImage>();
        var k = 0;
        foreach (var e in imgs.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String) throw ChatRequests.OpenAiBad($"'{where}images[{k}]' must be a string (base64 or a data URL)", "images");
            list.Add(counter.Take(e.GetString(), "images", ChatRequests.OpenAiBad));
            k++;
        }
        var o = ChatRequests.OpenAiOptions(r, null, config.Vision.MaxNumCtx);
        if (r.Int("max_tokens") is null && r.Int("max_completion_tokens") is null) o = o with { NumPredict = config.Vision.AnalyzeMaxTokens };
        return new AnalyzeItem(model, prompt, list, o);
    }

    private async Task<AnalyzeResult> AnalyzeOneAsync(AnalyzeItem item, List<ChatImage> images, int index, CancellationToken ct)
    {
        var t0 = Stopwatch.GetTimestamp();
        var sink = new CollectSink();
        var turns = new List<ChatTurn>
        {
            new("system", config.Vision.AnalyzeSystemPrompt),
            new("user", item.Prompt, Images: images),
        };
        await RunAsync(new CompletionJob { Model = item.Model, Turns = turns, Options = item.Options }, sink, t0, ct);
        var res = sink.Result!;
        return new AnalyzeResult(index, sink.Text.ToString().Trim(), res.Stats.PromptTokens, res.Stats.EvalTokens, res.DoneReason == "length" ? "length" : "stop",
            Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
    }

    private static Task WriteAnalyzeAsync(HttpContext http, VisionModel model, List<List<AnalyzeResult>> all, bool batch, long start) =>
        JsonOut.SingleAsync(http.Response, w =>
        {
            w.WriteString("model", model.Name);
            void Results(List<AnalyzeResult> results)
            {
                w.WriteStartArray("results");
                foreach (var x in results)
                {
                    w.WriteStartObject();
                    w.WriteNumber("index", x.Index);
                    w.WriteString("analysis", x.Analysis);
                    w.WriteString("finish_reason", x.FinishReason);
                    w.WriteStartObject("usage");
                    w.WriteNumber("prompt_tokens", x.PromptTokens);
                    w.WriteNumber("completion_tokens", x.CompletionTokens);
                    w.WriteNumber("total_tokens", x.PromptTokens + x.CompletionTokens);
                    w.WriteEndObject();
                    w.WriteNumber("inference_time_ms", Math.Round(x.Ms, 1));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            if (batch)
            {
                w.WriteStartArray("batch");
                foreach (var results in all)
                {
                    w.WriteStartObject();
                    Results(results);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            else Results(all[0]);
            w.WriteNumber("total_inference_time_ms", Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 1));
        }, http.RequestAborted);

    /// <summary>Collects a whole reply (for /v1/vision/analyze).</summary>
    private sealed class CollectSink : ICompletionSink
    {
        public StringBuilder Text { get; } = new();
        public CompletionResult? Result { get; private set; }
        public bool Started => false;
        public Task PieceAsync(string text, CancellationToken ct) { Text.Append(text); return Task.CompletedTask; }
        public Task ToolCallsAsync(IReadOnlyList<ToolCall> calls, CancellationToken ct) => Task.CompletedTask;
        public Task DoneAsync(CompletionResult result, CancellationToken ct) { Result = result; return Task.CompletedTask; }
        public Task ErrorAsync(GenAiException error, CancellationToken ct) => Task.FromException(error);
    }
}
