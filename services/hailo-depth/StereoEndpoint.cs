using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Hailo.Core;
using Hailo.Hosting.Http;
using Hailo.Hosting.Metrics;
using Hailo.Media;
using HailoDepth.Api;
using HailoDepth.Output;
using HailoDepth.Pipeline;
using HailoDepth.Pipeline.Stereo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace HailoDepth;

/// <summary>
/// POST /v1/depth/stereo (and /v1/depth/estimate with an `image_right`): disparity or metric depth from a rectified
/// pair by semi-global matching on the CPU. Needs no model, so it answers while the monocular model is missing.
/// </summary>
internal static class StereoEndpoint
{
    internal static readonly string[] Options =
        ["min_disparity", "num_disparities", "focal_px", "baseline_m", "half_resolution", "normalize", "colormap", "output_format", "statistics"];

    /// <summary>One pair is matched at a time (the matcher uses every thread cpu.threads allows); the rest wait, up to server.max_queued_requests.</summary>
    internal sealed class Gate(int maxQueued)
    {
        private readonly SemaphoreSlim _one = new(1, 1);
        private int _waiting;

        public async Task<IDisposable> EnterAsync(CancellationToken ct)
        {
            if (Interlocked.Increment(ref _waiting) > maxQueued + 1)
            {
                Interlocked.Decrement(ref _waiting);
                throw ApiException.Unavailable("queue_full", "too many stereo pairs are waiting; retry shortly", 1);
            }
            try
            {
                await _one.WaitAsync(ct).ConfigureAwait(false);
            }
            catch
            {
                Interlocked.Decrement(ref _waiting);
                throw;
            }
            return new Release(this);
        }

