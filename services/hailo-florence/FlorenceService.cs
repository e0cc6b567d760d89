using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Hailo.Core;
using Hailo.GenAI.Api;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Media;
using Hailo.Runtime;
using Hailo.Runtime.Onnx;
using HailoFlorence.Api;
using HailoFlorence.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HailoFlorence;

/// <summary>hailo-florence: the service definition, its endpoints and request handling.</summary>
public static class FlorenceService
{
    /// <summary>The Ollama version /api/version reports (clients check it for features; this API answers /api/generate with images).</summary>
    public const string OllamaVersion = "0.9.0";

    public static readonly ServiceDefinition<FlorenceConfig> Definition = new()
    {
        Name = "hailo-florence",
        DefaultPort = 11438,
        Summary = "Florence-2 captions, detailed captions, visual questions, OCR (with regions), object detection and phrase grounding.",
        ConfigType = FlorenceConfigJson.Default.FlorenceConfig,
        Defaults = () => new FlorenceConfig(),
        Catalog = FlorenceModels.Catalog,
        DefaultModels = c => [c.Florence.CpuModel],
        Configure = Configure,
        Map = Map,
    };

    private static readonly string[] GenerationOptions = ["max_length", "min_length", "temperature"];

    internal static readonly ImageRequestFormat<CaptionRequest> CaptionFormat = new()
    {
        Json = FlorenceJson.Default.CaptionRequest, Image = r => r.Image, Options = [.. GenerationOptions, "detail"],
        FromFields = f => new CaptionRequest { MaxLength = f.Integer("max_length"), MinLength = f.Integer("min_length"), Temperature = f.Number("temperature"), Detail = f.Text("detail") },
    };

    internal static readonly ImageRequestFormat<VqaRequest> VqaFormat = new()
    {
        Json = FlorenceJson.Default.VqaRequest, Image = r => r.Image, Options = [.. GenerationOptions, "question"],
        FromFields = f => new VqaRequest { MaxLength = f.Integer("max_length"), MinLength = f.Integer("min_length"), Temperature = f.Number("temperature"), Question = f.Text("question") },
    };

    internal static readonly ImageRequestFormat<TaskRequest> TaskFormat = new()
    {
        Json = FlorenceJson.Default.TaskRequest, Image = r => r.Image, Options = [.. GenerationOptions, "text", "annotate"],
        FromFields = f => new TaskRequest { MaxLength = f.Integer("max_length"), MinLength = f.Integer("min_length"), Temperature = f.Number("temperature"), Text = f.Text("text"), Annotate = f.Flag("annotate") },
    };

