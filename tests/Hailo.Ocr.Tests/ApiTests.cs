using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Ocr.Tests.EndToEnd;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Ocr.Tests;

/// <summary>The HTTP surface of hailo-ocr: every way of sending an image, options, models, OpenAPI, bad input.</summary>
[Collection("ocr-service")]
public sealed class ApiTests(OcrServiceFixture fixture)
{
    private static readonly Lazy<byte[]> Png = new(() => new TextScene { FontFile = TextScene.FontFiles[0], Width = 600, Height = 200, FontSize = 40 }
        .Render(["Hello Hailo 2026"]).Png);

    private static readonly Lazy<byte[]> Jpeg = new(() =>
    {
        using var img = Hailo.Media.ImageDecoder.Decode(Png.Value);
        return img.Encode(Hailo.Media.ImageFormat.Jpeg, 90);
    });

    private HttpClient Client => fixture.Client;

    private static async Task<JsonElement> Json(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static Task AssertError(HttpResponseMessage r, HttpStatusCode status, string code) => ErrorResponses.AssertError(r, status, code);

    private static string TextOf(JsonElement body) => body.GetProperty("text").GetString()!;

    [Fact]
    public async Task Multipart_json_base64_data_url_and_raw_body_give_the_same_text()
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(Png.Value) { Headers = { ContentType = new("image/png") } }, "image", "x.png" } };
        var viaForm = await Json(await Client.PostAsync("/v1/ocr/extract", form));
        Assert.Equal("Hello Hailo 2026", TextOf(viaForm));

        var b64 = Convert.ToBase64String(Png.Value);
        var viaJson = await Json(await Client.PostAsync("/v1/ocr/extract", new StringContent($$"""{"image":"{{b64}}"}""", Encoding.UTF8, "application/json")));
        var viaDataUrl = await Json(await Client.PostAsync("/v1/ocr/extract", new StringContent($$"""{"image":"data:image/png;base64,{{b64}}","languages":["en"]}""", Encoding.UTF8, "application/json")));
        var raw = await Client.PostAsync("/v1/ocr/extract?use_angle_cls=true", new ByteArrayContent(Png.Value) { Headers = { ContentType = new("image/png") } });
        var viaRaw = await Json(raw);
        var form2 = new MultipartFormDataContent { { new StringContent(b64), "image" } };
        var viaFormBase64 = await Json(await Client.PostAsync("/v1/ocr/extract", form2));
        foreach (var b in new[] { viaJson, viaDataUrl, viaRaw, viaFormBase64 }) Assert.Equal(TextOf(viaForm), TextOf(b));
    }

    [Fact]
    public async Task Response_has_regions_in_reading_order_with_quads_and_statistics()
    {
        var scene = new TextScene { FontFile = TextScene.FontFiles[2], Width = 800, Height = 400, FontSize = 36 };
        var (png, lines) = scene.Render(["first line here", "second line", "third"]);
        var r = await Client.PostAsync("/v1/ocr/extract", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } });
        var body = await Json(r);
        Assert.True(body.GetProperty("success").GetBoolean());
        Assert.Equal("first line here\nsecond line\nthird", TextOf(body));
        var regions = body.GetProperty("regions").EnumerateArray().ToArray();
        Assert.Equal(3, regions.Length);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i, regions[i].GetProperty("order").GetInt32());
            Assert.Equal(i, regions[i].GetProperty("line").GetInt32());
            Assert.Equal(4, regions[i].GetProperty("bbox").GetArrayLength());
            Assert.InRange(regions[i].GetProperty("confidence").GetDouble(), 0.5, 1.0);
        }
        Assert.Equal(3, body.GetProperty("statistics").GetProperty("total_regions").GetInt32());
        Assert.Equal(["en"], body.GetProperty("languages_detected").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(800, body.GetProperty("image").GetProperty("width").GetInt32());
        var perf = body.GetProperty("performance");
        Assert.True(perf.GetProperty("model_time_ms").GetDouble() > 0);
        Assert.True(perf.GetProperty("total_time_ms").GetDouble() >= perf.GetProperty("model_time_ms").GetDouble());
    }

    [Fact]
    public async Task Blank_image_gives_no_regions()
    {
        var png = new TextScene { FontFile = TextScene.FontFiles[0], Width = 300, Height = 200 }.Render([]).Png;
        var body = await Json(await Client.PostAsync("/v1/ocr/extract", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } }));
        Assert.Equal("", TextOf(body));
        Assert.Equal(0, body.GetProperty("regions").GetArrayLength());
    }

    [Fact]
    public async Task Upside_down_text_is_turned_by_the_direction_classifier()
    {
        var scene = new TextScene { FontFile = TextScene.FontFiles[0], Width = 700, Height = 200, FontSize = 40, RotationDegrees = 180 };
        var (png, _) = scene.Render(["Upside down 42"]);
        var content = () => new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } };
        var with = await Json(await Client.PostAsync("/v1/ocr/extract?use_angle_cls=true", content()));
        Assert.Equal("Upside down 42", TextOf(with));
        Assert.Equal(180, with.GetProperty("regions")[0].GetProperty("angle").GetInt32());
        var without = await Json(await Client.PostAsync("/v1/ocr/extract?use_angle_cls=false", content()));
        Assert.NotEqual("Upside down 42", TextOf(without));
    }

    [Fact]
    public async Task Models_endpoints_list_the_cpu_model_as_ready()
    {
        foreach (var path in new[] { "/v1/models", "/models" })
        {
            var body = await Json(await Client.GetAsync(path));
            var m = body.GetProperty("data").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "paddleocr-v4");
            Assert.Equal("ready", m.GetProperty("status").GetString());
            Assert.Equal("cpu", m.GetProperty("backend").GetString());
        }
    }

    [Fact]
    public async Task Health_names_backend_and_model()
    {
        var body = await Json(await Client.GetAsync("/health"));
        Assert.True(body.GetProperty("ready").GetBoolean());
        Assert.Equal("cpu", body.GetProperty("backend").GetString());
        Assert.Equal("paddleocr-v4", body.GetProperty("models")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task OpenApi_documents_every_route_and_the_upload_forms()
    {
        var doc = await Json(await Client.GetAsync("/openapi/v1.json"));
        var paths = doc.GetProperty("paths");
        foreach (var route in OpenApiRoutes.Of(fixture.Service.App))
            Assert.True(paths.TryGetProperty(route, out _), $"{route} missing from OpenAPI");
        var content = paths.GetProperty("/v1/ocr/extract").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(content.TryGetProperty("application/json", out _));
        Assert.True(content.GetProperty("multipart/form-data").GetProperty("schema").GetProperty("properties").TryGetProperty("image", out _));
        Assert.True(content.TryGetProperty("image/jpeg", out _));
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.TryGetProperty("OcrResponse", out _));
        Assert.True(schemas.TryGetProperty("ErrorEnvelope", out _));
    }

    private static readonly BadImageRequests BadRequests = new BadImageRequests("/v1/ocr/extract", () => Png.Value, () => Jpeg.Value,
            wrongTypeJson: _ => "{\"image\": 42}", missingImageJson: "{\"languages\": [\"en\"]}",
            unknownFormField: ("lang", "en"), unknownQuery: "?langs=en")
        .Add("bad-threshold", "", () => BadImageRequests.Json($"{{\"image\": \"{Base64}\", \"det_threshold\": 7}}"), "invalid_parameter")
        .Add("threshold-not-a-number", "?rec_threshold=high", () => BadImageRequests.Raw(Png.Value), "invalid_parameter")
        .Add("bad-bool", "?use_angle_cls=perhaps", () => BadImageRequests.Raw(Png.Value), "invalid_parameter")
        .Add("unsupported-language", "", () => BadImageRequests.Json($"{{\"image\": \"{Base64}\", \"languages\": [\"klingon\"]}}"), "unsupported_language");

    private static string Base64 => Convert.ToBase64String(Png.Value);

    public static TheoryData<string> BadInputs => BadRequests.Kinds;

    [Theory]
    [MemberData(nameof(BadInputs))]
    public Task Bad_input_gets_a_clear_4xx_and_the_service_keeps_working(string kind) => BadRequests.AssertRefusedAndStillServing(Client, kind);

    [Fact]
    public async Task Unknown_route_and_wrong_method_are_json()
    {
        await AssertError(await Client.GetAsync("/v1/ocr/extract"), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        await AssertError(await Client.GetAsync("/v1/ocr/nope"), HttpStatusCode.NotFound, "not_found");
        await AssertError(await Client.PostAsync("/v1/models", new StringContent("{}", Encoding.UTF8, "application/json")), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }
}