        private sealed class Release(Gate gate) : IDisposable
        {
            private int _done;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _done, 1) != 0) return;
                Interlocked.Decrement(ref gate._waiting);
                gate._one.Release();
            }
        }
    }

    public static Gate Map(RouteGroupBuilder api, DepthConfig config)
    {
        var gate = new Gate(config.Server.MaxQueuedRequests);
        api.MapPost("/v1/depth/stereo", (HttpContext http, [FromServices] IImageDecoder decoder, [FromServices] StereoBackend backend, CancellationToken ct) =>
                HandleAsync(http, decoder, config, gate, backend, "image_left", ct))
            .WithName("stereo")
            .WithSummary("Disparity or metric depth from a rectified stereo pair (semi-global matching on the CPU, or the NPU's stereo network)")
            .WithDescription("Send the pair as multipart (file fields 'image_left' and 'image_right') or as JSON {\"image_left\", \"image_right\": base64 or data URLs}. " +
                             "Options (form or JSON fields): min_disparity, num_disparities, focal_px and baseline_m (both, for depth in metres), half_resolution, " +
                             "output_format (numpy | image | both | depth_png_16 | npy), normalize, colormap, statistics. The answer has a validity mask. " +
                             "With stereo.calibration in the config, send the cameras' raw images: they are rectified first and the answer is depth in metres.")
            .Accepts<StereoRequest>("application/json")
            .WithFileUpload("image_left", [], ("image_right", "the right image (a file, the same size as the left)"),
                ("min_disparity", "integer, default 0"), ("num_disparities", "integer, default stereo.num_disparities"),
                ("focal_px", "focal length in pixels (with baseline_m: metric depth)"), ("baseline_m", "camera distance in metres"),
                ("half_resolution", "true or false"), ("output_format", "numpy | image | both | depth_png_16 | npy"), ("normalize", "true or false"),
                ("colormap", "viridis | plasma | magma | turbo | jet"), ("statistics", "true or false"))
            .WithBodyLimit()
            .Produces<StereoResponse>(200);
        return gate;
    }

    /// <summary>Whether a /v1/depth/estimate request carries an `image_right` (then it is a stereo request).</summary>
    public static async Task<bool> IsStereoAsync(HttpRequest request, CancellationToken ct)
    {
        var type = request.ContentType ?? "";
        if (type.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            var form = await FormBody.ReadAsync(request, ct).ConfigureAwait(false);
            return form.Files.GetFile("image_right") is not null || form.ContainsKey("image_right");
        }
        if (!type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)) return false;
        // The body is read once here and handed on to whichever handler reads it next.
        var body = await JsonBody.ReadAllAsync(request, ct).ConfigureAwait(false);
        request.Body = MemoryMarshal.TryGetArray(body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(body.ToArray(), writable: false);
        try
        {
            var reader = new Utf8JsonReader(body.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isRight = reader.ValueTextEquals("image_right");
                reader.Read();
                if (isRight) return reader.TokenType != JsonTokenType.Null;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Malformed JSON: the monocular handler reports it.
        }
        return false;
    }

    internal static async Task<(byte[] Left, byte[] Right, StereoRequest Request)> ReadAsync(HttpRequest request, string leftField, CancellationToken ct)
    {
        var type = request.ContentType ?? "";
        if (type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            var body = await JsonBody.ReadAsync(request, StereoJson.Default.StereoRequest, ct).ConfigureAwait(false);
            if (body.ImageUrl is not null)
                throw ApiException.BadRequest("unsupported_image_source", "'image_url' is not supported: send the images themselves (base64 or data URLs)", "image_url");
            if (body.ImageLeft is not null && body.Image is not null)
                throw ApiException.BadRequest("invalid_parameter", "send the left image once, as 'image_left' or 'image'", "image");
            var left = body.ImageLeft ?? body.Image ?? throw ApiException.BadRequest("missing_image", $"the JSON body has no '{leftField}' field: a stereo pair needs the left image", leftField);
            var right = body.ImageRight ?? throw ApiException.BadRequest("missing_image", "the JSON body has no 'image_right' field: a stereo pair needs the right image", "image_right");
            return (ImageInput.FromBase64(left, leftField), ImageInput.FromBase64(right, "image_right"), body);
        }
        if (type.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            var form = await FormBody.ReadAsync(request, ct).ConfigureAwait(false);
            string[] images = [leftField, "image_right"];
            foreach (var key in form.Keys.Concat(form.Files.Select(f => f.Name)))
                if (Array.IndexOf(images, key) < 0 && Array.IndexOf(Options, key) < 0)
                    throw ApiException.BadRequest("unknown_field", $"unknown form field '{ClientText.Quote(key)}'; accepted: {string.Join(", ", images.Concat(Options))}", key);
            var left = await ImageInput.FromFormAsync(form, [leftField], ct).ConfigureAwait(false);
            var right = await ImageInput.FromFormAsync(form, ["image_right"], ct).ConfigureAwait(false);
            var f = new RequestFields(k => form.TryGetValue(k, out var v) ? v.ToString() : null);
            return (left, right, new StereoRequest
            {
                MinDisparity = f.Integer("min_disparity"),
                NumDisparities = f.Integer("num_disparities"),
                FocalPx = f.Number("focal_px"),
                BaselineM = f.Number("baseline_m"),
                HalfResolution = f.Flag("half_resolution"),
                Normalize = f.Flag("normalize"),
                Colormap = f.Text("colormap"),
                OutputFormat = f.Text("output_format"),
                Statistics = f.Flag("statistics"),
            });
        }
        throw ApiException.BadRequest("missing_image", $"a stereo pair is two images: send multipart ('{leftField}' and 'image_right' files) or JSON", leftField);
    }

    /// <summary>The request's matching options, checked against the config.</summary>
    internal sealed record StereoOptions(int MinDisparity, int NumDisparities, bool Half, double? Focal, double? Baseline, DepthService.Resolved Output,
        Rectification? Rectification = null);

    internal static StereoOptions Resolve(StereoRequest r, DepthConfig config)
    {
        var c = config.Stereo;
        var min = r.MinDisparity ?? 0;
        if (min is < -4096 or > 4096) throw ApiException.BadRequest("invalid_parameter", $"'min_disparity' must be between -4096 and 4096, got {min}", "min_disparity");
        var num = r.NumDisparities ?? c.NumDisparities;
        if (num < 1 || num > c.MaxNumDisparities)
            throw ApiException.BadRequest("invalid_parameter", $"'num_disparities' must be between 1 and {c.MaxNumDisparities} (stereo.max_num_disparities), got {num}", "num_disparities");
        if (r.FocalPx is { } f && !(f is > 0 and <= 1e6))
            throw ApiException.BadRequest("invalid_parameter", "'focal_px' must be a positive number of pixels, at most 1000000", "focal_px");
        if (r.BaselineM is { } b && !(b is > 0 and <= 1000))
            throw ApiException.BadRequest("invalid_parameter", "'baseline_m' must be a positive distance in metres, at most 1000", "baseline_m");
        if (r.FocalPx.HasValue != r.BaselineM.HasValue)
            throw ApiException.BadRequest("invalid_parameter", "metric depth needs both 'focal_px' and 'baseline_m'", r.FocalPx.HasValue ? "baseline_m" : "focal_px");
        var output = DepthService.Resolve(new DepthRequest { Normalize = r.Normalize, Colormap = r.Colormap, OutputFormat = r.OutputFormat, Statistics = r.Statistics }, config);
        if (c.Calibration.Rectification is { } rect)
        {
            // A calibrated rig: the focal length and baseline are the rectified pair's own.
            if (r.FocalPx.HasValue || r.BaselineM.HasValue)
                throw ApiException.BadRequest("invalid_parameter",
                    $"stereo.calibration is configured: the rectified focal length ({rect.Focal:F2} px) and baseline ({rect.Baseline:G4} m) come from it; send no 'focal_px' or 'baseline_m'",
                    r.FocalPx.HasValue ? "focal_px" : "baseline_m");
            return new StereoOptions(min, num, r.HalfResolution ?? c.HalfResolution, rect.Focal, rect.Baseline, output, rect);
        }
        return new StereoOptions(min, num, r.HalfResolution ?? c.HalfResolution, r.FocalPx, r.BaselineM, output);
    }

    internal static SgmOptions Matching(StereoOptions o, DepthConfig config) => new()
    {
        MinDisparity = o.MinDisparity,
        NumDisparities = o.NumDisparities,
        Paths = config.Stereo.Paths,
        P1 = config.Stereo.P1,
        P2 = config.Stereo.P2,
        UniquenessRatio = config.Stereo.UniquenessRatio,
        SpeckleWindow = config.Stereo.SpeckleWindow,
        Threads = config.Cpu.EffectiveThreads,
        BandBytes = (long)config.Stereo.BandMemoryMb << 20,
    };

    private static readonly DepthModel Disparity = new(new Hailo.Hosting.Models.ModelManifest("sgm", Backend.Cpu, "semi-global matching", "", [], null),
        "", 0, 0, default, DepthOutput.InverseRelative);
    private static readonly DepthModel Metric = Disparity with { Output = DepthOutput.Scdepth };

    /// <summary>A matched pair: the map, the rectified pixels outside the left camera's view, and the stage times.</summary>
    private sealed record Matched(DisparityMap Map, bool[]? Outside, double DecodeMs, double? RectifyMs, long MatchStart);

    private static (RgbaImage Left, RgbaImage Right) DecodePair(byte[] leftBytes, byte[] rightBytes, IImageDecoder decoder, DepthConfig config, StereoOptions o, string leftField)
    {
        var left = decoder.Decode(leftBytes, config.Depth.MaxImagePixels);
        try
        {
            var right = decoder.Decode(rightBytes, config.Depth.MaxImagePixels);
            ApiException? refused = null;
            if (left.Width != right.Width || left.Height != right.Height)
                refused = ApiException.BadRequest("image_size_mismatch",
                    $"the images of a rectified pair have one size: left is {left.Width}×{left.Height}, right {right.Width}×{right.Height}", "image_right");
            else if (o.Rectification is { } rect && (left.Width != rect.Width || left.Height != rect.Height))
                refused = ApiException.BadRequest("calibration_size_mismatch",
                    $"stereo.calibration is for {rect.Width}×{rect.Height} images; this pair is {left.Width}×{left.Height}: send the cameras' images at the calibrated size", leftField);
            if (refused is not null)
            {
                // Disposed only once the message is written: a disposed image has no size.
                right.Dispose();
                throw refused;
            }
            return (left, right);
        }
        catch
        {
            left.Dispose();
            throw;
        }
    }

    /// <summary>Semi-global matching: one pair at a time through <paramref name="gate"/>, the matcher using every thread cpu.threads allows.</summary>
    private static async Task<Matched> MatchOnCpuAsync(Gate gate, byte[] leftBytes, byte[] rightBytes, IImageDecoder decoder, DepthConfig config, StereoOptions o,
        string leftField, CancellationToken ct)
    {
        using var turn = await gate.EnterAsync(ct);
        var decodeStart = Stopwatch.GetTimestamp();
        var (left, right) = DecodePair(leftBytes, rightBytes, decoder, config, o, leftField);
        byte[] greyLeft, greyRight;
        int w = left.Width, h = left.Height;
        using (left)
        using (right)
        {
            var volume = (long)w * h * o.NumDisparities / (o.Half ? 8 : 1);
            if (volume > config.Stereo.MaxVolume)
                throw new ApiException(413, "pair_too_large",
                    $"{w}×{h} with {o.NumDisparities} disparities{(o.Half ? " at half resolution" : "")} is a cost volume of {volume} above stereo.max_volume ({config.Stereo.MaxVolume}): " +
                    "send smaller images, fewer disparities or half_resolution=true");
            greyLeft = Grey.From(left);
            greyRight = Grey.From(right);
        }
        var decodeMs = Stopwatch.GetElapsedTime(decodeStart).TotalMilliseconds;

        double? rectifyMs = null;
        bool[]? outside = null;
        if (o.Rectification is { } rect)
        {
            // The tables were built at start; each pair is only looked up (bilinear, fixed point).
            var rectifyStart = Stopwatch.GetTimestamp();
            outside = new bool[w * h];
            var threads = config.Cpu.EffectiveThreads;
            greyLeft = rect.Remap(greyLeft, right: false, outside, threads);
            greyRight = rect.Remap(greyRight, right: true, null, threads);
            rectifyMs = Math.Round(Stopwatch.GetElapsedTime(rectifyStart).TotalMilliseconds, 2);
        }

        var matchStart = Stopwatch.GetTimestamp();
        // The request's token (the client leaving) stops the match between rows.
        var map = await Task.Run(() => StereoMatcher.Match(greyLeft, greyRight, w, h, Matching(o, config), o.Half, ct), ct);
        return new Matched(map, outside, decodeMs, rectifyMs, matchStart);
    }

    /// <summary>
    /// The stereo network: pairs wait in its engine's queue (a full queue is a 503 before any decoding). Its
    /// disparities outside [min_disparity, min_disparity + num_disparities) are flagged as no match, as the CPU
    /// matcher never finds them.
    /// </summary>
    private static async Task<Matched> MatchOnNpuAsync(Hailo.Runtime.ModelEngine<NpuStereoModel> npu, byte[] leftBytes, byte[] rightBytes, IImageDecoder decoder,
        DepthConfig config, StereoOptions o, string leftField, CancellationToken ct)
    {
        using var admission = await npu.Slot.AdmitAsync(ct);
        var decodeStart = Stopwatch.GetTimestamp();
        var (left, right) = DecodePair(leftBytes, rightBytes, decoder, config, o, leftField);
        try
        {
            var decodeMs = Stopwatch.GetElapsedTime(decodeStart).TotalMilliseconds;
            double? rectifyMs = null;
            bool[]? outside = null;
            if (o.Rectification is { } rect)
            {
                var rectifyStart = Stopwatch.GetTimestamp();
                outside = new bool[left.Width * left.Height];
                var threads = config.Cpu.EffectiveThreads;
                var (l, r) = (rect.Remap(left, right: false, outside, threads), rect.Remap(right, right: true, null, threads));
                (left, right) = (Swap(left, l), Swap(right, r));
                rectifyMs = Math.Round(Stopwatch.GetElapsedTime(rectifyStart).TotalMilliseconds, 2);
            }
            var matchStart = Stopwatch.GetTimestamp();
            var (pairLeft, pairRight) = (left, right);
            var map = await admission.RunAsync(m => m.Match(pairLeft, pairRight), ct);
            int lo = o.MinDisparity, hi = o.MinDisparity + o.NumDisparities;
            for (var i = 0; i < map.Disparity.Length; i++)
                if (map.Invalid[i] == 0 && !(map.Disparity[i] >= lo && map.Disparity[i] < hi))
                {
                    map.Disparity[i] = float.NaN;
                    map.Invalid[i] = (byte)StereoInvalid.NoMatch;
                }
            return new Matched(map, outside, decodeMs, rectifyMs, matchStart);
        }
        finally
        {
            left.Dispose();
            right.Dispose();
        }

        static RgbaImage Swap(RgbaImage old, RgbaImage replacement)
        {
            old.Dispose();
            return replacement;
        }
    }

    public static async Task<IResult> HandleAsync(HttpContext http, IImageDecoder decoder, DepthConfig config, Gate gate, StereoBackend backend, string leftField, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var (leftBytes, rightBytes, request) = await ReadAsync(http.Request, leftField, ct);
        var o = Resolve(request, config);

        var matched = backend.Npu is { } npu
            ? await MatchOnNpuAsync(npu, leftBytes, rightBytes, decoder, config, o, leftField, ct)
            : await MatchOnCpuAsync(gate, leftBytes, rightBytes, decoder, config, o, leftField, ct);
        var (map, outside, decodeMs, rectifyMs, matchStart) = matched;
        var rect = o.Rectification;
        int w = map.Width, h = map.Height;
        if (outside is not null)
            for (var i = 0; i < outside.Length; i++)
                if (outside[i])
                {
                    // The rectified left pixel is not in the left camera's view.
                    map.Disparity[i] = float.NaN;
                    map.Invalid[i] = (byte)StereoInvalid.NoMatch;
                }
        var metric = o.Focal is not null;
        var values = map.Disparity;
        if (metric)
        {
            // depth = f·B / d; a disparity at or below zero (possible with a negative min_disparity) has no depth.
            var fb = (float)(o.Focal!.Value * o.Baseline!.Value);
            values = new float[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                var d = map.Disparity[i];
                values[i] = d > 0 ? fb / d : float.NaN;
                if (!(d > 0) && map.Invalid[i] == 0) map.Invalid[i] = (byte)StereoInvalid.NoMatch;
            }
        }
        var stats = o.Output.Statistics ? DepthStats.Of(values) : null;
        var matchMs = Stopwatch.GetElapsedTime(matchStart).TotalMilliseconds;

        var encodeStart = Stopwatch.GetTimestamp();
        var result = new DepthResult(values, w, h, stats, new StageTimer());
        var format = o.Output.OutputFormat;
        var wantsImage = format is "image" or "both";
        // The arrays and the 16-bit PNG through the monocular encoder; the colour image here, bright = near in both
        // quantities (depth as it is, disparity turned around).
        var encoded = DepthEncoder.Encode(result, metric ? Metric : Disparity, o.Output with { OutputFormat = format is "both" or "image" ? "numpy" : format });
        if (format == "image") encoded = encoded with { Npz = null };
        // A map with no valid pixel has no range: its 16-bit PNG is all 0 with scale and offset 0.
        if (encoded.Png16Scale is { } scale && !(double.IsFinite(scale) && double.IsFinite(encoded.Png16Offset ?? 0)))
            encoded = encoded with { Png16Scale = 0, Png16Offset = 0 };
        byte[]? image = null;
        if (wantsImage)
        {
            var nearness = metric ? values : Array.ConvertAll(values, v => -v);
            var (min, max) = DepthEncoder.Range(nearness);
            image = DepthEncoder.ColourImage(new DepthResult(nearness, w, h, null, result.Timer), o.Output.Colormap, min, max);
        }
        var mask = ValidityMask(map);
        var encodeMs = Stopwatch.GetElapsedTime(encodeStart).TotalMilliseconds;

        int noMatch = 0, ambiguous = 0, leftRight = 0, speckle = 0;
        foreach (var r in map.Invalid)
            switch ((StereoInvalid)r)
            {
                case StereoInvalid.NoMatch: noMatch++; break;
                case StereoInvalid.Ambiguous: ambiguous++; break;
                case StereoInvalid.LeftRight: leftRight++; break;
                case StereoInvalid.Speckle: speckle++; break;
            }
        var valid = w * h - noMatch - ambiguous - leftRight - speckle;
        var s = stats;
        var onNpu = backend.Npu is not null;
        var response = new StereoResponse(onNpu ? DepthModels.StereoNetHailo.Name : "sgm", "stereo", (onNpu ? Backend.Npu : Backend.Cpu).Name(), [h, w, 3], [h, w], Math.Round(matchMs, 2),
            o.Output.Normalize, metric ? "metre" : "pixel", metric ? "depth" : "disparity", format, o.Output.Colormap,
            o.MinDisparity, o.NumDisparities, o.Half && !onNpu, o.Focal, o.Baseline, rect is not null, Math.Round(valid / (double)(w * h), 5),
            new StereoInvalidCounts(noMatch, ambiguous, leftRight, speckle),
            s is null ? null : new DepthStatistics(R(s.Min), R(s.Max), R(s.Mean), R(s.Median), R(s.P5), R(s.P95)),
            encoded.Npz, encoded.Npy, image, encoded.Png16, encoded.Png16Scale, encoded.Png16Offset, mask,
            new StereoPerformance(Math.Round(decodeMs, 2), rectifyMs, Math.Round(matchMs, 2), Math.Round(encodeMs, 2), Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 2)));
        return TypedResults.Json(response, StereoJson.Default.StereoResponse);
    }

    /// <summary>8-bit PNG: 255 where the map has a value, else the reason code (1-4).</summary>
    internal static byte[] ValidityMask(DisparityMap map)
    {
        var palette = new byte[256 * 3];
        for (var i = 0; i < 256; i++) palette[3 * i] = palette[3 * i + 1] = palette[3 * i + 2] = (byte)i;
        var w = map.Width;
        return PngWriter.Indexed8(w, map.Height, palette, (y, row) =>
        {
            var src = map.Invalid.AsSpan(y * w, w);
            for (var x = 0; x < w; x++) row[x] = src[x] == 0 ? (byte)255 : src[x];
        });
    }

    private static double R(float v) => float.IsFinite(v) ? Math.Round(v, 5) : 0;
}
