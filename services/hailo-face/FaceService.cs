using System.Diagnostics;
using Hailo.Core;
using Hailo.Face;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Media;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using Hailo.Runtime.Onnx;
using Hailo.Vision;
using HailoFace.Api;
using HailoFace.Gallery;
using HailoFace.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace HailoFace;

/// <summary>hailo-face: the service definition, its endpoints and request handling.</summary>
public static class FaceService
{
    public static readonly ServiceDefinition<FaceConfig> Definition = new()
    {
        Name = "hailo-face",
        DefaultPort = 5002,
        Summary = "Face recognition: SCRFD detection, ArcFace embeddings, verification and a persistent gallery of people.",
        ConfigType = FaceConfigJson.Default.FaceConfig,
        Defaults = () => new FaceConfig(),
        Catalog = FaceModels.Catalog,
        DefaultModels = c => [c.Face.ModelFor(c.Device)],
        Configure = Configure,
        Map = Map,
    };

    private static double[]? BboxField(RequestFields f, string name)
    {
        if (f.Text(name) is not { } text) return null;
        var parts = text.Split(',');
        var values = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out values[i]))
                throw ApiException.BadRequest("invalid_parameter", $"'{name}' must be four numbers x,y,width,height", name);
        return values;
    }

    internal static readonly ImageRequestFormat<FaceDetectRequest> DetectFormat = new()
    {
        Json = FaceJson.Default.FaceDetectRequest, Image = r => r.Image, Options = ["threshold", "return_landmarks", "max_faces"],
        FromFields = f => new FaceDetectRequest { Threshold = f.Number("threshold"), ReturnLandmarks = f.Flag("return_landmarks"), MaxFaces = f.Integer("max_faces") },
    };
    internal static readonly ImageRequestFormat<EmbedRequest> EmbedFormat = new()
    {
        Json = FaceJson.Default.EmbedRequest, Image = r => r.Image, Options = ["bbox"],
        FromFields = f => new EmbedRequest { Bbox = BboxField(f, "bbox") },
    };
    internal static readonly ImageRequestFormat<RecognizeRequest> RecognizeFormat = new()
    {
        Json = FaceJson.Default.RecognizeRequest, Image = r => r.Image, Options = ["threshold", "max_faces"],
        FromFields = f => new RecognizeRequest { Threshold = f.Number("threshold"), MaxFaces = f.Integer("max_faces") },
    };
    internal static readonly ImageRequestFormat<AddRequest> AddFormat = new()
    {
        Json = FaceJson.Default.AddRequest, Image = r => r.Image, Options = ["name", "bbox"],
        FromFields = f => new AddRequest { Name = f.Text("name"), Bbox = BboxField(f, "bbox") },
    };

    private static void Configure(ServiceContext<FaceConfig> ctx)
    {
        ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, FaceJson.Default));
        ctx.AddModelEngine(ctx.Config.Face.CpuModel, ctx.Config.Face.NpuModel,
            loadCpu: (cpu, loc) =>
            {
                var threads = ctx.Config.Cpu.EffectiveThreads;
                var detector = new OnnxScrfdDetector(new OnnxModel(loc[cpu.Files[0].Name], threads));
                try { return new FaceEnginePipeline(new FacePipeline(detector, new OnnxArcFaceEmbedder(new OnnxModel(loc[cpu.Files[1].Name], threads)), cpu.Name), ctx.Metrics); }
                catch { detector.Dispose(); throw; }
            },
            loadNpu: (npu, vdevice, loc) =>
            {
                var detector = new NpuScrfdDetector(VisionModel.Load(vdevice, loc[npu.Files[0].Name]));
                try { return new FaceEnginePipeline(new FacePipeline(detector, new NpuArcFaceEmbedder(VisionModel.Load(vdevice, loc[npu.Files[1].Name])), npu.Name), ctx.Metrics); }
                catch { detector.Dispose(); throw; }
            });
        ctx.Builder.Services.AddSingleton(sp =>
        {
            var g = ctx.Config.Gallery;
            var path = g.Resolve(ctx.Config.Models.Dir);
            var model = sp.GetRequiredService<ModelEngine<FaceEnginePipeline>>().Manifest.Name;
            return new GalleryHolder(() => new FaceGallery(path, model, g.MaxEmbeddingsPerIdentity, g.StoreFaceImages, g.VacuumOnRemove, g.BackupOnUpgrade, g.MaxEmbeddings),
                path, ctx.State, sp.GetRequiredService<ILogger<FaceGallery>>());
        });
        ctx.Builder.Services.TryAddSingleton<IImageDecoder>(SkiaImageDecoder.Instance);
    }

    private static void Map(WebApplication app, ServiceContext<FaceConfig> ctx)
    {
        app.Services.GetRequiredService<ModelEngine<FaceEnginePipeline>>();
        app.Services.GetRequiredService<GalleryHolder>().TryOpen();
        var c = ctx.Config;
        var api = app.MapServiceGroup<ErrorEnvelope>("faces");
        const string how = "Send the image as multipart (file field 'image'), as JSON {\"image\": base64 or data URL}, or as the raw body with an image/* content type. ";
        api.MapPost("/v1/detect", (HttpContext http, ModelEngine<FaceEnginePipeline> e, [FromServices] IImageDecoder d, CancellationToken ct) => DetectAsync(http, e, d, c, ct))
            .WithName("detect").WithSummary("Find faces and their five landmarks")
            .WithDescription(how + "Options: threshold, return_landmarks, max_faces.")
            .Accepts<FaceDetectRequest>("application/json")
            .WithImageUpload("image", ("threshold", "number 0-1"), ("return_landmarks", "true or false"), ("max_faces", "integer 1-100"))
            .WithBodyLimit().Produces<FaceDetectResponse>(200);
        api.MapPost("/v1/embed", (HttpContext http, ModelEngine<FaceEnginePipeline> e, [FromServices] IImageDecoder d, CancellationToken ct) => EmbedAsync(http, e, d, c, ct))
            .WithName("embed").WithSummary("The unit-length ArcFace embedding of a face")
            .WithDescription(how + "The best face is embedded, or the detected face overlapping 'bbox' ([x, y, width, height]) most. 400 no_face when there is none.")
            .Accepts<EmbedRequest>("application/json")
            .WithImageUpload("image", ("bbox", "x,y,width,height"))
            .WithBodyLimit().Produces<EmbedResponse>(200);
        api.MapPost("/v1/recognize", (HttpContext http, ModelEngine<FaceEnginePipeline> e, GalleryHolder g, [FromServices] IImageDecoder d, CancellationToken ct) => RecognizeAsync(http, e, g.Get(), d, c, ct))
            .WithName("recognize").WithSummary("Name every face from the gallery")
            .WithDescription(how + "Each face is matched against every stored embedding; identity is the person with the most similar one when that cosine similarity reaches 'threshold', else \"Unknown\".")
            .Accepts<RecognizeRequest>("application/json")
            .WithImageUpload("image", ("threshold", "cosine similarity -1 to 1"), ("max_faces", "integer 1-100"))
            .WithBodyLimit().Produces<RecognizeResponse>(200);
        api.MapPost("/v1/verify", (HttpContext http, ModelEngine<FaceEnginePipeline> e, [FromServices] IImageDecoder d, CancellationToken ct) => VerifyAsync(http, e, d, c, ct))
            .WithName("verify").WithSummary("Are the faces of two images the same person?")
            .WithDescription("Send JSON {\"image1\", \"image2\": base64 or data URLs, \"threshold\"} or multipart with files 'image1' and 'image2'. The best face of each is compared.")
            .Accepts<VerifyRequest>("application/json")
            .WithFileUpload("image1", [], ("image2", "the second image (a file)"), ("threshold", "cosine similarity -1 to 1"))
            .WithBodyLimit().Produces<VerifyResponse>(200);
        api.MapPost("/v1/database/add", (HttpContext http, ModelEngine<FaceEnginePipeline> e, GalleryHolder g, [FromServices] IImageDecoder d, CancellationToken ct) => AddAsync(http, e, g.Get(), d, c, ct))
            .WithName("database-add").WithSummary("Add a face of a person to the gallery")
            .WithDescription(how + "Fields: name (required), bbox (which face; default the best). The person is created if new; an identity keeps its newest embeddings up to gallery.max_embeddings_per_identity. Durable once answered. 409 gallery_full when the gallery holds gallery.max_embeddings already.")
            .Accepts<AddRequest>("application/json")
            .WithImageUpload("image", ("name", "the person's name"), ("bbox", "x,y,width,height"))
            .WithBodyLimit().Produces<AddResponse>(200).Produces<ErrorEnvelope>(409);
        api.MapPost("/v1/database/remove", async (HttpContext http, GalleryHolder gh, CancellationToken ct) =>
            {
                var g = gh.Get();
                var r = await JsonBody.ReadAsync(http.Request, FaceJson.Default.RemoveRequest, ct);
                var name = CheckName(r.Name);
                if (!g.Remove(name)) throw new ApiException(404, "not_found", $"no person named '{ClientText.Quote(name)}' in the gallery") { Param = "name" };
                return TypedResults.Json(new MessageResponse("removed", name), FaceJson.Default.MessageResponse);
            })
            .WithName("database-remove").WithSummary("Delete a person and all their embeddings (404 if absent)")
            .Accepts<RemoveRequest>("application/json").WithBodyLimit().Produces<MessageResponse>(200).Produces<ErrorEnvelope>(404);
        api.MapGet("/v1/database/list", (GalleryHolder g) =>
            {
                var list = g.Get().List();
                return TypedResults.Json(new IdentityList(list, list.Count), FaceJson.Default.IdentityList);
            })
            .WithName("database-list").WithSummary("Every person with their number of embeddings").Produces<IdentityList>(200);
        api.MapGet("/v1/database/export", (GalleryHolder g, ModelEngine<FaceEnginePipeline> e) =>
                TypedResults.Json(new GalleryExport
                {
                    Format = ExportFormat, Version = 1, Model = e.Manifest.Name, Dimension = e.Loaded?.Face.EmbeddingDimension,
                    Identities = g.Get().Export(),
                }, FaceJson.Default.GalleryExport))
            .WithName("database-export").WithSummary("The gallery as JSON, embeddings as base64 float32").Produces<GalleryExport>(200);
        api.MapPost("/v1/database/import", async (HttpContext http, GalleryHolder gh, CancellationToken ct) =>
            {
                var g = gh.Get();
                var doc = await JsonBody.ReadAsync(http.Request, FaceJson.Default.GalleryExport, ct);
                var (replace, items) = CheckImport(doc);
                var (people, embeddings) = g.Import(items, replace);
                return TypedResults.Json(new ImportResponse(replace ? "gallery replaced" : "merged", people, embeddings), FaceJson.Default.ImportResponse);
            })
            .WithName("database-import").WithSummary("Load a gallery export (merge or replace), all or nothing")
            .WithDescription("409 gallery_full, with nothing imported, when the result would hold more than gallery.max_embeddings embeddings.")
            .Accepts<GalleryExport>("application/json").WithBodyLimit().Produces<ImportResponse>(200).Produces<ErrorEnvelope>(409);
        api.MapGet("/v1/models", (ModelStore store, ServiceState state) => TypedResults.Json(ModelList.From(store, state, "face-recognition"), FaceJson.Default.ModelList))
            .WithName("models").WithSummary("Models this service can run and their state").Produces<ModelList>(200);
    }

    internal const string ExportFormat = "hailo-face-gallery";

    internal static string CheckName(string? name)
    {
        var n = name?.Trim();
        if (string.IsNullOrEmpty(n)) throw ApiException.BadRequest("missing_name", "'name' is required: the person's name", "name");
        if (n.Length > FaceLimits.MaxNameLength) throw ApiException.BadRequest("invalid_parameter", $"'name' must be at most {FaceLimits.MaxNameLength} characters", "name");
        if (n.Any(char.IsControl)) throw ApiException.BadRequest("invalid_parameter", "'name' must not contain control characters", "name");
        if (n.Equals("Unknown", StringComparison.OrdinalIgnoreCase)) throw ApiException.BadRequest("invalid_parameter", "'Unknown' is what unrecognised faces are called; choose another name", "name");
        return n;
    }

    internal static (bool Replace, List<(string, string?, float[][])> Items) CheckImport(GalleryExport doc)
    {
        if (doc.Format is not null && doc.Format != ExportFormat)
            throw ApiException.BadRequest("invalid_parameter", $"'format' must be '{ExportFormat}'", "format");
        if (doc.Version is not (null or 1)) throw ApiException.BadRequest("invalid_parameter", $"'version' {doc.Version} is not one this build reads (1)", "version");
        var replace = (doc.Mode ?? "merge") switch
        {
            "merge" => false,
            "replace" => true,
            var m => throw ApiException.BadRequest("invalid_parameter", $"'mode' must be merge or replace, got '{ClientText.Quote(m)}'", "mode"),
        };
        var identities = doc.Identities ?? throw ApiException.BadRequest("invalid_parameter", "'identities' is required", "identities");
        var items = new List<(string, string?, float[][])>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        int? dimension = doc.Dimension;
        foreach (var identity in identities)
        {
            var name = CheckName(identity?.Name);
            if (!names.Add(name)) throw ApiException.BadRequest("invalid_parameter", $"'{ClientText.Quote(name)}' appears twice", "identities");
            var vectors = new List<float[]>();
            foreach (var b64 in identity!.Embeddings ?? [])
            {
                byte[] bytes;
                try { bytes = Convert.FromBase64String(b64 ?? ""); }
                catch (FormatException) { throw ApiException.BadRequest("invalid_base64", $"an embedding of '{ClientText.Quote(name)}' is not base64", "identities"); }
                var v = Embeddings.FromBytes(bytes);
                if (v is null || v.Length == 0 || (dimension is { } d && v.Length != d) || v.Any(x => !float.IsFinite(x)) || !Embeddings.Normalize(v))
                    throw ApiException.BadRequest("invalid_parameter", $"an embedding of '{ClientText.Quote(name)}' is not a finite, non-zero float32 vector{(dimension is { } dd ? $" of {dd} values" : "")}", "identities");
                dimension ??= v.Length;
                vectors.Add(v);
            }
            items.Add((name, identity.CreatedAt, vectors.ToArray()));
        }
        return (replace, items);
    }

    private static float Fraction(string name, double? v, double fallback)
    {
        var x = v ?? fallback;
        if (double.IsNaN(x) || x < 0 || x > 1) throw ApiException.BadRequest("invalid_parameter", $"'{name}' must be between 0 and 1, got {x}", name);
        return (float)x;
    }

    private static double Cosine(string name, double? v, double fallback)
    {
        var x = v ?? fallback;
        if (double.IsNaN(x) || x < -1 || x > 1) throw ApiException.BadRequest("invalid_parameter", $"'{name}' must be a cosine similarity between -1 and 1, got {x}", name);
        return x;
    }

    private static FaceDetectOptions Options(FaceSection c, double? threshold = null, int? maxFaces = null)
    {
        var max = maxFaces ?? c.MaxFaces;
        if (max is < 1 or > FaceLimits.MaxFaces)
            throw ApiException.BadRequest("invalid_parameter", $"'max_faces' must be between 1 and {FaceLimits.MaxFaces}, got {max}", "max_faces");
        return new FaceDetectOptions(Fraction("threshold", threshold, c.DetectionThreshold), (float)c.NmsThreshold, max, c.MinFaceSize);
    }

    private static Box? CheckBbox(double[]? bbox)
    {
        if (bbox is null) return null;
        if (bbox.Length != 4 || bbox.Any(v => !double.IsFinite(v)) || bbox[2] <= 0 || bbox[3] <= 0)
            throw ApiException.BadRequest("invalid_parameter", "'bbox' must be [x, y, width, height] with a positive width and height", "bbox");
        return new Box((float)bbox[0], (float)bbox[1], (float)(bbox[0] + bbox[2]), (float)(bbox[1] + bbox[3]));
    }

    internal static double[] Bbox(DetectedFace f) => [Math.Round(f.X1, 1), Math.Round(f.Y1, 1), Math.Round(f.Width, 1), Math.Round(f.Height, 1)];

    /// <summary>The face to embed: the best one, or the one overlapping <paramref name="wanted"/> most (IoU at least 0.3).</summary>
    private static DetectedFace? Choose(IReadOnlyList<DetectedFace> faces, Box? wanted)
    {
        if (wanted is not { } w) return faces.Count > 0 ? faces[0] : null;
        DetectedFace? best = null;
        var bestIou = 0.3f;
        foreach (var f in faces)
        {
            var iou = new Box(f.X1, f.Y1, f.X2, f.Y2).Iou(w);
            if (iou >= bestIou) (best, bestIou) = (f, iou);
        }
        return best;
    }

    private static ApiException NoFace(Box? wanted) => ApiException.BadRequest("no_face",
        wanted is null ? "No face detected in the image" : "No detected face overlaps the given bbox", wanted is null ? "image" : "bbox");

    private static int Ms(FaceTimings t) => (int)Math.Round(t.ModelMs);

    internal static async Task<IResult> DetectAsync(HttpContext http, ModelEngine<FaceEnginePipeline> engine, IImageDecoder decoder, FaceConfig config, CancellationToken ct)
    {
        var (bytes, r) = await ImageRequest.ReadAsync(http.Request, DetectFormat, ct);
        var options = Options(config.Face, r.Threshold, r.MaxFaces);
        var landmarks = r.ReturnLandmarks ?? true;
        using var admission = await engine.Slot.AdmitAsync(ct);
        // Detection only: a JPEG may be decoded reduced to the detector's input size (boxes stay in source pixels).
        var loaded = engine.Loaded?.Face;
        using var image = decoder.Decode(bytes, config.Face.MaxImagePixels, loaded is null ? null : loaded.DetectorFittedSize);
        var t = new FaceTimings();
        var faces = await admission.RunAsync(p => { var f = p.Face.Detect(image, options, t); p.Report(t); return f; }, ct);
        var entries = faces.Select(f => new DetectedFaceEntry(Bbox(f), Math.Round(f.Score, 4),
            landmarks ? f.Landmarks.Select((p, k) => new FaceLandmark(FaceLandmarks.Names[k], Math.Round(p.X, 1), Math.Round(p.Y, 1))).ToArray() : null)).ToArray();
        return TypedResults.Json(new FaceDetectResponse(entries, entries.Length, Ms(t), engine.Manifest.Name, engine.Backend.Name()), FaceJson.Default.FaceDetectResponse);
    }

    internal static async Task<IResult> EmbedAsync(HttpContext http, ModelEngine<FaceEnginePipeline> engine, IImageDecoder decoder, FaceConfig config, CancellationToken ct)
    {
        var (bytes, r) = await ImageRequest.ReadAsync(http.Request, EmbedFormat, ct);
        var wanted = CheckBbox(r.Bbox);
        var options = Options(config.Face);
        using var admission = await engine.Slot.AdmitAsync(ct);
        using var image = decoder.Decode(bytes, config.Face.MaxImagePixels, null);
        var t = new FaceTimings();
        var (face, vector) = await admission.RunAsync(p =>
        {
            var f = Choose(p.Face.Detect(image, options, t), wanted);
            var v = f is null ? null : p.Face.Embed(image, f, t);
            p.Report(t);
            return (f, v);
        }, ct);
        if (face is null || vector is null) throw NoFace(wanted);
        return TypedResults.Json(new EmbedResponse(vector, vector.Length, Bbox(face), Math.Round(face.Score, 4), engine.Manifest.Name), FaceJson.Default.EmbedResponse);
    }

    internal static async Task<IResult> RecognizeAsync(HttpContext http, ModelEngine<FaceEnginePipeline> engine, FaceGallery gallery, IImageDecoder decoder, FaceConfig config, CancellationToken ct)
    {
        var (bytes, r) = await ImageRequest.ReadAsync(http.Request, RecognizeFormat, ct);
        var options = Options(config.Face, null, r.MaxFaces);
        var threshold = Cosine("threshold", r.Threshold, config.Face.RecognitionThreshold);
        using var admission = await engine.Slot.AdmitAsync(ct);
        using var image = decoder.Decode(bytes, config.Face.MaxImagePixels, null);
        var t = new FaceTimings();
        var embedded = await admission.RunAsync(p =>
        {
            var faces = p.Face.Detect(image, options, t);
            var result = faces.Select(f => (Face: f, Vector: p.Face.Embed(image, f, t))).ToArray();
            p.Report(t);
            return result;
        }, ct);
        var faces = embedded.Select(x =>
        {
            var match = gallery.Best(x.Vector);
            var known = match is not null && match.Similarity >= threshold;
            return new RecognizedFace(Bbox(x.Face), Math.Round(x.Face.Score, 4), known ? match!.Name : "Unknown",
                match is null ? 0 : Math.Round(match.Similarity, 4), match?.Name);
        }).ToArray();
        return TypedResults.Json(new RecognizeResponse(faces, faces.Length, Ms(t), threshold, engine.Manifest.Name), FaceJson.Default.RecognizeResponse);
    }

    internal static async Task<(byte[] A, byte[] B, VerifyRequest R)> ReadPairAsync(HttpRequest request, CancellationToken ct)
    {
        var type = request.ContentType ?? "";
        if (type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            var body = await JsonBody.ReadAsync(request, FaceJson.Default.VerifyRequest, ct);
            var a = body.Image1 ?? throw ApiException.BadRequest("missing_image", "the JSON body has no 'image1': verification compares two images", "image1");
            var b = body.Image2 ?? throw ApiException.BadRequest("missing_image", "the JSON body has no 'image2': verification compares two images", "image2");
            return (ImageInput.FromBase64(a, "image1"), ImageInput.FromBase64(b, "image2"), body);
        }
        if (type.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            var form = await FormBody.ReadAsync(request, ct);
            string[] accepted = ["image1", "image2", "threshold"];
            foreach (var key in form.Keys.Concat(form.Files.Select(f => f.Name)))
                if (Array.IndexOf(accepted, key) < 0)
                    throw ApiException.BadRequest("unknown_field", $"unknown form field '{ClientText.Quote(key)}'; accepted: {string.Join(", ", accepted)}", key);
            var a = await ImageInput.FromFormAsync(form, ["image1"], ct);
            var b = await ImageInput.FromFormAsync(form, ["image2"], ct);
            var f = new RequestFields(k => form.TryGetValue(k, out var v) ? v.ToString() : null);
            return (a, b, new VerifyRequest { Threshold = f.Number("threshold") });
        }
        throw new ApiException(415, "unsupported_media_type", "send two images as JSON {\"image1\", \"image2\"} or as multipart files 'image1' and 'image2'");
    }

    internal static async Task<IResult> VerifyAsync(HttpContext http, ModelEngine<FaceEnginePipeline> engine, IImageDecoder decoder, FaceConfig config, CancellationToken ct)
    {
        var (bytesA, bytesB, r) = await ReadPairAsync(http.Request, ct);
        var threshold = Cosine("threshold", r.Threshold, config.Face.VerificationThreshold);
        var options = Options(config.Face);
        using var admission = await engine.Slot.AdmitAsync(ct);
        using var a = decoder.Decode(bytesA, config.Face.MaxImagePixels, null);
        using var b = decoder.Decode(bytesB, config.Face.MaxImagePixels, null);
        var t = new FaceTimings();
        var (fa, va, fb, vb) = await admission.RunAsync(p =>
        {
            var f1 = Choose(p.Face.Detect(a, options, t), null);
            var f2 = Choose(p.Face.Detect(b, options, t), null);
            var v1 = f1 is null ? null : p.Face.Embed(a, f1, t);
            var v2 = f2 is null ? null : p.Face.Embed(b, f2, t);
            p.Report(t);
            return (f1, v1, f2, v2);
        }, ct);
        if (fa is null || va is null) throw ApiException.BadRequest("no_face", "No face detected in image1", "image1");
        if (fb is null || vb is null) throw ApiException.BadRequest("no_face", "No face detected in image2", "image2");
        var similarity = Embeddings.Cosine(va, vb);
        return TypedResults.Json(new VerifyResponse(similarity >= threshold, Math.Round(similarity, 4), threshold,
            new VerifyFace(Bbox(fa), Math.Round(fa.Score, 4)), new VerifyFace(Bbox(fb), Math.Round(fb.Score, 4)), engine.Manifest.Name), FaceJson.Default.VerifyResponse);
    }

    internal static async Task<IResult> AddAsync(HttpContext http, ModelEngine<FaceEnginePipeline> engine, FaceGallery gallery, IImageDecoder decoder, FaceConfig config, CancellationToken ct)
    {
        var (bytes, r) = await ImageRequest.ReadAsync(http.Request, AddFormat, ct);
        var wanted = CheckBbox(r.Bbox);
        var options = Options(config.Face);
        using var admission = await engine.Slot.AdmitAsync(ct);
        using var image = decoder.Decode(bytes, config.Face.MaxImagePixels, null);
        // The name is checked once the image is known to be one, so a request with both wrong hears about the image.
        var name = CheckName(r.Name);
        var t = new FaceTimings();
        var (face, vector) = await admission.RunAsync(p =>
        {
            var f = Choose(p.Face.Detect(image, options, t), wanted);
            var v = f is null ? null : p.Face.Embed(image, f, t);
            p.Report(t);
            return (f, v);
        }, ct);
        if (face is null || vector is null) throw NoFace(wanted);
        byte[]? crop = null;
        if (gallery.StoreFaceImages)
        {
            using var aligned = FacePipeline.Align(image, face);
            crop = aligned.Encode(ImageFormat.Jpeg, 90);
        }
        var count = gallery.Add(name, vector, crop);
        return TypedResults.Json(new AddResponse("added", name, count, Bbox(face)), FaceJson.Default.AddResponse);
    }
}
