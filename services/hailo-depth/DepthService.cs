using System.Diagnostics;
using Hailo.Core;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Media;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using Hailo.Runtime.Onnx;
using HailoDepth.Api;
using HailoDepth.Output;
using HailoDepth.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HailoDepth;

/// <summary>hailo-depth: the service definition, its endpoints and request handling.</summary>
public static class DepthService
{
    public static readonly ServiceDefinition<DepthConfig> Definition = new()
    {
        Name = "hailo-depth",
        DefaultPort = 11439,
        Summary = "Monocular depth estimation (scdepthv3 on the NPU, MiDaS or scdepthv3 ONNX on the CPU) and stereo depth from a rectified pair, or a raw pair with the rig's calibration (semi-global matching, no model): depth maps as .npz/.npy, colour images and 16-bit PNGs.",
        ConfigType = DepthConfigJson.Default.DepthConfig,
        Defaults = () => new DepthConfig(),
        Catalog = DepthModels.Catalog,
        DefaultModels = c => [c.Depth.ModelFor(c.Device)],
        Configure = Configure,
        Map = Map,
    };

    internal static readonly ImageRequestFormat<DepthRequest> RequestFormat = new()
    {
        Json = DepthJson.Default.DepthRequest,
        Image = r => r.ImageUrl is not null
            ? throw ApiException.BadRequest("unsupported_image_source", "'image_url' is not supported: this service does not fetch URLs; send the image itself in 'image' (base64 or a data URL)", "image_url")
            : r.ImageRight is not null
                ? throw ApiException.BadRequest("invalid_parameter", "'image_right' is not supported: this service estimates depth from one image (no stereo)", "image_right")
                : r.Image,
        Options = ["normalize", "colormap", "output_format", "statistics", "resolution"],
        FromFields = f => new DepthRequest
        {
            Normalize = f.Flag("normalize"),
            Colormap = f.Text("colormap"),
            OutputFormat = f.Text("output_format"),
            Statistics = f.Flag("statistics"),
            Resolution = f.Text("resolution"),
        },
    };

