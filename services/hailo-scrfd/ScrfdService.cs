using System.Diagnostics;
using System.Globalization;
using Hailo.Core;
using Hailo.Face;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Media;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using Hailo.Runtime.Onnx;
using HailoScrfd.Api;
using HailoScrfd.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace HailoScrfd;

/// <summary>hailo-scrfd: the service definition, its endpoints and request handling.</summary>
public static class ScrfdService
{
    public static readonly ServiceDefinition<ScrfdConfig> Definition = new()
    {
        Name = "hailo-scrfd",
        DefaultPort = 5001,
        Summary = "Face detection (SCRFD): per face a box, a score and five landmarks; faces aligned to ArcFace's 112×112 template.",
        ConfigType = ScrfdConfigJson.Default.ScrfdConfig,
        Defaults = () => new ScrfdConfig(),
        Catalog = ScrfdModels.Catalog,
        DefaultModels = c => [c.Scrfd.ModelFor(c.Device)],
        Configure = Configure,
        Map = Map,
    };

    private static readonly string[] CommonOptions = ["conf_threshold", "nms_threshold", "max_faces", "min_face_size"];

    internal static readonly ImageRequestFormat<DetectRequest> DetectFormat = new()
    {
        Json = ScrfdJson.Default.DetectRequest,
        Image = r => r.Image,
        Options = [.. CommonOptions, "return_landmarks", "annotate", "format", "image_id"],
        FromFields = f => new DetectRequest
        {
            ConfThreshold = f.Number("conf_threshold"),
            NmsThreshold = f.Number("nms_threshold"),
            MaxFaces = f.Integer("max_faces"),
            MinFaceSize = f.Integer("min_face_size"),
            ReturnLandmarks = f.Flag("return_landmarks"),
            Annotate = f.Flag("annotate"),
            Format = f.Text("format"),
            ImageId = f.Integer("image_id"),
        },
    };

    internal static readonly ImageRequestFormat<AlignRequest> AlignFormat = new()
    {
        Json = ScrfdJson.Default.AlignRequest,
        Image = r => r.Image,
        Options = [.. CommonOptions, "format"],
        FromFields = f => new AlignRequest
        {
            ConfThreshold = f.Number("conf_threshold"),
            NmsThreshold = f.Number("nms_threshold"),
            MaxFaces = f.Integer("max_faces"),
            MinFaceSize = f.Integer("min_face_size"),
            Format = f.Text("format"),
        },
    };

