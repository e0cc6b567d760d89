using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Media;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Depth.Tests;

/// <summary>
/// The HTTP surface of hailo-depth on the CPU backend with a generated model: every way of sending an image, every
/// output format decoded back to numbers, colormaps, normalisation, statistics, info/models and the bad-input corpus.
/// </summary>
[Collection("depth-service")]
public sealed class ApiTests(DepthServiceFixture fixture)
{
    private const int W = DepthServiceFixture.Width, H = DepthServiceFixture.Height;
    private static readonly Lazy<byte[]> Png = new(() => DepthServiceFixture.Image());
    private static readonly Lazy<byte[]> Jpeg = new(() => DepthServiceFixture.Image(ImageFormat.Jpeg));
    // 12.4 MP: above depth.max_image_pixels (12 MP), refused from the header.
    private static readonly Lazy<byte[]> BigJpeg = new(() =>
    {
        using var big = RgbaImage.Filled(4000, 3100, 1, 1, 1);
        return big.Encode(ImageFormat.Jpeg, 50);
    });

    private HttpClient Client => fixture.Client;

    private static HttpContent Raw(byte[] b, string type = "image/png") => new ByteArrayContent(b) { Headers = { ContentType = new(type) } };
    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Body(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static (int Rows, int Cols, float[] Values) ReadNpy(byte[] npy)
    {
        var headerLength = BinaryPrimitives.ReadUInt16LittleEndian(npy.AsSpan(8));
        var header = Encoding.ASCII.GetString(npy, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'fortran_order': False", header);
        var shape = header[(header.IndexOf("'shape': (", StringComparison.Ordinal) + 10)..];
        var dims = shape[..shape.IndexOf(')')].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        var values = new float[dims[0] * dims[1]];
        Buffer.BlockCopy(npy, 10 + headerLength, values, 0, values.Length * 4);
        return (dims[0], dims[1], values);
    }

    private static byte[] NpzMember(byte[] npz, string name)
    {
        using var zip = new ZipArchive(new MemoryStream(npz), ZipArchiveMode.Read);
        using var ms = new MemoryStream();
        zip.GetEntry(name)!.Open().CopyTo(ms);
        return ms.ToArray();
    }

    private static byte[] Bytes(JsonElement body, string field) => Convert.FromBase64String(body.GetProperty(field).GetString()!);

    [Fact]
    public async Task Multipart_json_data_url_and_raw_body_give_the_same_depth_map()
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(Png.Value) { Headers = { ContentType = new("image/png") } }, "image", "x.png" } };
        var viaForm = await Body(await Client.PostAsync("/v1/depth/estimate", form));
        var b64 = Convert.ToBase64String(Png.Value);
        var viaJson = await Body(await Client.PostAsync("/v1/depth/estimate", Json($$"""{"image":"{{b64}}"}""")));
        var viaDataUrl = await Body(await Client.PostAsync("/v1/depth/estimate", Json($$"""{"image":"data:image/png;base64,{{b64}}","output_format":"both"}""")));
        var viaRaw = await Body(await Client.PostAsync("/v1/depth/estimate?colormap=viridis", Raw(Png.Value)));
        var reference = Bytes(viaForm, "depth_map");
        foreach (var b in new[] { viaJson, viaDataUrl, viaRaw }) Assert.Equal(reference, Bytes(b, "depth_map"));
        // Arrays go back for reuse once an answer is written: answers written at the same time, of two different
        // images, must each keep their own bytes. (Giving an array back before its answer is written fails here in
        // about half the runs: the overlap depends on timing.)
        byte[] swapped;
        using (var img = DepthOnnx.Halves(W, H, DepthServiceFixture.Right, DepthServiceFixture.Left)) swapped = img.Encode(ImageFormat.Png);
        var referenceSwapped = Bytes(await Body(await Client.PostAsync("/v1/depth/estimate", Raw(swapped))), "depth_map");
        Assert.NotEqual(reference, referenceSwapped);
        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
            Bytes(await Body(await Client.PostAsync("/v1/depth/estimate?output_format=numpy", Raw(i % 2 == 0 ? Png.Value : swapped))), "depth_map")));
        for (var i = 0; i < together.Length; i++) Assert.Equal(i % 2 == 0 ? reference : referenceSwapped, together[i]);
        var jpeg = await Body(await Client.PostAsync("/v1/depth/estimate", Json($$"""{"image":"{{Convert.ToBase64String(Jpeg.Value)}}"}""")));
        Assert.Equal([H, W], jpeg.GetProperty("depth_shape").EnumerateArray().Select(x => x.GetInt32()));
    }

    [Fact]
    public async Task Default_answer_has_the_earlier_shape_with_npz_and_colour_image()
    {
        var body = await Body(await Client.PostAsync("/v1/depth/estimate", Raw(Png.Value)));
        Assert.Equal("midas-small", body.GetProperty("model").GetString());
        Assert.Equal("monocular", body.GetProperty("model_type").GetString());
        Assert.Equal("cpu", body.GetProperty("backend").GetString());
        Assert.Equal([H, W, 3], body.GetProperty("input_shape").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal([H, W], body.GetProperty("depth_shape").EnumerateArray().Select(x => x.GetInt32()));
        Assert.True(body.GetProperty("normalized").GetBoolean());
        Assert.Equal("relative", body.GetProperty("unit").GetString());
        Assert.Equal("both", body.GetProperty("output_format").GetString());
        Assert.True(body.GetProperty("inference_time_ms").GetDouble() > 0);

        var (rows, cols, depth) = ReadNpy(NpzMember(Bytes(body, "depth_map"), "depth.npy"));
        Assert.Equal((H, W), (rows, cols));
        // Normalised: the bright (near) left half is 0, the dark (far) right half 1.
        Assert.Equal(0f, depth[100 * W + 50], 1e-5f);
        Assert.Equal(1f, depth[600 * W + 1200], 1e-5f);
        Assert.All(depth, v => Assert.InRange(v, 0f, 1f));

        using var image = ImageDecoder.Decode(Bytes(body, "depth_image"));
        Assert.Equal((W, H), (image.Width, image.Height));
        Assert.Equal([253, 231, 37], image.Row(300).Slice(4 * 100, 3).ToArray());  // near: viridis' bright end
        Assert.Equal([68, 1, 84], image.Row(300).Slice(4 * 1200, 3).ToArray());    // far: viridis' dark end

        var stats = body.GetProperty("stats");
        Assert.Equal(DepthServiceFixture.LeftDepth, stats.GetProperty("min").GetDouble(), 1e-4);
        Assert.Equal(DepthServiceFixture.RightDepth, stats.GetProperty("max").GetDouble(), 1e-4);
        foreach (var k in new[] { "mean", "median", "p5", "p95" }) Assert.InRange(stats.GetProperty(k).GetDouble(), DepthServiceFixture.LeftDepth - 1e-4, DepthServiceFixture.RightDepth + 1e-4);
    }

    [Fact]
    public async Task Model_resolution_returns_the_models_grid_unresized_in_every_format()
    {
        var full = await Body(await Client.PostAsync("/v1/depth/estimate?output_format=npy&normalize=false", Raw(Png.Value)));
        var small = await Body(await Client.PostAsync("/v1/depth/estimate?output_format=npy&normalize=false&resolution=model", Raw(Png.Value)));
        var (rows, cols, depth) = ReadNpy(Bytes(small, "depth_npy"));
        Assert.Equal([rows, cols], small.GetProperty("depth_shape").EnumerateArray().Select(x => x.GetInt32()));
        Assert.True(rows < H && cols < W, $"{rows}×{cols} is not the model's grid");
        Assert.Equal([H, W, 3], small.GetProperty("input_shape").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(DepthServiceFixture.LeftDepth, depth[rows / 2 * cols + 2], 1e-4f);
        Assert.Equal(DepthServiceFixture.RightDepth, depth[rows / 2 * cols + cols - 3], 1e-4f);
        // The same statistics: both are computed on the model's grid.
        Assert.Equal(full.GetProperty("stats").GetRawText(), small.GetProperty("stats").GetRawText());

        // As JSON and as a form field, for the colour image and the .npz too.
        var viaJson = await Body(await Client.PostAsync("/v1/depth/estimate",
            Json($$"""{"image":"{{Convert.ToBase64String(Png.Value)}}","resolution":"model","output_format":"both"}""")));
        using (var image = ImageDecoder.Decode(Bytes(viaJson, "depth_image"))) Assert.Equal((cols, rows), (image.Width, image.Height));
        var (npzRows, npzCols, _) = ReadNpy(NpzMember(Bytes(viaJson, "depth_map"), "depth.npy"));
        Assert.Equal((rows, cols), (npzRows, npzCols));
        var viaForm = await Body(await Client.PostAsync("/v1/depth/estimate", BadImageRequests.Form("image", Png.Value, ("resolution", "model"), ("output_format", "depth_png_16"))));
        Png16Samples(Bytes(viaForm, "depth_png_16"), out var w, out var h);
        Assert.Equal((cols, rows), (w, h));
    }

    [Fact]
    public async Task Raw_depth_npy_and_16_bit_png_carry_the_values()
    {
        var raw = await Body(await Client.PostAsync("/v1/depth/estimate?output_format=npy&normalize=false&statistics=false", Raw(Png.Value)));
        Assert.False(raw.TryGetProperty("depth_map", out _));
        Assert.False(raw.TryGetProperty("depth_image", out _));
        Assert.False(raw.TryGetProperty("stats", out _));
        var (_, _, depth) = ReadNpy(Bytes(raw, "depth_npy"));
        Assert.Equal(DepthServiceFixture.LeftDepth, depth[10 * W + 10], 1e-4f);
        Assert.Equal(DepthServiceFixture.RightDepth, depth[700 * W + 1270], 1e-4f);

        var png16 = await Body(await Client.PostAsync("/v1/depth/estimate", Json($$"""{"image":"{{Convert.ToBase64String(Png.Value)}}","output_format":"depth_png_16","normalize":false}""")));
        var scale = png16.GetProperty("depth_png_16_scale").GetDouble();
        var offset = png16.GetProperty("depth_png_16_offset").GetDouble();
        var samples = Png16Samples(Bytes(png16, "depth_png_16"), out var w, out var h);
        Assert.Equal((W, H), (w, h));
        Assert.Equal(DepthServiceFixture.LeftDepth, offset + samples[10 * W + 10] * scale, 1e-4);
        Assert.Equal(DepthServiceFixture.RightDepth, offset + samples[700 * W + 1270] * scale, 1e-4);
        Assert.Equal(65535, samples[700 * W + 1270]);
    }

    /// <summary>Reads our 16-bit greyscale PNG (one IDAT, rows filtered None or Sub) back into samples.</summary>
    private static ushort[] Png16Samples(byte[] png, out int width, out int height)
    {
        width = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16));
        height = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20));
        Assert.Equal(16, png[24]);
        Assert.Equal(0, png[25]);
        var idatLength = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(33));
        using var z = new ZLibStream(new MemoryStream(png, 41, idatLength), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        z.CopyTo(ms);
        var raw = ms.ToArray();
        var samples = new ushort[width * height];
        var stride = 1 + 2 * width;
        for (var y = 0; y < height; y++)
        {
            // Filter type None or Sub (each byte plus the byte one pixel, two bytes, to its left).
            var row = raw.AsSpan(y * stride + 1, 2 * width);
            Assert.True(raw[y * stride] is 0 or 1, $"row {y}: filter type {raw[y * stride]}");
            if (raw[y * stride] == 1)
                for (var i = 2; i < row.Length; i++) row[i] += row[i - 2];
            for (var x = 0; x < width; x++) samples[y * width + x] = BinaryPrimitives.ReadUInt16BigEndian(row[(2 * x)..]);
        }
        return samples;
    }

    [Theory]
    [InlineData("plasma", 240, 249, 33, 13, 8, 135)]
    [InlineData("magma", 252, 253, 191, 0, 0, 4)]
    [InlineData("turbo", 122, 4, 3, 48, 18, 59)]
    [InlineData("jet", 128, 0, 0, 0, 0, 128)]
    public async Task Colormaps_colour_near_and_far_with_the_ends_of_the_map(string map, int nr, int ng, int nb, int fr, int fg, int fb)
    {
        var body = await Body(await Client.PostAsync($"/v1/depth/estimate?output_format=image&colormap={map}", Raw(Png.Value)));
        Assert.False(body.TryGetProperty("depth_map", out _));
        Assert.Equal(map, body.GetProperty("colormap").GetString());
        using var image = ImageDecoder.Decode(Bytes(body, "depth_image"));
        Assert.Equal([nr, ng, nb], image.Row(360).Slice(4 * 20, 3).ToArray().Select(b => (int)b));
        Assert.Equal([fr, fg, fb], image.Row(360).Slice(4 * 1260, 3).ToArray().Select(b => (int)b));
    }

    [Fact]
    public async Task Info_models_health_and_openapi()
    {
        var info = await Body(await Client.GetAsync("/v1/info"));
        Assert.Equal("hailo-depth", info.GetProperty("service").GetString());
        Assert.Equal("midas-small", info.GetProperty("model").GetProperty("name").GetString());
        Assert.True(info.GetProperty("model").GetProperty("loaded").GetBoolean());
        Assert.True(info.GetProperty("capabilities").GetProperty("stereo").GetBoolean());
        Assert.Equal(["viridis", "plasma", "magma", "turbo", "jet"], info.GetProperty("capabilities").GetProperty("colormaps").EnumerateArray().Select(x => x.GetString()!));
        var models = await Body(await Client.GetAsync("/v1/models"));
        Assert.Contains(models.GetProperty("data").EnumerateArray(), m => m.GetProperty("id").GetString() == "scdepthv3" && m.GetProperty("backend").GetString() == "npu");
        Assert.Equal("ready", models.GetProperty("data").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "midas-small").GetProperty("status").GetString());
        var health = await Body(await Client.GetAsync("/health"));
        Assert.True(health.GetProperty("ready").GetBoolean());
        var doc = await Body(await Client.GetAsync("/openapi/v1.json"));
        foreach (var route in OpenApiRoutes.Of(fixture.Service.App))
            Assert.True(doc.GetProperty("paths").TryGetProperty(route, out _), $"{route} missing from OpenAPI");
        Assert.True(doc.GetProperty("components").GetProperty("schemas").TryGetProperty("DepthResponse", out _));
    }

    private static readonly BadImageRequests BadRequests = new BadImageRequests("/v1/depth/estimate", () => Png.Value, () => Jpeg.Value,
            wrongTypeJson: b64 => $"{{\"image\": \"{b64}\", \"normalize\": \"maybe\"}}", missingImageJson: "{\"colormap\": \"jet\"}",
            unknownFormField: ("format", "npy"), unknownQuery: "?cmap=jet", goodQuery: "?output_format=numpy")
        .Add("image-url", "", () => Json("{\"image_url\": \"http://169.254.169.254/latest\"}"), "unsupported_image_source")
        .Add("image-right-not-base64", "", () => Json($"{{\"image\": \"{Base64}\", \"image_right\": \"not base64!\"}}"), "invalid_base64")
        .Add("too-many-pixels", "", () => Raw(BigJpeg.Value, "image/jpeg"), "image_too_large")
        .Add("bad-colormap", "?colormap=rainbow", () => Raw(Png.Value), "invalid_parameter")
        .Add("bad-output-format", "", () => Json($"{{\"image\": \"{Base64}\", \"output_format\": \"tiff\"}}"), "invalid_parameter")
        .Add("bad-normalize", "", () => BadImageRequests.Form("image", Png.Value, ("normalize", "perhaps")), "invalid_parameter")
        .Add("bad-statistics", "?statistics=2", () => Raw(Png.Value), "invalid_parameter")
        .Add("bad-resolution", "", () => Json($"{{\"image\": \"{Base64}\", \"resolution\": \"4k\"}}"), "invalid_parameter");

    private static string Base64 => Convert.ToBase64String(Png.Value);

    public static TheoryData<string> BadInputs => BadRequests.Kinds;

    [Theory]
    [MemberData(nameof(BadInputs))]
    public Task Bad_input_gets_a_clear_4xx_and_the_service_keeps_working(string kind) => BadRequests.AssertRefusedAndStillServing(Client, kind);

    [Fact]
    public async Task Unknown_route_and_wrong_method_are_json()
    {
        foreach (var (method, path, status) in new[] { ("GET", "/v1/depth/estimate", 405), ("GET", "/v1/depth/nope", 404), ("POST", "/v1/info", 405), ("POST", "/v1/models", 405) })
        {
            var r = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? Json("{}") : null });
            Assert.Equal(status, (int)r.StatusCode);
            Assert.Equal(status, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("status").GetInt32());
        }
    }
}
