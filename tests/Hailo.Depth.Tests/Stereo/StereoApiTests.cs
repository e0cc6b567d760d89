using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.Media;
using Hailo.TestSupport;
using HailoDepth;
using Xunit;

namespace Hailo.Depth.Tests.Stereo;

/// <summary>POST /v1/depth/stereo and /v1/depth/estimate with an image_right, on a synthetic pair with a known step.</summary>
[Collection("depth-service")]
public sealed class StereoApiTests(DepthServiceFixture fixture)
{
    private const int W = 240, H = 160;
    // Background at 6 px, a nearer rectangle at 20 px.
    private static float Step(float x, int y) => x >= 100 && x < 180 && y >= 40 && y < 120 ? 20 : 6;
    private static readonly Lazy<(byte[] Left, byte[] Right)> Pair = new(() =>
    {
        var p = SyntheticPair.Make(W, H, Step, seed: 11);
        return (Png(p.Left, W, H), Png(p.Right, W, H));
    });

    internal static byte[] Png(byte[] grey, int w, int h)
    {
        var rgba = new byte[w * h * 4];
        for (var i = 0; i < grey.Length; i++)
        {
            rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = grey[i];
            rgba[4 * i + 3] = 255;
        }
        using var image = RgbaImage.FromRgba(rgba, w, h);
        return image.Encode(ImageFormat.Png);
    }

