using System.Diagnostics;
using Hailo.Core;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Media;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using Hailo.Runtime.Onnx;
using HailoPose.Api;
using HailoPose.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HailoPose;

/// <summary>hailo-pose: the service definition, its endpoints and request handling.</summary>
public static class PoseService
{
    public static readonly ServiceDefinition<PoseConfig> Definition = new()
    {
        Name = "hailo-pose",
        DefaultPort = 11440,
        Summary = "Human pose estimation (YOLOv8-pose): per person a box, a score and 17 COCO keypoints with the skeleton.",
        ConfigType = PoseConfigJson.Default.PoseConfig,
        Defaults = () => new PoseConfig(),
        Catalog = PoseModels.Catalog,
        DefaultModels = c => [c.Pose.ModelFor(c.Device)],
        Configure = Configure,
        Map = Map,
    };

    internal static readonly ImageRequestFormat<PoseRequest> RequestFormat = new()
    {
        Json = PoseJson.Default.PoseRequest,
        Image = r => r.Image,
        Options = ["confidence_threshold", "iou_threshold", "max_detections", "keypoint_threshold", "skeleton", "format", "annotate", "image_id"],
        FromFields = f => new PoseRequest
        {
            ConfidenceThreshold = f.Number("confidence_threshold"),
            IouThreshold = f.Number("iou_threshold"),
            MaxDetections = f.Integer("max_detections"),
            KeypointThreshold = f.Number("keypoint_threshold"),
            Skeleton = f.Flag("skeleton"),
            Format = f.Text("format"),
            Annotate = f.Text("annotate"),
            ImageId = f.Integer("image_id"),
        },
    };

