using System.Diagnostics;
using System.Text.Json;
using Hailo.Core;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Metrics;
using Hailo.Hosting.Models;
using Hailo.Media;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using Hailo.Runtime.Onnx;
using HailoClip.Api;
using HailoClip.Index;
using HailoClip.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace HailoClip;

/// <summary>hailo-clip: the service definition, its endpoints and request handling.</summary>
public static class ClipService
{
    public static readonly ServiceDefinition<ClipConfig> Definition = new()
    {
        Name = "hailo-clip",
        DefaultPort = 5000,
        Summary = "CLIP image and text embeddings in one space: zero-shot classification, embeddings and image search.",
        ConfigType = ClipConfigJson.Default.ClipConfig,
        Defaults = () => new ClipConfig(),
        Catalog = ClipModels.Catalog,
        DefaultModels = c => [c.Clip.ModelFor(c.Device)],
        Configure = Configure,
        Map = Map,
    };

    internal static readonly ImageRequestFormat<ClassifyRequest> ClassifyFormat = new()
    {
        Json = ClipJson.Default.ClassifyRequest,
        Image = r => r.Image,
        Options = ["prompts", "top_k", "threshold", "softmax"],
        FromFields = f => new ClassifyRequest
        {
            Prompts = PromptsField(f.Text("prompts")),
            TopK = f.Integer("top_k"),
            Threshold = f.Number("threshold"),
            Softmax = f.Flag("softmax"),
        },
    };

    internal static readonly ImageRequestFormat<EmbedImageRequest> EmbedImageFormat = new()
    {
        Json = ClipJson.Default.EmbedImageRequest,
        Image = r => r.Image,
        Options = [],
        FromFields = _ => new EmbedImageRequest(),
    };

    internal static readonly ImageRequestFormat<SearchRequest> SearchFormat = new()
    {
        Json = ClipJson.Default.SearchRequest,
        Image = r => r.Image,
        Options = ["top_k", "min_score"],
        FromFields = f => new SearchRequest { TopK = f.Integer("top_k"), MinScore = f.Number("min_score") },
    };

    internal static readonly ImageRequestFormat<IndexRequest> IndexFormat = new()
    {
        Json = ClipJson.Default.IndexRequest,
        Image = r => r.Image,
        Options = ["id", "metadata"],
        FromFields = f => new IndexRequest { Id = f.Text("id"), Metadata = MetadataField(f.Text("metadata")) },
    };