    private static void Configure(ServiceContext<ScrfdConfig> ctx)
    {
        ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ScrfdJson.Default));
        ctx.AddModelEngine(ctx.Config.Scrfd.CpuModel, ctx.Config.Scrfd.NpuModel,
            loadCpu: (cpu, loc) => new ScrfdPipeline(new FacePipeline(new OnnxScrfdDetector(new OnnxModel(loc[cpu.Files[0].Name], ctx.Config.Cpu.EffectiveThreads)), null, cpu.Name), ctx.Metrics),
            loadNpu: (npu, vdevice, loc) => new ScrfdPipeline(new FacePipeline(new NpuScrfdDetector(VisionModel.Load(vdevice, loc[npu.Files[0].Name])), null, npu.Name), ctx.Metrics));
        ctx.Builder.Services.TryAddSingleton<IImageDecoder>(SkiaImageDecoder.Instance);
    }

    private static void Map(WebApplication app, ServiceContext<ScrfdConfig> ctx)
    {
        app.Services.GetRequiredService<ModelEngine<ScrfdPipeline>>();
        var api = app.MapServiceGroup<ErrorEnvelope>("faces");
        api.MapPost("/v1/detect", (HttpContext http, ModelEngine<ScrfdPipeline> engine, [FromServices] IImageDecoder decoder, CancellationToken ct) =>
                DetectAsync(http, engine, decoder, ctx.Config, ct))
            .WithName("detect")
            .WithSummary("Find faces with their five landmarks")
            .WithDescription("Send the image as multipart (file field 'image'), as JSON {\"image\": base64 or data URL}, or as the raw body with an image/* content type. " +
                             "Options (form fields, JSON fields or query parameters): conf_threshold, nms_threshold, max_faces, min_face_size, return_landmarks, annotate, format (json | coco), image_id.")
            .Accepts<DetectRequest>("application/json")
            .WithImageUpload("image", ("conf_threshold", "number 0-1"), ("nms_threshold", "number 0-1"), ("max_faces", "integer 1-500"),
                ("min_face_size", "integer pixels"), ("return_landmarks", "true or false"), ("annotate", "true or false"), ("format", "json | coco"), ("image_id", "integer, for format=coco"))
            .WithBodyLimit()
            .Produces<DetectResponse>(200);
        api.MapPost("/v1/align", (HttpContext http, ModelEngine<ScrfdPipeline> engine, [FromServices] IImageDecoder decoder, CancellationToken ct) =>
                AlignAsync(http, engine, decoder, ctx.Config, ct))
            .WithName("align")
            .WithSummary("Find faces and warp each to ArcFace's 112×112 template")
            .WithDescription("The image as for /v1/detect. Each face's five landmarks are mapped onto the ArcFace reference points by the least-squares " +
                             "similarity transform (scale, rotation, translation), and the face is warped through it into a 112×112 crop. " +
                             "Options: conf_threshold, nms_threshold, max_faces, min_face_size, format (jpeg | png, the crops' encoding).")
            .Accepts<AlignRequest>("application/json")
            .WithImageUpload("image", ("conf_threshold", "number 0-1"), ("nms_threshold", "number 0-1"), ("max_faces", "integer 1-500"),
                ("min_face_size", "integer pixels"), ("format", "jpeg | png"))
            .WithBodyLimit()
            .Produces<AlignResponse>(200);
        api.MapGet("/v1/models", (ModelStore store, ServiceState state) => TypedResults.Json(ModelList.From(store, state, "face-detection"), ScrfdJson.Default.ModelList))
            .WithName("models").WithSummary("Models this service can run and their state").Produces<ModelList>(200);
    }

    internal static float Fraction(string name, double? v, double fallback, bool allowZero)
    {
        var x = v ?? fallback;
        if (double.IsNaN(x) || x < 0 || x > 1 || (!allowZero && x == 0))
            throw ApiException.BadRequest("invalid_parameter", $"'{name}' must be {(allowZero ? "at least 0" : "greater than 0")} and at most 1, got {x}", name);
        return (float)x;
    }

    internal static FaceDetectOptions DetectOptions(double? conf, double? nms, int? maxFaces, int? minSize, ScrfdSection c)
    {
        var max = maxFaces ?? c.MaxFaces;
        if (max is < 1 or > ScrfdLimits.MaxFaces)
            throw ApiException.BadRequest("invalid_parameter", $"'max_faces' must be between 1 and {ScrfdLimits.MaxFaces}, got {max}", "max_faces");
        var min = minSize ?? c.MinFaceSize;
        if (min is < 0 or > 10_000)
            throw ApiException.BadRequest("invalid_parameter", $"'min_face_size' must be between 0 and 10000, got {min}", "min_face_size");
        return new FaceDetectOptions(Fraction("conf_threshold", conf, c.ConfThreshold, allowZero: true), Fraction("nms_threshold", nms, c.NmsThreshold, allowZero: false), max, min);
    }

    internal sealed record DetectResolved(FaceDetectOptions Detect, bool Landmarks, bool Annotate, bool Coco, long ImageId);

    internal static DetectResolved Resolve(DetectRequest r, ScrfdConfig config)
    {
        var coco = (r.Format ?? "json").Trim().ToLowerInvariant() switch
        {
            "json" or "" => false,
            "coco" => true,
            var f => throw ApiException.BadRequest("invalid_parameter", $"'format' must be json or coco, got '{ClientText.Quote(f)}'", "format"),
        };
        if (r.ImageId is < 0) throw ApiException.BadRequest("invalid_parameter", $"'image_id' must not be negative, got {r.ImageId}", "image_id");
        return new DetectResolved(DetectOptions(r.ConfThreshold, r.NmsThreshold, r.MaxFaces, r.MinFaceSize, config.Scrfd),
            r.ReturnLandmarks ?? config.Scrfd.ReturnLandmarks, r.Annotate ?? false, coco, r.ImageId ?? 0);
    }

    internal static ImageFormat AlignedFormat(string? requested, ScrfdSection c) => (requested ?? c.AlignedFormat).Trim().ToLowerInvariant() switch
    {
        "jpeg" or "jpg" => ImageFormat.Jpeg,
        "png" => ImageFormat.Png,
        var f => throw ApiException.BadRequest("invalid_parameter", $"'format' must be jpeg or png, got '{ClientText.Quote(f)}'", "format"),
    };

    internal static async Task<IResult> DetectAsync(HttpContext http, ModelEngine<ScrfdPipeline> engine, IImageDecoder decoder, ScrfdConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (bytes, request) = await ImageRequest.ReadAsync(http.Request, DetectFormat, ct);
        var options = Resolve(request, config);
        using var admission = await engine.Slot.AdmitAsync(ct);
        var decodeStart = Stopwatch.GetTimestamp();
        // Detection only (an annotated image is drawn at the decoded size): a JPEG may be decoded reduced to the
        // detector's input size; boxes and landmarks stay in source pixels.
        var loaded = engine.Loaded?.Face;
        using var image = decoder.Decode(bytes, config.Scrfd.MaxImagePixels, loaded is null || options.Annotate ? null : loaded.DetectorFittedSize);
        var decodeMs = Stopwatch.GetElapsedTime(decodeStart).TotalMilliseconds;
        var timings = new FaceTimings();
        var (faces, file) = await admission.RunAsync(p =>
        {
            var found = p.Face.Detect(image, options.Detect, timings);
            p.Report(timings);
            return (found, p.ModelFile);
        }, ct);

        if (options.Coco)
            return TypedResults.Json(faces.Select(f => ToCoco(f, options.ImageId)).ToArray(), ScrfdJson.Default.CocoFaceResultArray);

        var annotateStart = Stopwatch.GetTimestamp();
        string? annotated = options.Annotate ? ImageFormats.DataUrl(FaceRenderer.Draw(image, faces, options.Landmarks, ImageFormat.Jpeg), ImageFormat.Jpeg) : null;
        var annotateMs = annotated is null ? 0 : Stopwatch.GetElapsedTime(annotateStart).TotalMilliseconds;
        return TypedResults.Json(new DetectResponse(
            faces.Select((f, i) => ToEntry(f, i, options.Landmarks)).ToArray(),
            faces.Count,
            (int)Math.Round(timings.ModelMs),
            engine.Manifest.Name,
            engine.Backend.Name(),
            file,
            new ImageSize(image.SourceWidth, image.SourceHeight),
            Performance(decodeMs, timings, annotateMs, start),
            annotated), ScrfdJson.Default.DetectResponse);
    }

    internal static async Task<IResult> AlignAsync(HttpContext http, ModelEngine<ScrfdPipeline> engine, IImageDecoder decoder, ScrfdConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (bytes, request) = await ImageRequest.ReadAsync(http.Request, AlignFormat, ct);
        var detect = DetectOptions(request.ConfThreshold, request.NmsThreshold, request.MaxFaces, request.MinFaceSize, config.Scrfd);
        var format = AlignedFormat(request.Format, config.Scrfd);
        using var admission = await engine.Slot.AdmitAsync(ct);
        var decodeStart = Stopwatch.GetTimestamp();
        using var image = decoder.Decode(bytes, config.Scrfd.MaxImagePixels, null);
        var decodeMs = Stopwatch.GetElapsedTime(decodeStart).TotalMilliseconds;
        var timings = new FaceTimings();
        var faces = await admission.RunAsync(p =>
        {
            var found = p.Face.Detect(image, detect, timings);
            p.Report(timings);
            return found;
        }, ct);
        var warpStart = Stopwatch.GetTimestamp();
        var aligned = new List<AlignedFace>(faces.Count);
        for (var i = 0; i < faces.Count; i++)
        {
            var f = faces[i];
            // Landmarks that coincide (a degenerate detection) have no alignment: the face is left out.
            if (FaceAligner.TransformFor(f.Landmarks) is not { } t) continue;
            using var crop = FaceAligner.Warp(image, t, FaceLandmarks.AlignedSize, FaceLandmarks.AlignedSize);
            aligned.Add(new AlignedFace(i, Bbox(f), Math.Round(f.Score, 4), Landmarks(f), t.ToMatrix().Select(v => Math.Round(v, 6)).ToArray(),
                ImageFormats.DataUrl(crop.Encode(format, 95), format)));
        }
        timings.PostprocessMs += Stopwatch.GetElapsedTime(warpStart).TotalMilliseconds;
        return TypedResults.Json(new AlignResponse(aligned, aligned.Count, engine.Manifest.Name, engine.Backend.Name(), FaceLandmarks.AlignedSize,
            new ImageSize(image.SourceWidth, image.SourceHeight), Performance(decodeMs, timings, 0, start)), ScrfdJson.Default.AlignResponse);
    }

    internal static ScrfdPerformance Performance(double decodeMs, FaceTimings t, double annotateMs, long start) =>
        new(Math.Round(decodeMs, 2), Math.Round(t.PreprocessMs, 2), Math.Round(t.ModelMs, 2), Math.Round(t.PostprocessMs, 2), Math.Round(annotateMs, 2),
            Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 2));

    internal static double[] Bbox(DetectedFace f) => [Math.Round(f.X1, 1), Math.Round(f.Y1, 1), Math.Round(f.Width, 1), Math.Round(f.Height, 1)];

    internal static FaceLandmark[] Landmarks(DetectedFace f) =>
        f.Landmarks.Select((p, k) => new FaceLandmark(FaceLandmarks.Names[k], Math.Round(p.X, 1), Math.Round(p.Y, 1))).ToArray();

    internal static FaceEntry ToEntry(DetectedFace f, int index, bool landmarks) =>
        new(index, Bbox(f), [Math.Round(f.X1, 1), Math.Round(f.Y1, 1), Math.Round(f.X2, 1), Math.Round(f.Y2, 1)], Math.Round(f.Score, 4),
            landmarks ? Landmarks(f) : null);

    internal static CocoFaceResult ToCoco(DetectedFace f, long imageId)
    {
        var k = new double[3 * FaceLandmarks.Count];
        for (var j = 0; j < FaceLandmarks.Count; j++)
            (k[3 * j], k[3 * j + 1], k[3 * j + 2]) = (Math.Round(f.Landmarks[j].X, 2), Math.Round(f.Landmarks[j].Y, 2), 2);
        return new CocoFaceResult(imageId, 1, [Math.Round(f.X1, 2), Math.Round(f.Y1, 2), Math.Round(f.Width, 2), Math.Round(f.Height, 2)],
            Math.Round(f.Score, 4), k, FaceLandmarks.Count);
    }
}