    private static void Configure(ServiceContext<PoseConfig> ctx)
    {
        ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, PoseJson.Default));
        ctx.AddModelEngine(ctx.Config.Pose.CpuModel, ctx.Config.Pose.NpuModel,
            loadCpu: (cpu, loc) => new PosePipeline(new OnnxPoseModel(new OnnxModel(loc[cpu.Files[0].Name], ctx.Config.Cpu.EffectiveThreads)), cpu.Name, ctx.Metrics),
            loadNpu: (npu, vdevice, loc) => new PosePipeline(new NpuPoseModel(VisionModel.Load(vdevice, loc[npu.Files[0].Name])), npu.Name, ctx.Metrics));
        ctx.Builder.Services.TryAddSingleton<IImageDecoder>(SkiaImageDecoder.Instance);
    }

    private static void Map(WebApplication app, ServiceContext<PoseConfig> ctx)
    {
        // Resolve the engine now so /health reports the model state from the first request on.
        app.Services.GetRequiredService<ModelEngine<PosePipeline>>();

        var api = app.MapServiceGroup<ErrorEnvelope>("pose");
        api.MapPost("/v1/pose/detect", (HttpContext http, ModelEngine<PosePipeline> engine, [FromServices] IImageDecoder decoder, CancellationToken ct) =>
                DetectAsync(http, engine, decoder, ctx.Config, ct))
            .WithName("detect")
            .WithSummary("Find people and their 17 COCO keypoints")
            .WithDescription("Send the image as multipart (file field 'image'), as JSON {\"image\": base64 or data URL}, or as the raw body with an image/* content type. " +
                             "Options (form fields, JSON fields or query parameters): confidence_threshold, iou_threshold, max_detections, keypoint_threshold, skeleton, " +
                             "format (json | coco | png | jpeg), annotate (none | png | jpeg), image_id.")
            .Accepts<PoseRequest>("application/json")
            .WithImageUpload("image", ("confidence_threshold", "number 0-1"), ("iou_threshold", "number 0-1"), ("max_detections", "integer 1-300"),
                ("keypoint_threshold", "number 0-1"), ("skeleton", "true or false"), ("format", "json | coco | png | jpeg"),
                ("annotate", "none | png | jpeg"), ("image_id", "integer, for format=coco"))
            .WithBodyLimit()
            .Produces(200, null, "image/png", "image/jpeg")
            .Produces<PoseResponse>(200);

        api.MapGet("/v1/models", (ModelStore store, ServiceState state) => TypedResults.Json(ModelList.From(store, state, "pose-estimation"), PoseJson.Default.ModelList))
            .WithName("models").WithSummary("Models this service can run and their state").Produces<ModelList>(200);
    }

    /// <summary>What a request asks for, resolved against the config and checked.</summary>
    internal sealed record Resolved(PoseOptions Pipeline, float KeypointThreshold, bool Skeleton, string Format, ImageFormat? Annotate, long ImageId);

    internal static Resolved Resolve(PoseRequest r, PoseConfig config)
    {
        static float Fraction(string name, double? v, double fallback, bool allowZero, bool allowOne)
        {
            var x = v ?? fallback;
            if (double.IsNaN(x) || x < 0 || x > 1 || (!allowZero && x == 0) || (!allowOne && x == 1))
                throw ApiException.BadRequest("invalid_parameter",
                    $"'{name}' must be {(allowZero ? "at least 0" : "greater than 0")} and {(allowOne ? "at most 1" : "less than 1")}, got {x}", name);
            return (float)x;
        }
        var c = config.Pose;
        var max = r.MaxDetections ?? c.MaxDetections;
        if (max is < 1 or > PoseLimits.MaxDetections)
            throw ApiException.BadRequest("invalid_parameter", $"'max_detections' must be between 1 and {PoseLimits.MaxDetections}, got {max}", "max_detections");
        var format = (r.Format ?? "json").Trim().ToLowerInvariant() switch
        {
            "json" or "" => "json",
            "coco" => "coco",
            "png" => "png",
            "jpeg" or "jpg" => "jpeg",
            var f => throw ApiException.BadRequest("invalid_parameter", $"'format' must be json, coco, png or jpeg, got '{Hailo.Core.ClientText.Quote(f)}'", "format"),
        };
        ImageFormat? annotate = (r.Annotate ?? "none").Trim().ToLowerInvariant() switch
        {
            "none" or "false" or "no" or "0" or "" => null,
            "png" or "true" or "yes" or "1" => ImageFormat.Png,
            "jpeg" or "jpg" => ImageFormat.Jpeg,
            var a => throw ApiException.BadRequest("invalid_parameter", $"'annotate' must be none, png or jpeg, got '{Hailo.Core.ClientText.Quote(a)}'", "annotate"),
        };
        if (r.ImageId is < 0) throw ApiException.BadRequest("invalid_parameter", $"'image_id' must not be negative, got {r.ImageId}", "image_id");
        return new Resolved(
            new PoseOptions(
                Fraction("confidence_threshold", r.ConfidenceThreshold, c.ConfidenceThreshold, allowZero: true, allowOne: true),
                Fraction("iou_threshold", r.IouThreshold, c.IouThreshold, allowZero: false, allowOne: true),
                max),
            Fraction("keypoint_threshold", r.KeypointThreshold, c.KeypointThreshold, allowZero: true, allowOne: true),
            r.Skeleton ?? c.Skeleton,
            format,
            annotate,
            r.ImageId ?? 0);
    }

    internal static async Task<IResult> DetectAsync(HttpContext http, ModelEngine<PosePipeline> engine, IImageDecoder decoder, PoseConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (bytes, request) = await ImageRequest.ReadAsync(http.Request, RequestFormat, ct);
        var options = Resolve(request, config);

        // The image is decoded once this request holds its place in the model's queue: a full queue is a 503 before
        // any decoding, and concurrent uploads are decoded one at a time, not all at once.
        using var admission = await engine.Slot.AdmitAsync(ct);
        var decodeStart = Stopwatch.GetTimestamp();
        // Only the letterboxed size is needed unless the image is drawn on: a JPEG is then decoded reduced (DCT
        // scaling), once the model is loaded and its input size known. COCO results are never drawn.
        var drawAs = options.Format switch { "png" => ImageFormat.Png, "jpeg" => ImageFormat.Jpeg, "coco" => null, _ => options.Annotate };
        var loaded = drawAs is null ? engine.Loaded : null;
        using var image = decoder.Decode(bytes, config.Pose.MaxImagePixels, loaded is null ? null : loaded.FittedSize);
        var decodeMs = Stopwatch.GetElapsedTime(decodeStart).TotalMilliseconds;

        var (outcome, file) = await admission.RunAsync(p => (p.Run(image, options.Pipeline), p.ModelFile), ct);
        var people = outcome.People;

        if (options.Format == "coco")
            return TypedResults.Json(people.Select(p => ToCoco(p, options.ImageId)).ToArray(), PoseJson.Default.CocoKeypointResultArray);

        var annotateStart = Stopwatch.GetTimestamp();
        var drawn = drawAs is { } f ? PoseRenderer.Draw(image, people, options.KeypointThreshold, f) : null;
        var annotateMs = drawn is null ? 0 : Stopwatch.GetElapsedTime(annotateStart).TotalMilliseconds;
        if (options.Format is "png" or "jpeg")
        {
            http.Response.Headers["X-Pose-Count"] = people.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.File(drawn!, options.Format == "png" ? "image/png" : "image/jpeg");
        }

        var t = outcome.Timer;
        var response = new PoseResponse(
            people.Select((p, i) => ToEntry(p, i, options)).ToArray(),
            people.Count,
            (int)Math.Round(t.ModelMs),
            new PoseImageSize(image.SourceWidth, image.SourceHeight),
            new PosePerformance(Math.Round(decodeMs, 2), Math.Round(t.PreprocessMs, 2), Math.Round(t.ModelMs, 2), Math.Round(t.PostprocessMs, 2),
                Math.Round(annotateMs, 2), Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 2)),
            new PoseModelInfo(engine.Manifest.Name, engine.Backend.Name(), file),
            drawn,
            drawn is null ? null : drawAs == ImageFormat.Png ? "png" : "jpeg");
        return TypedResults.Json(response, PoseJson.Default.PoseResponse);
    }

    private static int Px(float v) => (int)MathF.Round(v);

    internal static PoseEntry ToEntry(Person p, int index, Resolved options)
    {
        var keypoints = new PoseKeypoint[CocoKeypoints.Count];
        for (var k = 0; k < keypoints.Length; k++)
            keypoints[k] = new PoseKeypoint(CocoKeypoints.Names[k], Px(p.Keypoints[k].X), Px(p.Keypoints[k].Y), Math.Round(p.Keypoints[k].Confidence, 4));
        List<PoseLimb>? skeleton = null;
        if (options.Skeleton)
        {
            skeleton = [];
            foreach (var (from, to) in CocoKeypoints.Skeleton)
                if (p.Keypoints[from].Confidence >= options.KeypointThreshold && p.Keypoints[to].Confidence >= options.KeypointThreshold)
                    skeleton.Add(new PoseLimb(CocoKeypoints.Names[from], CocoKeypoints.Names[to], from, to));
        }
        return new PoseEntry(index,
            new PoseBbox(Px(p.X1), Px(p.Y1), Px(p.X2) - Px(p.X1), Px(p.Y2) - Px(p.Y1)),
            Math.Round(p.Score, 4),
            [Math.Round(p.X1, 1), Math.Round(p.Y1, 1), Math.Round(p.X2, 1), Math.Round(p.Y2, 1)],
            keypoints, skeleton);
    }

    /// <summary>COCO "keypoints" results: person category 1, flat [x, y, v] × 17 with v the visibility probability, bbox [x, y, w, h].</summary>
    internal static CocoKeypointResult ToCoco(Person p, long imageId)
    {
        var flat = new double[3 * CocoKeypoints.Count];
        for (var k = 0; k < CocoKeypoints.Count; k++)
        {
            flat[3 * k] = Math.Round(p.Keypoints[k].X, 2);
            flat[3 * k + 1] = Math.Round(p.Keypoints[k].Y, 2);
            flat[3 * k + 2] = Math.Round(p.Keypoints[k].Confidence, 4);
        }
        return new CocoKeypointResult(imageId, 1, flat, Math.Round(p.Score, 4),
            [Math.Round(p.X1, 2), Math.Round(p.Y1, 2), Math.Round(p.X2 - p.X1, 2), Math.Round(p.Y2 - p.Y1, 2)]);
    }
}