    /// <summary>Prompts as a form field or query parameter: a JSON array of strings, or one prompt per line.</summary>
    internal static List<string>? PromptsField(string? value)
    {
        if (value is null) return null;
        if (value.TrimStart().StartsWith('['))
        {
            try
            {
                return JsonSerializer.Deserialize(value, ClipJson.Default.ListString)
                       ?? throw ApiException.BadRequest("invalid_parameter", "'prompts' must be a JSON array of strings or one prompt per line", "prompts");
            }
            catch (JsonException)
            {
                throw ApiException.BadRequest("invalid_parameter", "'prompts' looks like a JSON array but is not an array of strings", "prompts");
            }
        }
        return [.. value.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0)];
    }

    /// <summary>Metadata as a form field: a JSON object.</summary>
    internal static JsonElement? MetadataField(string? value)
    {
        if (value is null) return null;
        try
        {
            using var doc = JsonDocument.Parse(value);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw ApiException.BadRequest("invalid_parameter", "'metadata' must be a JSON object", "metadata");
        }
    }

    private static void Configure(ServiceContext<ClipConfig> ctx)
    {
        ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ClipJson.Default));
        ctx.AddModelEngine(ctx.Config.Clip.CpuModel, ctx.Config.Clip.NpuModel,
            loadCpu: (cpu, loc) => LoadCpu(loc, cpu, ctx.Config.Cpu.EffectiveThreads, ctx.Metrics),
            loadNpu: (npu, vdevice, loc) => LoadNpu(vdevice, loc, npu, ctx.Metrics));
        ctx.Builder.Services.AddSingleton(new TextEmbeddingCache(ctx.Config.Clip.TextCacheEntries));
        ctx.Builder.Services.AddSingleton(new IndexHolder(ctx.Config.Index));
        ctx.Builder.Services.TryAddSingleton<IImageDecoder>(SkiaImageDecoder.Instance);
    }

    internal static ClipPipeline LoadCpu(ModelLocation loc, ModelManifest m, int threads, ServiceMetrics? metrics)
    {
        var tokenizer = ClipTokenizer.Load(loc[m.Files[2].Name]);
        var image = new OnnxModel(loc[m.Files[0].Name], threads);
        try
        {
            var text = new OnnxModel(loc[m.Files[1].Name], threads);
            try
            {
                return new ClipPipeline(new OnnxClipTowers(image, text), tokenizer, m.Name, metrics);
            }
            catch
            {
                text.Dispose();
                throw;
            }
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    internal static ClipPipeline LoadNpu(VDevice vdevice, ModelLocation loc, ModelManifest m, ServiceMetrics? metrics)
    {
        var tokenizer = ClipTokenizer.Load(loc[m.Files[4].Name]);
        var lut = NpyArray.Read(loc[m.Files[2].Name]);
        var projection = NpyArray.Read(loc[m.Files[3].Name]);
        var image = VisionModel.Load(vdevice, loc[m.Files[0].Name]);
        try
        {
            var text = VisionModel.Load(vdevice, loc[m.Files[1].Name], new VisionModelOptions { InputFormat = NpuFormatType.Float32 });
            try
            {
                return new ClipPipeline(new NpuClipTowers(image, text, lut, projection), tokenizer, m.Name, metrics);
            }
            catch
            {
                text.Dispose();
                throw;
            }
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    private static void Map(WebApplication app, ServiceContext<ClipConfig> ctx)
    {
        app.Services.GetRequiredService<ModelEngine<ClipPipeline>>();
        var config = ctx.Config;
        var api = app.MapServiceGroup<ErrorEnvelope>("clip");

        api.MapPost("/v1/classify", (HttpContext http, ModelEngine<ClipPipeline> engine, TextEmbeddingCache cache, [FromServices] IImageDecoder decoder, CancellationToken ct) =>
                ClassifyAsync(http, engine, cache, decoder, config, ct))
            .WithName("classify")
            .WithSummary("Rank text prompts against an image (zero-shot classification)")
            .WithDescription("Send the image as multipart (file field 'image'), as JSON {\"image\": base64 or data URL, \"prompts\": [...]}, or as the raw body " +
                             "with an image/* content type. Several images (up to clip.max_batch): several file parts in one form, or JSON \"images\": [...]; " +
                             "the answer is then {\"results\": [{\"index\", \"classifications\"}, ...]}, one ranking per image in input order. Options (JSON fields, form fields or query parameters): prompts (form and query: a JSON array or one per line), " +
                             "top_k, threshold, softmax. Scores are softmax(logit_scale · cosine) over the prompts, or the cosine similarity with one prompt or softmax=false.")
            .Accepts<ClassifyRequest>("application/json")
            .WithImageUpload("image", ("prompts", "JSON array of strings, or one prompt per line"), ("top_k", "integer ≥ 1"),
                ("threshold", "number; prompts scoring lower are left out"), ("softmax", "true or false"))
            .WithBodyLimit()
            .Produces<ClassifyResponse>(200);

        api.MapPost("/v1/embed/image", (HttpContext http, ModelEngine<ClipPipeline> engine, [FromServices] IImageDecoder decoder, CancellationToken ct) =>
                EmbedImageAsync(http, engine, decoder, config, ct))
            .WithName("embed-image")
            .WithSummary("Embed images (L2-normalised)")
            .WithDescription("JSON {\"image\": base64} or {\"images\": [base64, ...]} (up to clip.max_batch), multipart (file field 'image'; several file parts " +
                             "are a batch, answered as \"embeddings\" in the order sent) or the raw image body.")
            .Accepts<EmbedImageRequest>("application/json")
            .WithImageUpload("image")
            .WithBodyLimit()
            .Produces<EmbedResponse>(200);

        api.MapPost("/v1/embed/text", (HttpContext http, ModelEngine<ClipPipeline> engine, TextEmbeddingCache cache, CancellationToken ct) =>
                EmbedTextAsync(http, engine, cache, config, ct))
            .WithName("embed-text")
            .WithSummary("Embed texts (L2-normalised)")
            .WithDescription("JSON {\"text\": \"...\"} or {\"text\": [...]} or {\"texts\": [...]} (up to clip.max_batch). Repeated texts come from the cache.")
            .Accepts<EmbedTextRequest>("application/json")
            .WithBodyLimit()
            .Produces<EmbedResponse>(200);

        api.MapPost("/v1/embeddings", (HttpContext http, ModelEngine<ClipPipeline> engine, TextEmbeddingCache cache, CancellationToken ct) =>
                OpenAiEmbeddingsAsync(http, engine, cache, config, ct))
            .WithName("embeddings")
            .WithSummary("Text embeddings, OpenAI's shape")
            .WithDescription("JSON {\"input\": string or array of strings, \"model\"?, \"encoding_format\"?: float | base64, \"dimensions\"?}. " +
                             "dimensions other than the model's own (512) is refused: CLIP's embeddings cannot be shortened.")
            .Accepts<OpenAiEmbeddingRequest>("application/json")
            .WithBodyLimit()
            .Produces<OpenAiEmbeddingResponse>(200);

        api.MapPost("/v1/index", (HttpContext http, ModelEngine<ClipPipeline> engine, IndexHolder index, [FromServices] IImageDecoder decoder, CancellationToken ct) =>
                AddToIndexAsync(http, engine, index, decoder, config, ct))
            .WithName("index-add")
            .WithSummary("Add images to the image index (replacing an id that is there)")
            .WithDescription("JSON {\"id\", \"image\", \"metadata\"?} or {\"items\": [{\"id\", \"image\", \"metadata\"?}, ...]}, multipart (file field 'image', fields id and " +
                             "metadata as JSON text) or the raw image body with ?id=. A batch is stored all or nothing; the answer comes once it is on disk.")
            .Accepts<IndexRequest>("application/json")
            .WithImageUpload("image", ("id", "the image's id (1-256 characters)"), ("metadata", "a JSON object"))
            .WithBodyLimit()
            .Produces<IndexResponse>(200).Produces<ErrorEnvelope>(404).Produces<ErrorEnvelope>(409);

        api.MapGet("/v1/index", (ModelEngine<ClipPipeline> engine, IndexHolder index) =>
            {
                var i = index.Get();
                return TypedResults.Json(new IndexStats(i.Count, i.MaxItems, engine.Manifest.Name, i.CountByModel().GetValueOrDefault(engine.Manifest.Name), ImageIndex.FormatVersion),
                    ClipJson.Default.IndexStats);
            })
            .WithName("index-stats").WithSummary("How many images the index holds").Produces<IndexStats>(200).Produces<ErrorEnvelope>(503);

        api.MapDelete("/v1/index/{id}", (string id, IndexHolder index) =>
            {
                var i = index.Get();
                if (!i.Delete(id)) throw new ApiException(404, "not_found", $"no image with id '{ClientText.Quote(id)}' in the index") { Param = "id" };
                return TypedResults.Json(new DeleteResponse(id, true, i.Count), ClipJson.Default.DeleteResponse);
            })
            .WithName("index-delete").WithSummary("Remove an image from the index").Produces<DeleteResponse>(200).Produces<ErrorEnvelope>(404).Produces<ErrorEnvelope>(503);

        api.MapPost("/v1/search", (HttpContext http, ModelEngine<ClipPipeline> engine, TextEmbeddingCache cache, IndexHolder index, [FromServices] IImageDecoder decoder, CancellationToken ct) =>
                SearchAsync(http, engine, cache, index, decoder, config, ct))
            .WithName("search")
            .WithSummary("Search the image index by text or by image")
            .WithDescription("JSON {\"text\": \"...\"} or {\"image\": base64}, with top_k (default 10) and min_score (cosine, default -1); or an image as multipart " +
                             "or raw body with top_k and min_score as fields or query parameters. Only images embedded by the loaded model are searched.")
            .Accepts<SearchRequest>("application/json")
            .WithImageUpload("image", ("top_k", "integer 1-1000"), ("min_score", "number -1 to 1"))
            .WithBodyLimit()
            .Produces<SearchResponse>(200);

        api.MapGet("/v1/models", (ModelStore store, ServiceState state) => TypedResults.Json(ModelList.From(store, state, "zero-shot-image-classification"), ClipJson.Default.ModelList))
            .WithName("models").WithSummary("Models this service can run and their state").Produces<ModelList>(200);
    }

    /// <summary>
    /// Decodes a request's image upright; with <c>clip.reduced_decode</c> a JPEG at the smallest DCT scale whose
    /// size still covers the resize's (shortest side 224).
    /// </summary>
    internal static RgbaImage DecodeImage(IImageDecoder decoder, byte[] bytes, ClipSection c) =>
        decoder.Decode(bytes, c.MaxImagePixels, c.ReducedDecode ? (w, h) => ClipPreprocess.ResizedSize(w, h) : null);

    /// <summary>
    /// A request's images as the image tower takes them (224×224 RGB, resized and centre-cropped), each decoded image
    /// let go as soon as it is cropped: a batch holds its crops (147 KB each), never its decoded images side by side
    /// (a 40-MP PNG is 160 MB decoded; 32 of them in one batch were 5 GB). Decoding is timed into
    /// <paramref name="decodeMs"/>, cropping into the timer's preprocess stage.
    /// </summary>
    internal static List<byte[]> CropImages(IImageDecoder decoder, IEnumerable<byte[]> images, ClipSection c, StageTimer timer, out double decodeMs)
    {
        var crops = new List<byte[]>();
        decodeMs = 0;
        foreach (var bytes in images)
        {
            var start = Stopwatch.GetTimestamp();
            using var image = DecodeImage(decoder, bytes, c);
            decodeMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            start = Stopwatch.GetTimestamp();
            crops.Add(ClipPreprocess.ResizeCrop(image));
            timer.AddSince(StageTimer.Preprocess, start);
        }
        return crops;
    }

    /// <summary>
    /// One image or several: JSON <c>image</c> or <c>images</c> (a list: a batch), a multipart form with one or more
    /// file parts named <c>image</c> or <c>file</c> (more than one: a batch, in the order sent; base64 text fields of
    /// those names count too, after the files), or the raw image body. A batch holds 1 to <paramref name="maxBatch"/>.
    /// </summary>
    internal static async Task<(List<byte[]> Images, T Request, bool Batch)> ReadImagesAsync<T>(HttpRequest http, ImageRequestFormat<T> format,
        Func<T, List<string>?> jsonImages, int maxBatch, CancellationToken ct) where T : class
    {
        if (IsJson(http))
        {
            var body = await JsonBody.ReadAsync(http, format.Json, ct);
            var one = format.Image(body);
            var list = jsonImages(body);
            if (one is not null && list is not null) throw ApiException.BadRequest("invalid_parameter", "send either 'image' or 'images', not both", "images");
            if (list is not null)
            {
                if (list.Count == 0 || list.Count > maxBatch)
                    throw ApiException.BadRequest("invalid_parameter", $"'images' must hold 1 to {maxBatch} images, got {list.Count}", "images");
                return ([.. list.Select(i => ImageInput.FromBase64(i, "images"))], body, true);
            }
            if (one is null) throw ApiException.BadRequest("missing_image", "the JSON body has no 'image' field (base64 or a data URL) and no 'images' list", "image");
            return ([ImageInput.FromBase64(one, "image")], body, false);
        }
        if ((http.ContentType ?? "").StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            var form = await FormBody.ReadAsync(http, ct);
            foreach (var key in form.Keys.Concat(form.Files.Select(f => f.Name)))
                if (Array.IndexOf(format.ImageFields, key) < 0 && Array.IndexOf(format.Options, key) < 0)
                    throw ApiException.BadRequest("unknown_field",
                        $"unknown form field '{ClientText.Quote(key)}'; accepted: {string.Join(", ", format.ImageFields.Concat(format.Options))}", key);
            var parts = form.Files.Count(f => Array.IndexOf(format.ImageFields, f.Name) >= 0)
                        + format.ImageFields.Sum(n => form.TryGetValue(n, out var v) ? v.Count : 0);
            if (parts == 0) await ImageInput.FromFormAsync(form, format.ImageFields, ct); // throws its missing_image error
            if (parts > maxBatch)
                throw ApiException.BadRequest("invalid_parameter", $"the form has {parts} images; at most {maxBatch} (clip.max_batch)", format.ImageFields[0]);
            var images = new List<byte[]>(parts);
            foreach (var file in form.Files)
            {
                if (Array.IndexOf(format.ImageFields, file.Name) < 0) continue;
                using var ms = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
                await file.CopyToAsync(ms, ct);
                images.Add(ms.ToArray());
            }
            foreach (var name in format.ImageFields)
                if (form.TryGetValue(name, out var texts))
                    foreach (var t in texts) images.Add(ImageInput.FromBase64(t ?? "", name));
            return (images, format.FromFields(new RequestFields(k => form.TryGetValue(k, out var v) ? v.ToString() : null)), images.Count > 1);
        }
        var (raw, request) = await ImageRequest.ReadAsync(http, format, ct);
        return ([raw], request, false);
    }

    private static bool IsJson(HttpRequest r) => (r.ContentType ?? "").StartsWith("application/json", StringComparison.OrdinalIgnoreCase);

    private static ClipPerformance Performance(StageTimer t, double decodeMs, long start) =>
        new(Math.Round(decodeMs, 2), Math.Round(t.PreprocessMs, 2), Math.Round(t.ModelMs, 2), Math.Round(t.PostprocessMs, 2),
            Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 2));

    /// <summary>A text is 1 to <see cref="ClipLimits.MaxTextChars"/> characters and not only whitespace.</summary>
    internal static void CheckText(string? text, string field)
    {
        if (text is null || text.Trim().Length == 0) throw ApiException.BadRequest("invalid_parameter", $"'{field}' has an empty text", field);
        if (text.Length > ClipLimits.MaxTextChars)
            throw ApiException.BadRequest("invalid_parameter", $"'{field}' has a text of {text.Length} characters; at most {ClipLimits.MaxTextChars}", field);
    }

    /// <summary>
    /// Text embeddings in input order: from the cache where it has them, the rest in one model run (each distinct text
    /// once) that also runs <paramref name="alsoInside"/> (e.g. the image of a classify request). No model run, and no
    /// queue place, when the cache has them all and nothing else is needed.
    /// </summary>
    internal static async Task<(float[][] Embeddings, int Cached, TResult? Extra)> TextEmbeddingsAsync<TResult>(ModelEngine<ClipPipeline> engine,
        TextEmbeddingCache cache, IReadOnlyList<string> texts, StageTimer timer, ModelSlot<ClipPipeline>.Admission? admission,
        Func<ClipPipeline, TResult>? alsoInside, CancellationToken ct)
    {
        var model = engine.Manifest.Name;
        var result = new float[texts.Count][];
        var missing = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var cached = 0;
        for (var i = 0; i < texts.Count; i++)
        {
            if (missing.TryGetValue(texts[i], out var same)) { same.Add(i); continue; }
            if (cache.TryGet(model, texts[i], out var e)) { result[i] = e; cached++; }
            else missing[texts[i]] = [i];
        }
        if (missing.Count == 0 && alsoInside is null) return (result, cached, default);

        var own = admission is null ? await engine.Slot.AdmitAsync(ct) : null;
        try
        {
            var run = admission ?? own!;
            var extra = await run.RunAsync(p =>
            {
                var x = alsoInside is null ? default : alsoInside(p);
                foreach (var (text, at) in missing)
                {
                    var e = p.EmbedText(text, timer);
                    cache.Put(model, text, e);
                    foreach (var i in at) result[i] = e;
                }
                p.Report(timer);
                return x;
            }, ct);
            return (result, cached, extra);
        }
        finally
        {
            own?.Dispose();
        }
    }

    internal static async Task<IResult> ClassifyAsync(HttpContext http, ModelEngine<ClipPipeline> engine, TextEmbeddingCache cache, IImageDecoder decoder,
        ClipConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var c = config.Clip;
        var (images, request, batch) = await ReadImagesAsync(http.Request, ClassifyFormat, r => r.Images, c.MaxBatch, ct);

        // The images are checked (decoded) before the options, so a bad image is named as such whatever else is wrong.
        using var admission = await engine.Slot.AdmitAsync(ct);
        var timer = new StageTimer();
        var crops = CropImages(decoder, images, c, timer, out var decodeMs);
        var prompts = request.Prompts;
        if (prompts is null || prompts.Count == 0)
            throw ApiException.BadRequest("invalid_parameter", "'prompts' must be a non-empty list of texts", "prompts");
        if (prompts.Count > c.MaxPrompts)
            throw ApiException.BadRequest("invalid_parameter", $"'prompts' has {prompts.Count} texts; at most {c.MaxPrompts}", "prompts");
        foreach (var p in prompts) CheckText(p, "prompts");
        var topK = request.TopK ?? c.TopK;
        if (topK < 1) throw ApiException.BadRequest("invalid_parameter", $"'top_k' must be at least 1, got {topK}", "top_k");
        topK = Math.Min(topK, prompts.Count);
        var threshold = request.Threshold ?? 0;
        if (double.IsNaN(threshold) || threshold < -1 || threshold > 1)
            throw ApiException.BadRequest("invalid_parameter", $"'threshold' must be between -1 and 1, got {threshold}", "threshold");
        var softmax = (request.Softmax ?? c.ApplySoftmax) && prompts.Count > 1;

        var (texts, _, imageEmbeddings) = await TextEmbeddingsAsync(engine, cache, prompts, timer, admission,
            p => crops.Select(i => p.EmbedCropped(i, timer)).ToArray(), ct);

        Classification[] Rank(float[] imageEmbedding)
        {
            var sims = texts.Select(t => (double)ClipPipeline.Dot(imageEmbedding, t)).ToArray();
            var scores = softmax ? Softmax(sims, c.LogitScale) : sims;
            return Enumerable.Range(0, prompts.Count)
                .OrderByDescending(i => scores[i]).ThenBy(i => i)
                .Where(i => scores[i] >= threshold)
                .Take(topK)
                .Select((i, r) => new Classification(prompts[i], Math.Round(scores[i], 6), r + 1, Math.Round(sims[i], 6)))
                .ToArray();
        }
        if (batch)
            return TypedResults.Json(new ClassifyBatchResponse([.. imageEmbeddings!.Select((e, i) => new ImageClassifications(i, Rank(e)))],
                Math.Round(timer.ModelMs, 2), engine.Manifest.Name, engine.Backend.Name(), Performance(timer, decodeMs, start)), ClipJson.Default.ClassifyBatchResponse);
        return TypedResults.Json(new ClassifyResponse(Rank(imageEmbeddings![0]), Math.Round(timer.ModelMs, 2), engine.Manifest.Name, engine.Backend.Name(),
            Performance(timer, decodeMs, start)), ClipJson.Default.ClassifyResponse);
    }

    /// <summary>softmax(scale · s) over the similarities, computed from the largest (stable).</summary>
    internal static double[] Softmax(double[] sims, double scale)
    {
        var max = sims.Max();
        var e = sims.Select(s => Math.Exp(scale * (s - max))).ToArray();
        var sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    internal static async Task<IResult> EmbedImageAsync(HttpContext http, ModelEngine<ClipPipeline> engine, IImageDecoder decoder, ClipConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (images, _, batch) = await ReadImagesAsync(http.Request, EmbedImageFormat, r => r.Images, config.Clip.MaxBatch, ct);

        using var admission = await engine.Slot.AdmitAsync(ct);
        var timer = new StageTimer();
        var crops = CropImages(decoder, images, config.Clip, timer, out var decodeMs);
        var embeddings = await admission.RunAsync(p =>
        {
            var r = crops.Select(i => p.EmbedCropped(i, timer)).ToArray();
            p.Report(timer);
            return r;
        }, ct);
        return TypedResults.Json(new EmbedResponse(batch ? null : embeddings[0], batch ? embeddings : null, embeddings[0].Length, engine.Manifest.Name,
            engine.Backend.Name(), null, Performance(timer, decodeMs, start)), ClipJson.Default.EmbedResponse);
    }

    internal static async Task<IResult> EmbedTextAsync(HttpContext http, ModelEngine<ClipPipeline> engine, TextEmbeddingCache cache, ClipConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var body = await JsonBody.ReadAsync(http.Request, ClipJson.Default.EmbedTextRequest, ct);
        if (body.Text is not null && body.Texts is not null) throw ApiException.BadRequest("invalid_parameter", "send either 'text' or 'texts', not both", "texts");
        var texts = body.Text?.Items ?? body.Texts ?? throw ApiException.BadRequest("invalid_parameter", "the JSON body has no 'text' field", "text");
        var field = body.Text is null ? "texts" : "text";
        var batch = body.Texts is not null || body.Text!.IsArray;
        if (texts.Count == 0 || texts.Count > config.Clip.MaxBatch)
            throw ApiException.BadRequest("invalid_parameter", $"'{field}' must hold 1 to {config.Clip.MaxBatch} texts, got {texts.Count}", field);
        foreach (var t in texts) CheckText(t, field);
        var timer = new StageTimer();
        var (embeddings, cached, _) = await TextEmbeddingsAsync<int>(engine, cache, texts, timer, null, null, ct);
        return TypedResults.Json(new EmbedResponse(batch ? null : embeddings[0], batch ? embeddings : null, embeddings[0].Length, engine.Manifest.Name,
            engine.Backend.Name(), cached, Performance(timer, 0, start)), ClipJson.Default.EmbedResponse);
    }

    internal static async Task<IResult> OpenAiEmbeddingsAsync(HttpContext http, ModelEngine<ClipPipeline> engine, TextEmbeddingCache cache, ClipConfig config, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync(http.Request, ClipJson.Default.OpenAiEmbeddingRequest, ct);
        var texts = body.Input?.Items ?? throw ApiException.BadRequest("invalid_parameter", "'input' is required (a string or an array of strings)", "input");
        if (texts.Count == 0 || texts.Count > config.Clip.MaxBatch)
            throw ApiException.BadRequest("invalid_parameter", $"'input' must hold 1 to {config.Clip.MaxBatch} texts, got {texts.Count}", "input");
        foreach (var t in texts) CheckText(t, "input");
        if (body.Model is { } m && m != engine.Manifest.Name)
            throw new ApiException(404, "model_not_found", $"model '{ClientText.Quote(m)}' is not loaded here; this service embeds with {engine.Manifest.Name}") { Param = "model" };
        var base64 = (body.EncodingFormat ?? "float") switch
        {
            "float" => false,
            "base64" => true,
            var f => throw ApiException.BadRequest("invalid_parameter", $"'encoding_format' must be float or base64, got '{ClientText.Quote(f)}'", "encoding_format"),
        };
        var timer = new StageTimer();
        var (embeddings, _, _) = await TextEmbeddingsAsync<int>(engine, cache, texts, timer, null, null, ct);
        var dim = embeddings[0].Length;
        if (body.Dimensions is { } d && d != dim)
            throw ApiException.BadRequest("unsupported_dimensions", $"'dimensions' {d} is not supported: {engine.Manifest.Name} gives {dim}-dimensional embeddings only", "dimensions");
        var tokens = 0;
        var tokenizer = engine.Loaded?.Tokenizer;
        if (tokenizer is not null) foreach (var t in texts) tokens += tokenizer.Tokenize(t).Length;
        var data = embeddings.Select((e, i) => new OpenAiEmbedding("embedding", i, new EmbeddingValue(e, base64))).ToArray();
        return TypedResults.Json(new OpenAiEmbeddingResponse("list", data, engine.Manifest.Name, new OpenAiUsage(tokens, tokens)), ClipJson.Default.OpenAiEmbeddingResponse);
    }

    /// <summary>An id is 1 to 256 characters without control characters.</summary>
    internal static string CheckId(string? id, string field)
    {
        if (string.IsNullOrEmpty(id)) throw ApiException.BadRequest("invalid_parameter", $"'{field}' is required: the image's id", field);
        if (id.Length > ClipLimits.MaxIdChars || id.Any(char.IsControl))
            throw ApiException.BadRequest("invalid_parameter", $"'{field}' must be 1 to {ClipLimits.MaxIdChars} characters without control characters", field);
        return id;
    }

    internal static string? CheckMetadata(JsonElement? metadata, string field)
    {
        if (metadata is not { } m || m.ValueKind == JsonValueKind.Null) return null;
        if (m.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest("invalid_parameter", $"'{field}' must be a JSON object", field);
        var text = m.GetRawText();
        if (System.Text.Encoding.UTF8.GetByteCount(text) > ClipLimits.MaxMetadataBytes)
            throw ApiException.BadRequest("invalid_parameter", $"'{field}' is larger than {ClipLimits.MaxMetadataBytes} bytes", field);
        return text;
    }

    internal static async Task<IResult> AddToIndexAsync(HttpContext http, ModelEngine<ClipPipeline> engine, IndexHolder holder, IImageDecoder decoder,
        ClipConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var given = new List<(string? Id, string IdField, byte[] Image, JsonElement? Metadata, string MetadataField)>();
        if (IsJson(http.Request))
        {
            var body = await JsonBody.ReadAsync(http.Request, ClipJson.Default.IndexRequest, ct);
            if (body.Items is { } list)
            {
                if (body.Id is not null || body.Image is not null || body.Metadata is not null)
                    throw ApiException.BadRequest("invalid_parameter", "send either 'items' or one item's 'id', 'image' and 'metadata', not both", "items");
                if (list.Count == 0 || list.Count > config.Clip.MaxBatch)
                    throw ApiException.BadRequest("invalid_parameter", $"'items' must hold 1 to {config.Clip.MaxBatch} items, got {list.Count}", "items");
                foreach (var item in list)
                {
                    if (item?.Image is null) throw ApiException.BadRequest("missing_image", "every item of 'items' needs an 'image' (base64 or a data URL)", "items.image");
                    given.Add((item.Id, "items.id", ImageInput.FromBase64(item.Image, "items.image"), item.Metadata, "items.metadata"));
                }
            }
            else
            {
                if (body.Image is null) throw ApiException.BadRequest("missing_image", "the JSON body has no 'image' field (base64 or a data URL)", "image");
                given.Add((body.Id, "id", ImageInput.FromBase64(body.Image, "image"), body.Metadata, "metadata"));
            }
        }
        else
        {
            var (image, request) = await ImageRequest.ReadAsync(http.Request, IndexFormat, ct);
            given.Add((request.Id, "id", image, request.Metadata, "metadata"));
        }

        var index = holder.Get();
        using var admission = await engine.Slot.AdmitAsync(ct);
        var timer = new StageTimer();
        // Images first (a bad image is named as such), then ids and metadata.
        var crops = CropImages(decoder, given.Select(g => g.Image), config.Clip, timer, out var decodeMs);
        var items = given.Select(g => (Id: CheckId(g.Id, g.IdField), Metadata: CheckMetadata(g.Metadata, g.MetadataField))).ToList();
        if (items.Select(i => i.Id).Distinct(StringComparer.Ordinal).Count() != items.Count)
            throw ApiException.BadRequest("invalid_parameter", "'items' names an id twice", "items.id");
        var embeddings = await admission.RunAsync(p =>
        {
            var r = crops.Select(i => p.EmbedCropped(i, timer)).ToArray();
            p.Report(timer);
            return r;
        }, ct);
        var now = DateTime.UtcNow;
        var model = engine.Manifest.Name;
        var replaced = items.Count(i => index.Contains(i.Id));
        var rows = items.Select((item, k) => new IndexItem(item.Id, model, embeddings[k], item.Metadata, now)).ToArray();
        if (!index.Upsert(rows))
            throw new ApiException(409, "index_full", $"the index holds {index.Count} of at most {index.MaxItems} images (index.max_items); delete some first");
        return TypedResults.Json(new IndexResponse([.. items.Select(i => i.Id)], items.Count - replaced, replaced, index.Count, model, Performance(timer, decodeMs, start)),
            ClipJson.Default.IndexResponse);
    }

    internal static async Task<IResult> SearchAsync(HttpContext http, ModelEngine<ClipPipeline> engine, TextEmbeddingCache cache, IndexHolder holder,
        IImageDecoder decoder, ClipConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        SearchRequest request;
        byte[]? image = null;
        if (IsJson(http.Request))
        {
            request = await JsonBody.ReadAsync(http.Request, ClipJson.Default.SearchRequest, ct);
            if (request.Text is null && request.Image is null)
                throw ApiException.BadRequest("missing_image", "the JSON body has neither 'text' nor 'image': search by one of them", "image");
            if (request.Text is not null && request.Image is not null)
                throw ApiException.BadRequest("invalid_parameter", "send one of 'text' and 'image', not both", "text");
            if (request.Image is not null) image = ImageInput.FromBase64(request.Image, "image");
            else CheckText(request.Text, "text");
        }
        else (image, request) = await ImageRequest.ReadAsync(http.Request, SearchFormat, ct);
        var topK = request.TopK ?? 10;
        if (topK is < 1 or > ClipLimits.MaxSearchResults)
            throw ApiException.BadRequest("invalid_parameter", $"'top_k' must be between 1 and {ClipLimits.MaxSearchResults}, got {topK}", "top_k");
        var minScore = request.MinScore ?? -1;
        if (double.IsNaN(minScore) || minScore < -1 || minScore > 1)
            throw ApiException.BadRequest("invalid_parameter", $"'min_score' must be between -1 and 1, got {minScore}", "min_score");
        var index = holder.Get();

        var timer = new StageTimer();
        float[] query;
        double decodeMs = 0;
        if (image is null)
            query = (await TextEmbeddingsAsync<int>(engine, cache, [request.Text!], timer, null, null, ct)).Embeddings[0];
        else
        {
            using var admission = await engine.Slot.AdmitAsync(ct);
            var decodeStart = Stopwatch.GetTimestamp();
            using var decoded = DecodeImage(decoder, image, config.Clip);
            decodeMs = Stopwatch.GetElapsedTime(decodeStart).TotalMilliseconds;
            query = await admission.RunAsync(p =>
            {
                var e = p.EmbedImage(decoded, timer);
                p.Report(timer);
                return e;
            }, ct);
        }
        var hits = index.Search(engine.Manifest.Name, query, topK, (float)minScore);
        var results = hits.Select(h => new SearchHit(h.Item.Id, Math.Round(h.Score, 6), h.Item.Metadata is null ? null : MetadataField(h.Item.Metadata))).ToArray();
        return TypedResults.Json(new SearchResponse(results, results.Length, image is null ? "text" : "image", engine.Manifest.Name, Performance(timer, decodeMs, start)),
            ClipJson.Default.SearchResponse);
    }
}