    private static ByteArrayContent File(byte[] b) => new(b) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } };

    internal static MultipartFormDataContent Form(byte[]? left, byte[]? right, string leftField = "image_left", params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        if (left is not null) form.Add(File(left), leftField, "left.png");
        if (right is not null) form.Add(File(right), "image_right", "right.png");
        foreach (var (name, value) in fields) form.Add(new StringContent(value), name);
        return form;
    }

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Body(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {text[..Math.Min(400, text.Length)]}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static float[] Npy(JsonElement body, string field)
    {
        var npy = Convert.FromBase64String(body.GetProperty(field).GetString()!);
        var headerLength = BinaryPrimitives.ReadUInt16LittleEndian(npy.AsSpan(8));
        var values = new float[(npy.Length - 10 - headerLength) / 4];
        Buffer.BlockCopy(npy, 10 + headerLength, values, 0, values.Length * 4);
        return values;
    }

    [Fact]
    public async Task A_multipart_pair_gives_the_steps_disparities_and_a_validity_mask()
    {
        var r = await Body(await fixture.Client.PostAsync("/v1/depth/stereo",
            Form(Pair.Value.Left, Pair.Value.Right, fields: [("num_disparities", "32"), ("output_format", "npy"), ("normalize", "false")])));
        Assert.Equal("stereo", r.GetProperty("model_type").GetString());
        Assert.Equal("disparity", r.GetProperty("quantity").GetString());
        Assert.Equal("pixel", r.GetProperty("unit").GetString());
        var d = Npy(r, "depth_npy");
        Assert.Equal(W * H, d.Length);
        Assert.InRange(d[80 * W + 140], 19, 21);
        Assert.InRange(d[20 * W + 60], 5, 7);
        Assert.True(float.IsNaN(d[80 * W + 2]));     // left border: nothing to match within 32 px
        var valid = r.GetProperty("valid_fraction").GetDouble();
        Assert.InRange(valid, 0.75, 0.95);
        Assert.True(r.GetProperty("invalid").GetProperty("no_match").GetInt32() > 0);
        Assert.True(r.GetProperty("invalid").GetProperty("left_right").GetInt32() + r.GetProperty("invalid").GetProperty("speckle").GetInt32() > 0);
        using var mask = SkiaImageDecoder.Instance.Decode(Convert.FromBase64String(r.GetProperty("validity_mask").GetString()!), 1_000_000);
        Assert.Equal((W, H), (mask.Width, mask.Height));
        Assert.Equal(255, mask.Row(80)[4 * 140]);
        Assert.NotEqual(255, mask.Row(80)[4 * 2]);
        // The stats are over the valid disparities: between the background's and the rectangle's.
        Assert.InRange(r.GetProperty("stats").GetProperty("min").GetDouble(), 3, 7);
        Assert.InRange(r.GetProperty("stats").GetProperty("max").GetDouble(), 19, 24);
    }

    [Fact]
    public async Task Json_with_calibration_gives_metric_depth()
    {
        var body = $"{{\"image_left\": \"{Convert.ToBase64String(Pair.Value.Left)}\", \"image_right\": \"{Convert.ToBase64String(Pair.Value.Right)}\", " +
                   "\"num_disparities\": 32, \"focal_px\": 700, \"baseline_m\": 0.06, \"output_format\": \"npy\", \"normalize\": false}";
        var r = await Body(await fixture.Client.PostAsync("/v1/depth/stereo", Json(body)));
        Assert.Equal("depth", r.GetProperty("quantity").GetString());
        Assert.Equal("metre", r.GetProperty("unit").GetString());
        var z = Npy(r, "depth_npy");
        Assert.InRange(z[80 * W + 140], 700 * 0.06 / 21, 700 * 0.06 / 19);   // 2.1 m
        Assert.InRange(z[20 * W + 60], 700 * 0.06 / 7, 700 * 0.06 / 5);     // 7 m
    }

    [Theory]
    [InlineData("both")]
    [InlineData("image")]
    [InlineData("numpy")]
    [InlineData("depth_png_16")]
    public async Task Every_output_format_is_offered(string format)
    {
        var r = await Body(await fixture.Client.PostAsync("/v1/depth/stereo",
            Form(Pair.Value.Left, Pair.Value.Right, fields: [("num_disparities", "32"), ("output_format", format), ("half_resolution", "true")])));
        Assert.True(r.GetProperty("half_resolution").GetBoolean());
        Assert.Equal(format is "both" or "numpy", r.TryGetProperty("depth_map", out _));
        Assert.Equal(format is "both" or "image", r.TryGetProperty("depth_image", out _));
        Assert.Equal(format == "depth_png_16", r.TryGetProperty("depth_png_16", out _));
        Assert.True(r.TryGetProperty("validity_mask", out _));
        if (format is "both" or "image")
        {
            // Bright = near: the rectangle (disparity 20) is brighter than the background in viridis.
            using var img = SkiaImageDecoder.Instance.Decode(Convert.FromBase64String(r.GetProperty("depth_image").GetString()!), 1_000_000);
            int Luma(int x, int y) => img.Row(y)[4 * x] + img.Row(y)[4 * x + 1] + img.Row(y)[4 * x + 2];
            Assert.True(Luma(140, 80) > Luma(60, 20));
        }
    }

    [Fact]
    public async Task Estimate_with_an_image_right_is_a_stereo_request()
    {
        var form = await Body(await fixture.Client.PostAsync("/v1/depth/estimate", Form(Pair.Value.Left, Pair.Value.Right, "image", ("num_disparities", "32"))));
        Assert.Equal("stereo", form.GetProperty("model_type").GetString());
        var json = await Body(await fixture.Client.PostAsync("/v1/depth/estimate", Json(
            $"{{\"image\": \"{Convert.ToBase64String(Pair.Value.Left)}\", \"image_right\": \"{Convert.ToBase64String(Pair.Value.Right)}\", \"num_disparities\": 32}}")));
        Assert.Equal("stereo", json.GetProperty("model_type").GetString());
        // Without it, the monocular model answers as before.
        var mono = await Body(await fixture.Client.PostAsync("/v1/depth/estimate", Json($"{{\"image\": \"{Convert.ToBase64String(Pair.Value.Left)}\"}}")));
        Assert.Equal("monocular", mono.GetProperty("model_type").GetString());
    }

    [Theory]
    [InlineData("depth_png_16", "false", false)]
    [InlineData("depth_png_16", "false", true)]
    [InlineData("both", "true", true)]
    [InlineData("npy", "false", false)]
    public async Task A_pair_with_nothing_to_match_is_all_invalid_not_an_error(string format, string normalize, bool metric)
    {
        // Disparities from 100 in a 64-wide pair: no pixel has its match in the right image, the map has no value
        // at all (with a calibration, disparity 0 of two blank images has no depth either).
        var blank = Png(Enumerable.Repeat((byte)90, 64 * 48).ToArray(), 64, 48);
        var r = await Body(await fixture.Client.PostAsync("/v1/depth/stereo",
            Form(blank, blank, fields: [("num_disparities", "16"), ("output_format", format), ("normalize", normalize),
                .. metric ? new[] { ("focal_px", "700"), ("baseline_m", "0.1") } : new[] { ("min_disparity", "100") }])));
        Assert.Equal(0, r.GetProperty("valid_fraction").GetDouble());
        // Millimetres for metric depth; a disparity map without any value has no range: scale 0.
        if (format == "depth_png_16") Assert.Equal(metric ? 0.001 : 0, r.GetProperty("depth_png_16_scale").GetDouble());
    }

    private static readonly Lazy<byte[]> Wide = new(() => Png(new byte[30000 * 200], 30000, 200));

    public static TheoryData<string> BadKinds => new(BadCases.Keys);

    private static readonly Dictionary<string, (Func<HttpContent> Content, int Status, string Code)> BadCases = new()
    {
        ["sizes-differ"] = (() => Form(Pair.Value.Left, Png(new byte[100 * 80], 100, 80)), 400, "image_size_mismatch"),
        ["no-right"] = (() => Form(Pair.Value.Left, null), 400, "missing_image"),
        ["no-left"] = (() => Form(null, Pair.Value.Right), 400, "missing_image"),
        ["json-no-right"] = (() => Json($"{{\"image_left\": \"{Convert.ToBase64String(Pair.Value.Left)}\"}}"), 400, "missing_image"),
        ["wide-pair"] = (() => Form(Wide.Value, Wide.Value), 413, "pair_too_large"),
        ["zero-disparities"] = (() => Form(Pair.Value.Left, Pair.Value.Right, fields: ("num_disparities", "0")), 400, "invalid_parameter"),
        ["huge-disparities"] = (() => Form(Pair.Value.Left, Pair.Value.Right, fields: ("num_disparities", "100000")), 400, "invalid_parameter"),
        ["text-disparities"] = (() => Form(Pair.Value.Left, Pair.Value.Right, fields: ("num_disparities", "many")), 400, "invalid_parameter"),
        ["huge-min-disparity"] = (() => Form(Pair.Value.Left, Pair.Value.Right, fields: ("min_disparity", "-99999")), 400, "invalid_parameter"),
        ["negative-focal"] = (() => Form(Pair.Value.Left, Pair.Value.Right, fields: [("focal_px", "-700"), ("baseline_m", "0.06")]), 400, "invalid_parameter"),
        ["zero-baseline"] = (() => Json($"{{\"image_left\": \"{Convert.ToBase64String(Pair.Value.Left)}\", \"image_right\": \"{Convert.ToBase64String(Pair.Value.Right)}\", \"focal_px\": 700, \"baseline_m\": 0}}"), 400, "invalid_parameter"),
        ["huge-focal"] = (() => Form(Pair.Value.Left, Pair.Value.Right, fields: [("focal_px", "1e300"), ("baseline_m", "0.06")]), 400, "invalid_parameter"),
        ["focal-alone"] = (() => Form(Pair.Value.Left, Pair.Value.Right, fields: ("focal_px", "700")), 400, "invalid_parameter"),
        ["not-an-image"] = (() => Form(Encoding.ASCII.GetBytes("not an image at all"), Pair.Value.Right), 400, "invalid_image"),
        ["unknown-field"] = (() => Form(Pair.Value.Left, Pair.Value.Right, fields: ("disparities", "32")), 400, "unknown_field"),
        ["unknown-json-field"] = (() => Json("{\"left\": \"x\"}"), 400, "invalid_json"),
        ["broken-json"] = (() => Json("{\"image_left\": "), 400, "invalid_json"),
        ["image-url"] = (() => Json("{\"image_url\": \"http://169.254.169.254/\", \"image_right\": \"x\"}"), 400, "unsupported_image_source"),
        ["bad-colormap"] = (() => Form(Pair.Value.Left, Pair.Value.Right, fields: ("colormap", "rainbow")), 400, "invalid_parameter"),
        ["raw-image"] = (() => File(Pair.Value.Left), 415, ""),
    };

    [Theory]
    [MemberData(nameof(BadKinds))]
    public async Task Bad_input_gets_a_clear_4xx_json_error(string kind)
    {
        var (content, status, code) = BadCases[kind];
        var r = await fixture.Client.PostAsync("/v1/depth/stereo", content());
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(status == (int)r.StatusCode, $"{kind}: {(int)r.StatusCode} {text}");
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(status, error.GetProperty("status").GetInt32());
        if (code.Length > 0) Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(HttpStatusCode.OK, (await fixture.Client.GetAsync("/health")).StatusCode);
    }
}