    private static void Configure(ServiceContext<FlorenceConfig> ctx)
    {
        var s = ctx.Builder.Services;
        s.AddSingleton<IErrorWriter, FlorenceErrorWriter>();
        s.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, FlorenceJson.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(1, OllamaJson.Default);
        });
        var threads = ctx.Config.Cpu.EffectiveThreads;
        // No Florence-2 HEF exists for Hailo-10H: there is no NPU model; device: npu says why instead of loading one.
        ctx.AddModelEngine<FlorenceConfig, FlorencePipeline>(ctx.Config.Florence.CpuModel, null,
            loadCpu: (m, loc) => LoadCpu(loc, m, threads),
            loadNpu: (_, _, _) => throw new InvalidOperationException(FlorenceModels.NoNpuModel));
        s.TryAddSingleton<IImageDecoder>(SkiaImageDecoder.Instance);
    }

    internal static FlorencePipeline LoadCpu(ModelLocation loc, ModelManifest m, int threads)
    {
        var tokenizer = BartTokenizer.Load(loc[m.Files[4].Name]);
        var models = new List<OnnxModel>(4);
        try
        {
            for (var i = 0; i < 4; i++) models.Add(new OnnxModel(loc[m.Files[i].Name], threads));
            return new FlorencePipeline(models[0], models[1], models[2], models[3], tokenizer, m.Name);
        }
        catch
        {
            foreach (var model in models) model.Dispose();
            throw;
        }
    }

    private static void Map(WebApplication app, ServiceContext<FlorenceConfig> ctx)
    {
        app.Services.GetRequiredService<ModelEngine<FlorencePipeline>>();
        if (ctx.Config.Device == Backend.Npu) ctx.State.SetBackend(Backend.Npu, "device: npu, but " + FlorenceModels.NoNpuModel);
        var config = ctx.Config;
        var api = app.MapServiceGroup<FlorenceError>("florence");

        api.MapPost("/v1/caption", (HttpContext http, ModelEngine<FlorencePipeline> e, [FromServices] IImageDecoder d, CancellationToken ct) => CaptionAsync(http, e, d, config, ct))
            .WithName("caption")
            .WithSummary("Caption an image (Florence-2 <CAPTION>, <DETAILED_CAPTION> or <MORE_DETAILED_CAPTION>)")
            .WithDescription("JSON {\"image\": base64 or data URL, \"max_length\", \"min_length\", \"temperature\", \"detail\": caption | detailed | more_detailed}, " +
                             "multipart (file field 'image' or 'file' and the same fields) or the raw image body with the options as query parameters.")
            .Accepts<CaptionRequest>("application/json")
            .WithImageUpload("image", ("max_length", "integer 1-1024"), ("min_length", "integer ≥ 0"), ("temperature", "0 (greedy) to 2"), ("detail", "caption, detailed or more_detailed"))
            .WithBodyLimit()
            .Produces<CaptionResponse>(200);

        api.MapPost("/v1/vqa", (HttpContext http, ModelEngine<FlorencePipeline> e, [FromServices] IImageDecoder d, CancellationToken ct) => VqaAsync(http, e, d, config, ct))
            .WithName("vqa")
            .WithSummary("Ask a question about an image (the question is Florence-2's prompt)")
            .WithDescription("JSON {\"image\", \"question\", \"max_length\", \"min_length\", \"temperature\"}, multipart or raw body with ?question=. " +
                             "Florence-2 base has no VQA task token: the question itself is the prompt its encoder reads with the image.")
            .Accepts<VqaRequest>("application/json")
            .WithImageUpload("image", ("question", "the question (1-2000 characters)"), ("max_length", "integer 1-1024"), ("min_length", "integer ≥ 0"), ("temperature", "0 (greedy) to 2"))
            .WithBodyLimit()
            .Produces<VqaResponse>(200);

        api.MapPost("/v1/florence/{task}", (string task, HttpContext http, ModelEngine<FlorencePipeline> e, [FromServices] IImageDecoder d, CancellationToken ct) => TaskAsync(task, http, e, d, config, ct))
            .WithName("task")
            .WithSummary("Run one Florence-2 task and get its structured result")
            .WithDescription("task: caption, detailed_caption, more_detailed_caption, ocr, ocr_with_region, od, dense_region_caption, region_proposal, " +
                             "caption_to_phrase_grounding, open_vocabulary_detection, region_to_category, region_to_description, region_to_ocr (or the token, e.g. <OD>). " +
                             "Tasks that take a text (grounding: the caption; open-vocabulary detection: the object; region tasks: <loc_x1><loc_y1><loc_x2><loc_y2>) read it from 'text'. " +
                             "Boxes come as bboxes [{label, bbox: [x1, y1, x2, y2]}], OCR regions as regions [{text, bbox: [[x, y] × 4]}], in image pixels.")
            .Accepts<TaskRequest>("application/json")
            .WithImageUpload("image", ("text", "the task's text input"), ("max_length", "integer 1-1024"), ("min_length", "integer ≥ 0"), ("temperature", "0 (greedy) to 2"), ("annotate", "true: also the image with the boxes or quadrilaterals drawn, a JPEG data URL"))
            .WithBodyLimit()
            .Produces<TaskResponse>(200).Produces<FlorenceError>(404);

        api.MapGet("/v1/tasks", () => TypedResults.Json(new TaskList([.. FlorenceTasks.All.Select(t =>
                new TaskInfo(t.RouteName, t.Token, t.Prompt, t.TakesInput, t.Output switch { TaskOutput.Boxes => "bboxes", TaskOutput.Quads => "regions", _ => "text" }))]),
                FlorenceJson.Default.TaskList))
            .WithName("tasks").WithSummary("The Florence-2 tasks, their prompts and what each returns").Produces<TaskList>(200);

        api.MapGet("/v1/models", (ModelStore store, ServiceState state) => TypedResults.Json(ModelList.From(store, state, "image-to-text"), FlorenceJson.Default.ModelList))
            .WithName("models").WithSummary("Models this service can run and their state").Produces<ModelList>(200);

        var ollama = app.MapServiceGroup<OllamaError>("ollama");
        ollama.MapPost("/api/generate", (HttpContext http, ModelEngine<FlorencePipeline> e, [FromServices] IImageDecoder d, CancellationToken ct) => OllamaGenerateAsync(http, e, d, config, ct))
            .WithName("ollama-generate")
            .WithSummary("Ollama's /api/generate with images: a Florence-2 task on the first image")
            .WithDescription("{\"model\", \"prompt\", \"images\": [base64], \"stream\", \"options\": {\"num_predict\", \"temperature\"}}. A prompt that starts with a task token " +
                             "(<OD>, <OCR>, <CAPTION_TO_PHRASE_GROUNDING>a cat, …) runs that task; any other prompt runs florence.ollama_task (default <MORE_DETAILED_CAPTION>), " +
                             "as Florence-2 base does not follow free-form instructions. stream (default true) answers NDJSON.")
            .Accepts<GenerateRequest>("application/json")
            .WithBodyLimit()
            .Produces<GenerateResponse>(200).Produces<OllamaError>(404);
        ollama.MapGet("/api/tags", (ModelEngine<FlorencePipeline> e) => TypedResults.Json(new ListResponse([OllamaModel(config, e)]), OllamaJson.Default.ListResponse))
            .WithName("ollama-tags").WithSummary("The model /api/generate answers to").Produces<ListResponse>(200);
        ollama.MapGet("/api/version", () => TypedResults.Json(new VersionResponse(OllamaVersion), OllamaJson.Default.VersionResponse))
            .WithName("ollama-version").WithSummary("The Ollama API version this service speaks").Produces<VersionResponse>(200);
    }

    private static ListModelResponse OllamaModel(FlorenceConfig config, ModelEngine<FlorencePipeline> e) =>
        new(config.Florence.OllamaModelName + ":latest", config.Florence.OllamaModelName + ":latest", "1970-01-01T00:00:00Z", 0, "",
            new ModelDetails("", "onnx", "florence2", ["florence2"], e.Manifest.Name == FlorenceModels.StandIn ? "stand-in" : "0.23B", "F32"));

    /// <summary>The options of a request checked against their bounds, the config's defaults filled in.</summary>
    internal static GenerationOptions Options(IGenerationFields r, FlorenceSection c)
    {
        var max = r.MaxLength ?? c.MaxLength;
        if (max is < 1 or > FlorenceLimits.MaxLength)
            throw new ApiException(400, "invalid_parameters", $"max_length must be between 1 and {FlorenceLimits.MaxLength}, got {max}") { Param = "max_length" };
        var min = r.MinLength ?? Math.Min(c.MinLength, max);
        if (min < 0 || min > max)
            throw new ApiException(400, "invalid_parameters", $"min_length must be between 0 and max_length ({max}), got {min}") { Param = "min_length" };
        var t = r.Temperature ?? c.Temperature;
        if (!(t >= 0 && t <= FlorenceLimits.MaxTemperature))
            throw new ApiException(400, "invalid_parameters", $"temperature must be between 0 and {FlorenceLimits.MaxTemperature}, got {t.ToString(CultureInfo.InvariantCulture)}") { Param = "temperature" };
        // Sampling is one hypothesis: a temperature above 0 turns the beams off.
        return new GenerationOptions(max, min, t, c.NoRepeatNgramSize, NumBeams: t > 0 ? 1 : c.NumBeams);
    }

    private static string CheckText(string? text, string field, bool required)
    {
        if (text is null || text.Trim().Length == 0)
        {
            if (!required) return "";
            throw new ApiException(400, "invalid_parameters", $"'{field}' is required and must not be blank") { Param = field };
        }
        if (text.Length > FlorenceLimits.MaxTextChars)
            throw new ApiException(400, "invalid_parameters", $"'{field}' is longer than {FlorenceLimits.MaxTextChars} characters") { Param = field };
        return text.Trim();
    }

    private sealed record Run(Generation Generation, TaskResult Result, int Width, int Height, double DecodeMs, double TotalMs, string? Annotated = null);

    /// <param name="promptOf">Builds the prompt once the image decoded (so a bad image is reported before a bad option).</param>
    /// <param name="annotate">Also draw the result's boxes or quadrilaterals on the image (decoded whole for it).</param>
    private static async Task<Run> RunAsync(byte[] bytes, Func<string> promptOf, TaskOutput output, Func<GenerationOptions> options, ModelEngine<FlorencePipeline> engine,
        IImageDecoder decoder, FlorenceConfig config, long start, CancellationToken ct, bool annotate = false)
    {
        using var admission = await engine.Slot.AdmitAsync(ct);
        var t = Stopwatch.GetTimestamp();
        // A large JPEG is decoded at the smallest DCT scale that still covers the 768×768 input (a 4K frame at 1/2); boxes
        // stay in the source's pixels.
        var side = engine.Loaded?.ImageSize ?? 768;
        using var image = decoder.Decode(bytes, config.Florence.MaxImagePixels, annotate ? null : (w, h) => (Math.Min(w, side), Math.Min(h, side)));
        var decodeMs = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        var prompt = promptOf();
        var o = options();
        var (w, h) = (image.SourceWidth, image.SourceHeight);
        var g = await admission.RunAsync(p => p.Generate(image, prompt, o, ct), ct);
        var result = FlorencePostprocess.Parse(g.Text, output, w, h);
        var annotated = annotate ? ImageFormats.DataUrl(Draw(image, result), ImageFormat.Jpeg) : null;
        return new Run(g, result, w, h, decodeMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds, annotated);
    }

    /// <summary>The image with the result's boxes (rectangles) and quadrilaterals (closed outlines) drawn, as a JPEG.</summary>
    internal static byte[] Draw(RgbaImage image, TaskResult result)
    {
        using var a = new ImageAnnotator(image);
        var width = a.Thickness(3);
        Rgb[] colours = [new(230, 25, 75), new(60, 180, 75), new(0, 130, 200), new(245, 130, 48), new(145, 30, 180)];
        var i = 0;
        foreach (var b in result.Boxes) a.Rectangle((float)b.X1, (float)b.Y1, (float)b.X2, (float)b.Y2, colours[i++ % colours.Length], width);
        foreach (var q in result.Quads)
        {
            var c = colours[i++ % colours.Length];
            for (var k = 0; k < q.Points.Length; k++)
            {
                var (p0, p1) = (q.Points[k], q.Points[(k + 1) % q.Points.Length]);
                a.Line((float)p0.X, (float)p0.Y, (float)p1.X, (float)p1.Y, c, width);
            }
        }
        return a.Encode(ImageFormat.Jpeg);
    }

    internal static async Task<IResult> CaptionAsync(HttpContext http, ModelEngine<FlorencePipeline> engine, IImageDecoder decoder, FlorenceConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (bytes, r) = await ImageRequest.ReadAsync(http.Request, CaptionFormat, ct);
        var task = (r.Detail ?? "caption").Trim().ToLowerInvariant() switch
        {
            "caption" or "" => FlorenceTasks.Caption,
            "detailed" or "detailed_caption" => FlorenceTasks.DetailedCaption,
            "more_detailed" or "more_detailed_caption" => FlorenceTasks.MoreDetailedCaption,
            _ => throw new ApiException(400, "invalid_parameters", "detail must be caption, detailed or more_detailed") { Param = "detail" },
        };
        var run = await RunAsync(bytes, () => task.BuildPrompt(null), task.Output, () => Options(r, config.Florence), engine, decoder, config, start, ct);
        return TypedResults.Json(new CaptionResponse(run.Result.Text, (int)Math.Round(run.TotalMs), engine.Manifest.Name, run.Generation.Generated.Length, engine.Backend.Name(), task.RouteName),
            FlorenceJson.Default.CaptionResponse);
    }

    internal static async Task<IResult> VqaAsync(HttpContext http, ModelEngine<FlorencePipeline> engine, IImageDecoder decoder, FlorenceConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (bytes, r) = await ImageRequest.ReadAsync(http.Request, VqaFormat, ct);
        var question = "";
        var run = await RunAsync(bytes, () => question = CheckText(r.Question, "question", required: true), TaskOutput.Text, () => Options(r, config.Florence),
            engine, decoder, config, start, ct);
        return TypedResults.Json(new VqaResponse(run.Result.Text, question, (int)Math.Round(run.TotalMs), engine.Manifest.Name, run.Generation.Generated.Length, engine.Backend.Name()),
            FlorenceJson.Default.VqaResponse);
    }

    internal static async Task<IResult> TaskAsync(string taskName, HttpContext http, ModelEngine<FlorencePipeline> engine, IImageDecoder decoder, FlorenceConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var task = FlorenceTasks.Find(taskName)
                   ?? throw new ApiException(404, "unknown_task", $"no Florence-2 task '{ClientText.Quote(taskName)}'; tasks: {string.Join(", ", FlorenceTasks.All.Select(t => t.RouteName))}") { Param = "task" };
        var (bytes, r) = await ImageRequest.ReadAsync(http.Request, TaskFormat, ct);
        var prompt = "";
        var run = await RunAsync(bytes, () =>
        {
            var text = CheckText(r.Text, "text", required: task.TakesInput);
            if (!task.TakesInput && text.Length > 0)
                throw new ApiException(400, "invalid_parameters", $"the task {task.RouteName} takes no text") { Param = "text" };
            return prompt = task.BuildPrompt(text);
        }, task.Output, () => Options(r, config.Florence), engine, decoder, config, start, ct, r.Annotate ?? false);
        var g = run.Generation;
        var boxes = task.Output == TaskOutput.Boxes
            ? run.Result.Boxes.Select(b => new BoxEntry(b.Label, [R(b.X1), R(b.Y1), R(b.X2), R(b.Y2)])).ToArray() : null;
        var regions = task.Output == TaskOutput.Quads
            ? run.Result.Quads.Select(q => new RegionEntry(q.Label, q.Points.Select(p => new[] { R(p.X), R(p.Y) }).ToArray())).ToArray() : null;
        return TypedResults.Json(new TaskResponse(task.RouteName, prompt, run.Result.Text, boxes, regions, FlorencePostprocess.Clean(g.Text).Trim(),
                new ImageSize(run.Width, run.Height), g.Generated.Length, g.Truncated, engine.Manifest.Name, engine.Backend.Name(),
                new GenerationTimings(R(run.DecodeMs), R(g.PreprocessMs), R(g.VisionMs), R(g.EncoderMs), R(g.DecoderMs), g.Steps, R(run.TotalMs)),
                run.Annotated),
            FlorenceJson.Default.TaskResponse);
    }

    private static double R(double v) => Math.Round(v, 2);

    /// <summary>A prompt that starts with a task token runs that task (the rest is its text input); any other runs the configured task.</summary>
    internal static (FlorenceTask Task, string Input) TaskOfPrompt(string? prompt, FlorenceSection c)
    {
        var p = (prompt ?? "").Trim();
        if (p.StartsWith('<') && p.IndexOf('>') is var end and > 0 && FlorenceTasks.Find(p[..(end + 1)]) is { } t)
            return (t, p[(end + 1)..].Trim());
        return (FlorenceTasks.Find(c.OllamaTask)!, "");
    }

    internal static async Task OllamaGenerateAsync(HttpContext http, ModelEngine<FlorencePipeline> engine, IImageDecoder decoder, FlorenceConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var r = await JsonBody.ReadAsync(http.Request, OllamaJson.Default.GenerateRequest, ct);
        var name = config.Florence.OllamaModelName;
        if (r.Model != name && r.Model != name + ":latest")
            throw new ApiException(404, "model_not_found", $"model '{ClientText.Quote(r.Model)}' not found; this service answers to {name}") { Param = "model" };
        if (r.Images is not { Count: > 0 })
            throw ApiException.BadRequest("missing_image", "Florence-2 needs an image: send it in 'images' (base64)", "images");
        var bytes = ImageInput.FromBase64(r.Images[0], "images");
        var (task, input) = TaskOfPrompt(r.Prompt, config.Florence);
        if (task.TakesInput) input = CheckText(input, "prompt", required: true);
        int? maxLength = null;
        double? temperature = null;
        if (r.Options is { } opts)
        {
            if (opts.TryGetValue("num_predict", out var np))
            {
                if (np.ValueKind != JsonValueKind.Number || !np.TryGetInt32(out var n)) throw ApiException.BadRequest("invalid_parameters", "options.num_predict must be an integer", "num_predict");
                if (n > 0) maxLength = Math.Min(n, FlorenceLimits.MaxLength);
            }
            if (opts.TryGetValue("temperature", out var te))
            {
                if (te.ValueKind != JsonValueKind.Number) throw ApiException.BadRequest("invalid_parameters", "options.temperature must be a number", "temperature");
                temperature = te.GetDouble();
            }
        }
        var o = Options(new TaskRequest { MaxLength = maxLength, Temperature = temperature }, config.Florence);
        var run = await RunAsync(bytes, () => task.BuildPrompt(input), task.Output, () => o, engine, decoder, config, start, ct);
        var text = task.Output == TaskOutput.Text ? run.Result.Text : FlorencePostprocess.Clean(run.Generation.Text).Trim();
        var total = (long)(run.TotalMs * 1e6);
        var model = r.Model;
        var created = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
        var done = new GenerateResponse
        {
            Model = model, CreatedAt = created, Response = r.Stream == false ? text : "", Done = true,
            DoneReason = run.Generation.Truncated ? "length" : "stop",
            TotalDuration = total, LoadDuration = 0, PromptEvalCount = run.Generation.PromptIds.Length,
            PromptEvalDuration = (long)((run.Generation.VisionMs + run.Generation.EncoderMs) * 1e6),
            EvalCount = run.Generation.Generated.Length, EvalDuration = (long)(run.Generation.DecoderMs * 1e6),
        };
        if (r.Stream == false)
        {
            await http.Response.WriteAsJsonAsync(done, OllamaJson.Default.GenerateResponse, cancellationToken: ct);
            return;
        }
        http.Response.ContentType = "application/x-ndjson";
        await JsonSerializer.SerializeAsync(http.Response.Body, new GenerateResponse { Model = model, CreatedAt = created, Response = text, Done = false }, OllamaJson.Default.GenerateResponse, ct);
        await http.Response.Body.WriteAsync("\n"u8.ToArray(), ct);
        await JsonSerializer.SerializeAsync(http.Response.Body, done, OllamaJson.Default.GenerateResponse, ct);
        await http.Response.Body.WriteAsync("\n"u8.ToArray(), ct);
    }
}