    private static void Configure(ServiceContext<DepthConfig> ctx)
    {
        ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, DepthJson.Default));
        ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Add(StereoJson.Default));
        // The catalog's manifests are the depth models' own: each loader finds its model's output formula by name.
        ctx.AddModelEngine(ctx.Config.Depth.CpuModel, ctx.Config.Depth.NpuModel,
            loadCpu: (m, loc) => DepthModels.Get(m.Name) is { } cpu
                ? new DepthPipeline(new OnnxDepthModel(new OnnxModel(loc[cpu.File], ctx.Config.Cpu.EffectiveThreads), cpu), cpu, ctx.Metrics)
                : throw new InvalidOperationException($"unknown depth model {m.Name}"),
            loadNpu: (m, vdevice, loc) => DepthModels.Get(m.Name) is { } npu
                ? new DepthPipeline(new NpuDepthModel(VisionModel.Load(vdevice, loc[npu.File])), npu, ctx.Metrics)
                : throw new InvalidOperationException($"unknown depth model {m.Name}"));
        ctx.Builder.Services.TryAddSingleton<IImageDecoder>(SkiaImageDecoder.Instance);
        // Stereo pairs: the CPU matcher, or the NPU's stereo network on an engine of its own.
        ctx.Builder.Services.AddSingleton(sp => StereoBackend.Create(ctx, sp.GetRequiredService<ILoggerFactory>().CreateLogger<StereoBackend>(), sp.GetService<Func<NpuProbe>>()));
        ctx.Builder.Services.AddSingleton<IPreloadable>(sp => sp.GetRequiredService<StereoBackend>());
    }

    private static void Map(WebApplication app, ServiceContext<DepthConfig> ctx)
    {
        var engine = app.Services.GetRequiredService<ModelEngine<DepthPipeline>>();
        // The stereo choice is made at start (and shown on /health), not at the first pair, whether or not models preload.
        app.Services.GetRequiredService<StereoBackend>();
        // The reused arrays serve a steady stream of frames; an idle service gives them back.
        app.Services.GetRequiredService<IdleTrimmer>().Trimming += () => engine.Loaded?.Buffers.Clear();

        var api = app.MapServiceGroup<ErrorEnvelope>("depth");
        var stereo = StereoEndpoint.Map(api, ctx.Config);
        api.MapPost("/v1/depth/estimate", async (HttpContext http, ModelEngine<DepthPipeline> e, [FromServices] IImageDecoder decoder, [FromServices] StereoBackend stereoBackend,
                CancellationToken ct) =>
                await StereoEndpoint.IsStereoAsync(http.Request, ct)
                    ? await StereoEndpoint.HandleAsync(http, decoder, ctx.Config, stereo, stereoBackend, "image", ct)
                    : await EstimateAsync(http, e, decoder, ctx.Config, ct))
            .WithName("estimate")
            .WithSummary("Estimate a depth map from one image")
            .WithDescription("Send the image as multipart (file field 'image'), as JSON {\"image\": base64 or data URL}, or as the raw body with an image/* content type. " +
                             "Options (form fields, JSON fields or query parameters): output_format (numpy | image | both | depth_png_16 | npy), normalize, colormap " +
                             "(viridis | plasma | magma | turbo | jet), statistics, resolution (image: maps at the image's size; model: at the model's output grid)." +
                             " With an 'image_right' as well it is a stereo request (see /v1/depth/stereo).")
            .Accepts<DepthRequest>("application/json")
            .WithImageUpload("image", ("output_format", "numpy | image | both | depth_png_16 | npy"), ("normalize", "true or false"),
                ("colormap", "viridis | plasma | magma | turbo | jet"), ("statistics", "true or false"), ("resolution", "image | model"))
            .WithBodyLimit()
            .Produces<DepthResponse>(200);

        api.MapGet("/v1/models", (ModelStore store, ServiceState state) => TypedResults.Json(ModelList.From(store, state, "depth-estimation"), DepthJson.Default.ModelList))
            .WithName("models").WithSummary("Models this service can run and their state").Produces<ModelList>(200);

        api.MapGet("/v1/info", (ServiceState state, [FromServices] StereoBackend stereoBackend) =>
            {
                var spec = DepthModels.Get(engine.Manifest.Name)!;
                bool Ready(string name) => state.Models.Any(m => m.Name == name && m.State == ModelState.Ready);
                var stereoModel = stereoBackend.Npu is { } npu
                    ? new DepthInfoModel(npu.Manifest.Name, "stereo", Ready(npu.Manifest.Name), Backend.Npu.Name(), "pixel")
                    : new DepthInfoModel("sgm", "stereo", true, Backend.Cpu.Name(), "pixel");
                return TypedResults.Json(new DepthInfo(ctx.Definition.Name, ctx.Definition.Version,
                    new DepthInfoModel(spec.Manifest.Name, "monocular", Ready(spec.Manifest.Name), engine.Backend.Name(), spec.Unit),
                    new DepthCapabilities(true, true, DepthSection.OutputFormats, Colormaps.Names), stereoModel), DepthJson.Default.DepthInfo);
            })
            .WithName("info").WithSummary("The model, its state and the output formats and colormaps offered").Produces<DepthInfo>(200);
    }

    /// <summary>What a request asks for, resolved against the config and checked.</summary>
    /// <param name="ModelResolution">Maps at the model's output grid instead of the image's size (monocular only).</param>
    internal sealed record Resolved(string OutputFormat, string Colormap, bool Normalize, bool Statistics, bool ModelResolution = false);

    internal static Resolved Resolve(DepthRequest r, DepthConfig config)
    {
        var c = config.Depth;
        var format = (r.OutputFormat ?? c.OutputFormat).Trim().ToLowerInvariant();
        if (Array.IndexOf(DepthSection.OutputFormats, format) < 0)
            throw ApiException.BadRequest("invalid_parameter", $"'output_format' must be one of {string.Join(", ", DepthSection.OutputFormats)}, got '{Hailo.Core.ClientText.Quote(format)}'", "output_format");
        var colormap = (r.Colormap ?? c.Colormap).Trim().ToLowerInvariant();
        if (!Colormaps.IsKnown(colormap))
            throw ApiException.BadRequest("invalid_parameter", $"'colormap' must be one of {string.Join(", ", Colormaps.Names)}, got '{Hailo.Core.ClientText.Quote(colormap)}'", "colormap");
        var resolution = (r.Resolution ?? c.Resolution).Trim().ToLowerInvariant();
        if (Array.IndexOf(DepthSection.Resolutions, resolution) < 0)
            throw ApiException.BadRequest("invalid_parameter", $"'resolution' must be one of {string.Join(", ", DepthSection.Resolutions)}, got '{Hailo.Core.ClientText.Quote(resolution)}'", "resolution");
        return new Resolved(format, colormap, r.Normalize ?? c.Normalize, r.Statistics ?? c.IncludeStats, resolution == "model");
    }

    internal static async Task<IResult> EstimateAsync(HttpContext http, ModelEngine<DepthPipeline> engine, IImageDecoder decoder, DepthConfig config, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (bytes, request) = await ImageRequest.ReadAsync(http.Request, RequestFormat, ct);
        var options = Resolve(request, config);

        // The image is decoded once this request holds its place in the model's queue: a full queue is a 503 before
        // any decoding, and concurrent uploads are decoded one at a time, not all at once.
        using var admission = await engine.Slot.AdmitAsync(ct);
        var decodeStart = Stopwatch.GetTimestamp();
        // The model sees the image stretched to its input: once it is loaded (its input size known), a JPEG is decoded
        // reduced to the smallest DCT scale covering that size; the map still comes back at the source size.
        var loaded = engine.Loaded;
        using var image = decoder.Decode(bytes, config.Depth.MaxImagePixels, loaded is null ? null : (_, _) => loaded.InputSize);
        var decodeMs = Stopwatch.GetElapsedTime(decodeStart).TotalMilliseconds;

        var (result, spec, buffers) = await admission.RunAsync(p => (p.Run(image, options.Statistics, options.ModelResolution), p.Spec, p.Buffers), ct);
        var encodeStart = Stopwatch.GetTimestamp();
        var encoded = DepthEncoder.Encode(result, spec, options, buffers.Files);
        var encodeMs = Stopwatch.GetElapsedTime(encodeStart).TotalMilliseconds;
        // The map is encoded: its array serves the next request. The files go back once the answer is written.
        buffers.Maps.Return(result.Depth);
        http.Response.RegisterForDispose(new ReturnFiles(buffers.Files, encoded.Npz, encoded.Npy));

        var t = result.Timer;
        var s = result.Stats;
        var response = new DepthResponse(
            spec.Manifest.Name, "monocular", engine.Backend.Name(),
            [image.SourceHeight, image.SourceWidth, 3], [result.Height, result.Width],
            Math.Round(t.PreprocessMs + t.ModelMs + t.PostprocessMs, 2),
            options.Normalize, spec.Unit, options.OutputFormat, options.Colormap,
            s is null ? null : new DepthStatistics(R(s.Min), R(s.Max), R(s.Mean), R(s.Median), R(s.P5), R(s.P95)),
            encoded.Npz, encoded.Npy, encoded.Image, encoded.Png16, encoded.Png16Scale, encoded.Png16Offset,
            new DepthPerformance(Math.Round(decodeMs, 2), Math.Round(t.PreprocessMs, 2), Math.Round(t.ModelMs, 2), Math.Round(t.PostprocessMs, 2),
                Math.Round(encodeMs, 2), Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 2)));
        return TypedResults.Json(response, DepthJson.Default.DepthResponse);
    }

    private sealed class ReturnFiles(ArrayCache<byte> cache, byte[]? npz, byte[]? npy) : IDisposable
    {
        public void Dispose()
        {
            cache.Return(npz);
            cache.Return(npy);
        }
    }

    private static double R(float v) => float.IsFinite(v) ? Math.Round(v, 5) : 0;
}
