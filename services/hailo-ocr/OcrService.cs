using System.Diagnostics;
using Hailo.Core;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Media;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using Hailo.Runtime.Onnx;
using HailoOcr.Api;
using HailoOcr.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HailoOcr;

/// <summary>hailo-ocr: the service definition, its endpoints and request handling.</summary>
public static class OcrService
{
    public static readonly ServiceDefinition<OcrConfig> Definition = new()
    {
        Name = "hailo-ocr",
        DefaultPort = 11436,
        Summary = "Text detection and recognition (PaddleOCR) for images: lines with their quadrilaterals, text and confidence.",
        ConfigType = OcrConfigJson.Default.OcrConfig,
        Defaults = () => new OcrConfig(),
        Catalog = OcrModels.Catalog,
        DefaultModels = c => [c.Ocr.ModelFor(c.Device)],
        Configure = Configure,
        Map = Map,
    };

    private static void Configure(ServiceContext<OcrConfig> ctx)
    {
        ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, OcrJson.Default));
        ctx.AddModelEngine(ctx.Config.Ocr.CpuModel, ctx.Config.Ocr.NpuModel, (cpu, loc) => LoadCpu(ctx, cpu, loc), (npu, vdevice, loc) => LoadNpu(ctx, npu, vdevice, loc));
        ctx.Builder.Services.TryAddSingleton<IImageDecoder>(SkiaImageDecoder.Instance);
    }

    /// <summary>
    /// The OCR models behind <see cref="ModelEngine{T}"/>: one <see cref="OcrPipeline"/> holds the detector, the
    /// recogniser and (when its file is there) the direction classifier of the chosen backend.
    /// </summary>
    private static OcrPipeline LoadCpu(ServiceContext<OcrConfig> ctx, ModelManifest cpu, ModelLocation loc) => Owning(owned =>
    {
        var threads = ctx.Config.Cpu.EffectiveThreads;
        var det = Own(owned, new OnnxModel(loc[OcrModels.DetFile], threads));
        var rec = Own(owned, new OnnxModel(loc[OcrModels.RecFile], threads));
        var cls = Own(owned, new OnnxModel(loc[OcrModels.ClsFile], threads));
        var decoder = CtcDecoder.FromDictionaryFile(loc[OcrModels.DictFile], appendSpace: true);
        return new OcrPipeline(new OnnxTextDetector(det, ctx.Config.Ocr.DetLimitSide), new OnnxTextRecognizer(rec, decoder, ctx.Config.Ocr.RecBatchSize),
            new OnnxDirectionClassifier(cls), cpu.Name, ctx.Metrics);
    });

    private static OcrPipeline LoadNpu(ServiceContext<OcrConfig> ctx, ModelManifest npu, VDevice vdevice, ModelLocation loc) => Owning(owned =>
    {
        var det = Own(owned, VisionModel.Load(vdevice, loc[OcrModels.NpuDetFile]));
        var rec = Own(owned, VisionModel.Load(vdevice, loc[OcrModels.NpuRecFile]));
        // No direction classifier HEF exists; the small ONNX one runs on the CPU when its file is there.
        ITextDirectionClassifier? cls = null;
        if (ctx.Models.Get(ctx.Config.Ocr.CpuModel) is { } cpu && ctx.Models.Locate(cpu).Paths.TryGetValue(OcrModels.ClsFile, out var clsPath))
            cls = new OnnxDirectionClassifier(Own(owned, new OnnxModel(clsPath, 1)));
        return new OcrPipeline(new NpuTextDetector(det), new NpuTextRecognizer(rec), cls, npu.Name, ctx.Metrics);
    });

    /// <summary>Builds a pipeline from several models, disposing those already loaded when a later one fails.</summary>
    private static OcrPipeline Owning(Func<List<IDisposable>, OcrPipeline> build)
    {
        var owned = new List<IDisposable>();
        try
        {
            return build(owned);
        }
        catch
        {
            foreach (var d in Enumerable.Reverse(owned)) d.Dispose();
            throw;
        }
    }

    private static T Own<T>(List<IDisposable> owned, T d) where T : IDisposable
    {
        owned.Add(d);
        return d;
    }

    /// <summary>True when the chosen backend's models read Chinese; the NPU HEF is English only.</summary>
    internal static bool ReadsChinese(ModelEngine<OcrPipeline> engine) => !engine.Choice.IsNpu;

    private static void Map(WebApplication app, ServiceContext<OcrConfig> ctx)
    {
        // Resolve the engine now so /health reports the model state from the first request on.
        app.Services.GetRequiredService<ModelEngine<OcrPipeline>>();

        var api = app.MapServiceGroup<ErrorEnvelope>("ocr");
        api.MapPost("/v1/ocr/extract", (HttpContext http, ModelEngine<OcrPipeline> engine, [FromServices] IImageDecoder decoder, CancellationToken ct) =>
                ExtractAsync(http, engine, decoder, ctx.Config, ct))
            .WithName("extract")
            .WithSummary("Read the text in an image")
            .WithDescription("Send the image as multipart (file field 'image'), as JSON {\"image\": base64 or data URL}, or as the raw body with an image/* content type. Options: languages, use_angle_cls, det_threshold, box_threshold, rec_threshold (form fields, JSON fields or query parameters).")
            .Accepts<OcrRequest>("application/json")
            .WithImageUpload("image", ("languages", "comma-separated languages, e.g. en"), ("use_angle_cls", "true to turn upside-down lines"),
                ("det_threshold", "number"), ("box_threshold", "number"), ("rec_threshold", "number"))
            .WithBodyLimit()
            .Produces<OcrResponse>(200);

        api.MapGet("/v1/models", (ModelStore store, ServiceState state) => TypedResults.Json(ModelList.From(store, state), OcrJson.Default.ModelList))
            .WithName("models").WithSummary("Models this service can run and their state").Produces<ModelList>(200);
        api.MapGet("/models", (ModelStore store, ServiceState state) => TypedResults.Json(ModelList.From(store, state), OcrJson.Default.ModelList))
            .WithName("models-legacy").WithSummary("Same as /v1/models (earlier implementation's path)").Produces<ModelList>(200);
    }

    internal static async Task<IResult> ExtractAsync(HttpContext http, ModelEngine<OcrPipeline> engine, IImageDecoder decoder, OcrConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (bytes, request) = await ImageRequest.ReadAsync(http.Request, RequestFormat, ct);
        var options = Options(request, config);
        var languages = Languages(request, config);
        if (languages.Contains("zh") && !ReadsChinese(engine))
            throw ApiException.BadRequest("unsupported_language", $"the {engine.Backend.Name()} model {engine.Manifest.Name} reads English only; Chinese needs device: cpu", "languages");

        // The image is decoded once this request holds its place in the model's queue: a full queue is a 503 before
        // any decoding, and concurrent uploads are decoded one at a time, not all at once.
        using var admission = await engine.Slot.AdmitAsync(ct);
        var decodeStart = Stopwatch.GetTimestamp();
        using var image = decoder.Decode(bytes, config.Ocr.MaxImagePixels);
        var decodeMs = Stopwatch.GetElapsedTime(decodeStart).TotalMilliseconds;

        var outcome = await admission.RunAsync(p =>
        {
            if (options.UseAngleClassifier && !p.HasClassifier)
                throw ApiException.BadRequest("classifier_unavailable",
                    $"use_angle_cls needs the direction classifier of {config.Ocr.CpuModel}; run: hailo-ocr pull {config.Ocr.CpuModel}", "use_angle_cls");
            return p.Run(image, options);
        }, ct);
        var (pipelineDet, pipelineRec) = engine.Choice.IsNpu ? (OcrModels.NpuDetFile, OcrModels.NpuRecFile) : (OcrModels.DetFile, OcrModels.RecFile);
        var regions = outcome.Lines.Select((l, i) => new OcrRegion(
            l.Text, Math.Round(l.Confidence, 4),
            l.Quad.Select(p => new[] { Math.Round(p.X, 1), Math.Round(p.Y, 1) }).ToArray(),
            "text", i, l.Line, Math.Round(l.DetectionScore, 4), l.Rotated180 ? 180 : 0)).ToArray();
        var text = string.Join('\n', outcome.Lines.GroupBy(l => l.Line).Select(g => string.Join(' ', g.Select(l => l.Text))));
        var detected = DetectLanguages(outcome.Lines.Select(l => l.Text), languages);
        var total = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        var response = new OcrResponse(
            true, text, regions, detected,
            new OcrStatistics(regions.Length, regions.Length == 0 ? 0 : Math.Round(regions.Average(r => r.Confidence), 4)),
            new OcrPerformance(Math.Round(decodeMs, 2), Math.Round(outcome.DetectionMs, 2), Math.Round(outcome.RecognitionMs, 2),
                Math.Round(outcome.Models.TotalMs, 2), Math.Round(total, 2)),
            new OcrImageInfo(image.Width, image.Height),
            new OcrModelInfo(engine.Manifest.Name, engine.Backend.Name(), pipelineDet, pipelineRec));
        return TypedResults.Json(response, OcrJson.Default.OcrResponse);
    }

    internal static readonly ImageRequestFormat<OcrRequest> RequestFormat = new()
    {
        Json = OcrJson.Default.OcrRequest,
        Image = r => r.Image,
        Options = ["languages", "use_angle_cls", "det_threshold", "box_threshold", "rec_threshold"],
        FromFields = f => new OcrRequest
        {
            Languages = f.Text("languages")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(),
            UseAngleCls = f.Flag("use_angle_cls"),
            DetThreshold = f.Number("det_threshold"),
            BoxThreshold = f.Number("box_threshold"),
            RecThreshold = f.Number("rec_threshold"),
        },
    };

    private static OcrOptions Options(OcrRequest r, OcrConfig config)
    {
        static float Fraction(string name, double? v, double fallback, bool allowZero = false)
        {
            var x = v ?? fallback;
            if (double.IsNaN(x) || x < 0 || x >= 1 || (!allowZero && x == 0))
                throw ApiException.BadRequest("invalid_parameter", $"'{name}' must be {(allowZero ? "at least 0" : "greater than 0")} and less than 1, got {x}", name);
            return (float)x;
        }
        var c = config.Ocr;
        return new OcrOptions(
            new DbOptions
            {
                Threshold = Fraction("det_threshold", r.DetThreshold, c.DetThreshold),
                BoxThreshold = Fraction("box_threshold", r.BoxThreshold, c.BoxThreshold),
                UnclipRatio = (float)c.UnclipRatio,
            },
            Fraction("rec_threshold", r.RecThreshold, c.RecThreshold, allowZero: true),
            r.UseAngleCls ?? c.UseAngleCls);
    }

    private static List<string> Languages(OcrRequest r, OcrConfig config)
    {
        var requested = r.Languages is { Count: > 0 } l ? l : config.Ocr.Languages;
        var result = new List<string>();
        foreach (var code in requested)
        {
            if (!OcrLanguages.IsSupported(code))
                throw ApiException.BadRequest("unsupported_language", $"language '{Hailo.Core.ClientText.Quote(code)}' is not supported ({OcrLanguages.Describe()})", "languages");
            var n = OcrLanguages.Normalize(code) == "ch" ? "zh" : OcrLanguages.Normalize(code);
            if (!result.Contains(n)) result.Add(n);
        }
        return result;
    }

    /// <summary>Scripts actually present in the text: Han characters mean zh, Latin letters mean en.</summary>
    private static IReadOnlyList<string> DetectLanguages(IEnumerable<string> texts, List<string> requested)
    {
        bool han = false, latin = false;
        foreach (var t in texts)
            foreach (var ch in t)
            {
                if (ch is >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF') han = true;
                else if (char.IsAsciiLetter(ch)) latin = true;
            }
        var result = new List<string>();
        if (latin) result.Add("en");
        if (han) result.Add("zh");
        return result.Count > 0 ? result : requested;
    }
}
