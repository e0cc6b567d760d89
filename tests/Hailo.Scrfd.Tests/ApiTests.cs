using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Face;
using Hailo.Media;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Scrfd.Tests;

/// <summary>
/// The HTTP surface of hailo-scrfd on the CPU backend with a generated SCRFD model whose outputs encode known faces:
/// every way of sending an image, the earlier API's shapes, COCO output, the annotated image, the alignment (checked
/// against the transform that placed the face), options, models, OpenAPI and the bad-input corpus. What it proves is
/// the service around the model — decoding, NMS, letterbox undo, alignment — not a trained SCRFD's accuracy.
/// </summary>
[Collection("scrfd-service")]
public sealed class ApiTests(ScrfdServiceFixture fixture)
{
    private static readonly Lazy<byte[]> Png = new(() => ScrfdServiceFixture.Image());
    private static readonly Lazy<byte[]> Jpeg = new(() => ScrfdServiceFixture.Image(ImageFormat.Jpeg));

    private HttpClient Client => fixture.Client;

    private static HttpContent Raw(byte[] b, string type = "image/png") => new ByteArrayContent(b) { Headers = { ContentType = new(type) } };
    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Body(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static double[] Numbers(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    [Fact]
    public async Task Multipart_json_data_url_and_raw_body_find_the_faces_where_they_are()
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(Png.Value) { Headers = { ContentType = new("image/png") } }, "image", "x.png" } };
        var b64 = Convert.ToBase64String(Jpeg.Value);
        var bodies = new[]
        {
            await Body(await Client.PostAsync("/v1/detect", form)),
            await Body(await Client.PostAsync("/v1/detect", Json($$"""{"image":"{{b64}}"}"""))),
            await Body(await Client.PostAsync("/v1/detect", Json($$"""{"image":"data:image/jpeg;base64,{{b64}}","conf_threshold":0.5}"""))),
            await Body(await Client.PostAsync("/v1/detect?return_landmarks=true", Raw(Jpeg.Value, "image/jpeg"))),
        };
        foreach (var b in bodies)
        {
            Assert.Equal(2, b.GetProperty("num_faces").GetInt32());
            var faces = b.GetProperty("faces").EnumerateArray().ToArray();
            for (var i = 0; i < 2; i++)
            {
                var e = ScrfdServiceFixture.Expected[i];
                Assert.Equal([e.Box.X1, e.Box.Y1, e.Box.Width, e.Box.Height], Numbers(faces[i].GetProperty("bbox")), (x, y) => Math.Abs(x - y) < 0.2);
                Assert.Equal(e.Score, faces[i].GetProperty("confidence").GetDouble(), 3);
                var lm = faces[i].GetProperty("landmarks").EnumerateArray().ToArray();
                Assert.Equal(FaceLandmarks.Names, lm.Select(l => l.GetProperty("type").GetString()));
                for (var k = 0; k < 5; k++)
                {
                    Assert.Equal(e.Landmarks[k].X, lm[k].GetProperty("x").GetDouble(), 0.2);
                    Assert.Equal(e.Landmarks[k].Y, lm[k].GetProperty("y").GetDouble(), 0.2);
                }
            }
        }
    }

    [Fact]
    public async Task Response_has_the_earlier_fields_and_the_model()
    {
        var body = await Body(await Client.PostAsync("/v1/detect", Raw(Png.Value)));
        Assert.Equal(JsonValueKind.Number, body.GetProperty("inference_time_ms").ValueKind);
        Assert.Equal("scrfd_2.5g_bnkps", body.GetProperty("model").GetString());
        Assert.Equal("cpu", body.GetProperty("backend").GetString());
        Assert.Equal("scrfd_2.5g_bnkps.onnx", body.GetProperty("model_file").GetString());
        Assert.Equal(1280, body.GetProperty("image_size").GetProperty("width").GetInt32());
        Assert.False(body.TryGetProperty("annotated_image", out _));
        var face = body.GetProperty("faces")[0];
        Assert.Equal(0, face.GetProperty("face_id").GetInt32());
        var box = Numbers(face.GetProperty("box"));
        var bbox = Numbers(face.GetProperty("bbox"));
        Assert.Equal(box[2] - box[0], bbox[2], 0.11);
        var noLandmarks = await Body(await Client.PostAsync("/v1/detect?return_landmarks=false", Raw(Png.Value)));
        Assert.False(noLandmarks.GetProperty("faces")[0].TryGetProperty("landmarks", out _));
    }

    [Fact]
    public async Task Thresholds_and_limits_change_what_comes_back()
    {
        async Task<int> Count(string query) => (await Body(await Client.PostAsync("/v1/detect" + query, Raw(Png.Value)))).GetProperty("num_faces").GetInt32();
        Assert.Equal(2, await Count(""));
        Assert.Equal(1, await Count("?conf_threshold=0.8"));
        Assert.Equal(1, await Count("?max_faces=1"));
        Assert.Equal(4, await Count("?nms_threshold=0.99"));               // the duplicates survive a lax NMS
        Assert.Equal(6, await Count("?nms_threshold=0.99&conf_threshold=0.2"));
        Assert.Equal(1, await Count("?min_face_size=200"));                // face B is 120 px wide
    }

    [Fact]
    public async Task A_black_image_has_no_faces()
    {
        using var black = RgbaImage.Filled(640, 480, 0, 0, 0);
        var body = await Body(await Client.PostAsync("/v1/detect", Raw(black.Encode(ImageFormat.Png))));
        Assert.Equal(0, body.GetProperty("num_faces").GetInt32());
        var aligned = await Body(await Client.PostAsync("/v1/align", Raw(black.Encode(ImageFormat.Png))));
        Assert.Equal(0, aligned.GetProperty("num_faces").GetInt32());
    }

    [Fact]
    public async Task Coco_format_returns_keypoint_results()
    {
        var body = await Body(await Client.PostAsync("/v1/detect?format=coco&image_id=7", Raw(Png.Value)));
        Assert.Equal(JsonValueKind.Array, body.ValueKind);
        Assert.Equal(2, body.GetArrayLength());
        var first = body[0];
        Assert.Equal(7, first.GetProperty("image_id").GetInt64());
        Assert.Equal(1, first.GetProperty("category_id").GetInt32());
        Assert.Equal(5, first.GetProperty("num_keypoints").GetInt32());
        var e = ScrfdServiceFixture.Expected[0];
        var kp = Numbers(first.GetProperty("keypoints"));
        Assert.Equal(15, kp.Length);
        Assert.Equal(e.Landmarks[2].X, kp[6], 0.1);
        Assert.Equal(2, kp[8]);
        Assert.Equal([e.Box.X1, e.Box.Y1, e.Box.Width, e.Box.Height], Numbers(first.GetProperty("bbox")), (x, y) => Math.Abs(x - y) < 0.1);
    }

    [Fact]
    public async Task Annotated_image_is_a_jpeg_data_url_with_the_boxes_drawn()
    {
        var body = await Body(await Client.PostAsync("/v1/detect", Json($$"""{"image":"{{Convert.ToBase64String(Png.Value)}}","annotate":true}""")));
        var url = body.GetProperty("annotated_image").GetString()!;
        Assert.StartsWith("data:image/jpeg;base64,", url);
        using var drawn = ImageDecoder.Decode(Convert.FromBase64String(url["data:image/jpeg;base64,".Length..]));
        Assert.Equal((1280, 720), (drawn.Width, drawn.Height));
        var b = ScrfdServiceFixture.Expected[1].Box;
        var (x, y) = ((int)b.X1, (int)((b.Y1 + b.Y2) / 2));
        var px = drawn.Row(y).Slice(x * 4, 3).ToArray();
        Assert.True(px[1] > 150 && px[0] < 100, $"box edge colour at ({x},{y}): {string.Join(",", px)}");
    }

    [Fact]
    public async Task Align_undoes_the_transform_that_placed_the_face_and_puts_the_landmarks_on_the_template()
    {
        var body = await Body(await Client.PostAsync("/v1/align?format=png", Raw(Png.Value)));
        Assert.Equal(2, body.GetProperty("num_faces").GetInt32());
        Assert.Equal(112, body.GetProperty("aligned_size").GetInt32());
        var a = body.GetProperty("faces")[0];
        // Face A's landmarks are the template under PlacedA: the alignment is PlacedA's inverse.
        var m = Numbers(a.GetProperty("transform"));
        var inv = ScrfdServiceFixture.PlacedA.Inverse().ToMatrix();
        for (var i = 0; i < 6; i++) Assert.Equal(inv[i], m[i], i % 3 == 2 ? 0.05 : 1e-4);
        var url = a.GetProperty("aligned_image").GetString()!;
        Assert.StartsWith("data:image/png;base64,", url);
        using var crop = ImageDecoder.Decode(Convert.FromBase64String(url["data:image/png;base64,".Length..]));
        Assert.Equal((112, 112), (crop.Width, crop.Height));
        for (var k = 0; k < 5; k++)
        {
            var p = FaceLandmarks.ArcFaceTemplate[k];
            var px = crop.Row((int)MathF.Round(p.Y)).Slice((int)MathF.Round(p.X) * 4, 3).ToArray();
            Assert.Equal(ScrfdServiceFixture.Mark(k), (px[0], px[1], px[2]));
        }
        var jpeg = await Body(await Client.PostAsync("/v1/align", Raw(Png.Value)));
        Assert.StartsWith("data:image/jpeg;base64,", jpeg.GetProperty("faces")[0].GetProperty("aligned_image").GetString());
    }

    [Fact]
    public async Task Models_health_and_openapi()
    {
        var models = await Body(await Client.GetAsync("/v1/models"));
        var cpu = models.GetProperty("data").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "scrfd_2.5g_bnkps");
        Assert.Equal("ready", cpu.GetProperty("status").GetString());
        Assert.Equal("face-detection", cpu.GetProperty("task").GetString());
        Assert.Contains(models.GetProperty("data").EnumerateArray(), x => x.GetProperty("id").GetString() == "scrfd_10g" && x.GetProperty("backend").GetString() == "npu");
        var health = await Body(await Client.GetAsync("/health"));
        Assert.True(health.GetProperty("ready").GetBoolean());
        var doc = await Body(await Client.GetAsync("/openapi/v1.json"));
        foreach (var route in OpenApiRoutes.Of(fixture.Service.App))
            Assert.True(doc.GetProperty("paths").TryGetProperty(route, out _), $"{route} missing from OpenAPI");
        Assert.True(doc.GetProperty("components").GetProperty("schemas").TryGetProperty("AlignResponse", out _));
    }

    private static string Base64 => Convert.ToBase64String(Png.Value);

    private static BadImageRequests Corpus(string url) => new BadImageRequests(url, () => Png.Value, () => Jpeg.Value,
            wrongTypeJson: b64 => $"{{\"image\": \"{b64}\", \"max_faces\": \"ten\"}}", missingImageJson: "{\"conf_threshold\": 0.5}",
            unknownFormField: ("threshold", "0.5"), unknownQuery: "?conf=0.5")
        .Add("conf-out-of-range", "", () => Json($"{{\"image\": \"{Base64}\", \"conf_threshold\": 1.5}}"), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("conf-not-a-number", "?conf_threshold=high", () => Raw(Png.Value), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("nms-zero", "?nms_threshold=0", () => Raw(Png.Value), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("max-faces-zero", "?max_faces=0", () => Raw(Png.Value), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("max-faces-too-many", "", () => Json($"{{\"image\": \"{Base64}\", \"max_faces\": 100000}}"), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("min-face-size-negative", "", () => BadImageRequests.Form("image", Png.Value, ("min_face_size", "-1")), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("bad-format", "?format=xml", () => Raw(Png.Value), HttpStatusCode.BadRequest, "invalid_parameter");

    private static readonly BadImageRequests DetectCorpus = Corpus("/v1/detect")
        .Add("bad-bool", "?annotate=perhaps", () => Raw(Png.Value), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("negative-image-id", "?image_id=-4&format=coco", () => Raw(Png.Value), HttpStatusCode.BadRequest, "invalid_parameter");
    private static readonly BadImageRequests AlignCorpus = Corpus("/v1/align")
        .Add("detect-only-option", "?annotate=true", () => Raw(Png.Value), HttpStatusCode.BadRequest, "unknown_field");

    public static TheoryData<string> DetectInputs => DetectCorpus.Kinds;
    public static TheoryData<string> AlignInputs => AlignCorpus.Kinds;

    [Theory]
    [MemberData(nameof(DetectInputs))]
    public Task Bad_detect_input_gets_a_clear_4xx(string kind) => DetectCorpus.AssertRefusedAndStillServing(Client, kind);

    [Theory]
    [MemberData(nameof(AlignInputs))]
    public Task Bad_align_input_gets_a_clear_4xx(string kind) => AlignCorpus.AssertRefusedAndStillServing(Client, kind);

    [Fact]
    public async Task Unknown_route_and_wrong_method_are_json()
    {
        await ErrorResponses.AssertError(await Client.GetAsync("/v1/detect"), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        await ErrorResponses.AssertError(await Client.GetAsync("/v1/nope"), HttpStatusCode.NotFound, "not_found");
    }
}