/// <summary>Stereo needs no model: with the monocular model missing, the service is degraded for that route only.</summary>
public sealed class StereoWithoutModelTests
{
    [Fact]
    public async Task Stereo_answers_while_the_monocular_model_is_missing()
    {
        var dir = Directory.CreateTempSubdirectory("hailo-depth-empty-").FullName;
        try
        {
            var config = new DepthConfig { Device = Backend.Cpu };
            config.Models.Dir = dir;
            config.Models.SearchPaths = [];
            config.Cpu.Threads = 1;
            await using var service = await RunningService.StartAsync(DepthService.Definition, config);
            await service.StartupCompleted;
            var health = await service.Client.GetAsync("/health");
            var healthText = await health.Content.ReadAsStringAsync();
            Assert.Contains("pull", healthText);
            Assert.Equal(503, (int)(await service.Client.PostAsync("/v1/depth/estimate",
                new ByteArrayContent(StereoApiTests.Png(new byte[64 * 48], 64, 48)) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } })).StatusCode);
            var p = SyntheticPair.Make(120, 80, (_, _) => 9, seed: 12);
            var r = await service.Client.PostAsync("/v1/depth/stereo",
                StereoApiTests.Form(StereoApiTests.Png(p.Left, 120, 80), StereoApiTests.Png(p.Right, 120, 80), fields: ("num_disparities", "16")));
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.OK, text[..Math.Min(300, text.Length)]);
            Assert.Equal("stereo", JsonDocument.Parse(text).RootElement.GetProperty("model_type").GetString());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
