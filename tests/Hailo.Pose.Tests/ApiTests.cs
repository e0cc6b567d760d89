using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Media;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Pose.Tests;

/// <summary>
/// The HTTP surface of hailo-pose on the CPU backend with a generated model: every way of sending an image, the
/// response shapes (earlier API, COCO, annotated image), options, models, OpenAPI and the bad-input corpus.
/// </summary>
[Collection("pose-service")]
public sealed class ApiTests(PoseServiceFixture fixture)
{
    private static readonly Lazy<byte[]> Png = new(() => PoseServiceFixture.Image());
    private static readonly Lazy<byte[]> Jpeg = new(() => PoseServiceFixture.Image(ImageFormat.Jpeg));

    private HttpClient Client => fixture.Client;

    private static HttpContent Raw(byte[] b, string type = "image/png") => new ByteArrayContent(b) { Headers = { ContentType = new(type) } };
    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Body(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static Task AssertError(HttpResponseMessage r, HttpStatusCode status, string code) => ErrorResponses.AssertError(r, status, code);

    [Fact]
    public async Task Multipart_json_data_url_and_raw_body_find_the_same_people_where_they_are()
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(Png.Value) { Headers = { ContentType = new("image/png") } }, "image", "x.png" } };
        var viaForm = await Body(await Client.PostAsync("/v1/pose/detect", form));
        var b64 = Convert.ToBase64String(Jpeg.Value);
        var viaJson = await Body(await Client.PostAsync("/v1/pose/detect", Json($$"""{"image":"{{b64}}"}""")));
        var viaDataUrl = await Body(await Client.PostAsync("/v1/pose/detect", Json($$"""{"image":"data:image/jpeg;base64,{{b64}}","confidence_threshold":0.5}""")));
        var viaRaw = await Body(await Client.PostAsync("/v1/pose/detect?keypoint_threshold=0.3", Raw(Jpeg.Value, "image/jpeg")));
        foreach (var b in new[] { viaForm, viaJson, viaDataUrl, viaRaw })
        {
            Assert.Equal(3, b.GetProperty("count").GetInt32());
            var poses = b.GetProperty("poses").EnumerateArray().ToArray();
            for (var i = 0; i < 3; i++)
            {
                var e = fixture.Expected[i];
                var box = poses[i].GetProperty("box").EnumerateArray().Select(x => x.GetDouble()).ToArray();
                Assert.Equal(e.X1, box[0], 0.5);
                Assert.Equal(e.Y1, box[1], 0.5);
                Assert.Equal(e.X2, box[2], 0.5);
                Assert.Equal(e.Y2, box[3], 0.5);
                var kp = poses[i].GetProperty("keypoints")[15];
                Assert.Equal(MathF.Round(e.Keypoints[15].X), kp.GetProperty("x").GetInt32());
                Assert.Equal(MathF.Round(e.Keypoints[15].Y), kp.GetProperty("y").GetInt32());
            }
        }
    }

    [Fact]
    public async Task Response_has_the_earlier_shape_with_17_named_keypoints_and_the_confident_skeleton()
    {
        var body = await Body(await Client.PostAsync("/v1/pose/detect", Raw(Png.Value)));
        Assert.Equal(1280, body.GetProperty("image_size").GetProperty("width").GetInt32());
        Assert.Equal(720, body.GetProperty("image_size").GetProperty("height").GetInt32());
        Assert.Equal(JsonValueKind.Number, body.GetProperty("inference_time_ms").ValueKind);
        Assert.Equal("yolov8s-pose", body.GetProperty("model").GetProperty("name").GetString());
        Assert.Equal("cpu", body.GetProperty("model").GetProperty("backend").GetString());
        Assert.Equal("yolov8s-pose.onnx", body.GetProperty("model").GetProperty("file").GetString());
        var pose = body.GetProperty("poses")[0];
        Assert.Equal(0, pose.GetProperty("person_id").GetInt32());
        Assert.Equal(0.91, pose.GetProperty("bbox_confidence").GetDouble(), 1e-4);
        var bbox = pose.GetProperty("bbox");
        var e = fixture.Expected[0];
        Assert.Equal((int)MathF.Round(e.X1), bbox.GetProperty("x").GetInt32());
        Assert.Equal((int)MathF.Round(e.X2) - (int)MathF.Round(e.X1), bbox.GetProperty("width").GetInt32());
        var names = pose.GetProperty("keypoints").EnumerateArray().Select(k => k.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
            "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"], names);
        // Keypoints 3 and 8 and 13 have visibility 0.12 in the scene: every limb touching them is left out.
        var limbs = pose.GetProperty("skeleton").EnumerateArray().Select(l => (l.GetProperty("from_index").GetInt32(), l.GetProperty("to_index").GetInt32())).ToList();
        Assert.DoesNotContain(limbs, l => l.Item1 is 3 or 8 or 13 || l.Item2 is 3 or 8 or 13);
        Assert.Equal(19 - 6, limbs.Count); // (15,13) (13,11) (1,3) (3,5) (6,8) (8,10) touch a hidden keypoint
        // The first limb kept, in the COCO skeleton's order and direction: right ankle → right knee.
        var first = pose.GetProperty("skeleton")[0];
        Assert.Equal(("right_ankle", "right_knee", 16, 14), (first.GetProperty("from").GetString(), first.GetProperty("to").GetString(),
            first.GetProperty("from_index").GetInt32(), first.GetProperty("to_index").GetInt32()));
    }

    [Fact]
    public async Task Thresholds_and_limits_change_what_comes_back()
    {
        async Task<int> Count(string query) => (await Body(await Client.PostAsync("/v1/pose/detect" + query, Raw(Png.Value)))).GetProperty("count").GetInt32();
        Assert.Equal(3, await Count(""));
        Assert.Equal(2, await Count("?confidence_threshold=0.7"));
        Assert.Equal(1, await Count("?max_detections=1"));
        Assert.Equal(5, await Count("?iou_threshold=0.99"));           // the two duplicates survive a lax NMS
        Assert.Equal(6, await Count("?iou_threshold=0.99&confidence_threshold=0.25"));
        var noSkeleton = await Body(await Client.PostAsync("/v1/pose/detect?skeleton=false", Raw(Png.Value)));
        Assert.False(noSkeleton.GetProperty("poses")[0].TryGetProperty("skeleton", out _));
        var strict = await Body(await Client.PostAsync("/v1/pose/detect?keypoint_threshold=0.99", Raw(Png.Value)));
        Assert.Equal(0, strict.GetProperty("poses")[0].GetProperty("skeleton").GetArrayLength());
    }

    [Fact]
    public async Task Coco_format_returns_keypoint_results()
    {
        var r = await Client.PostAsync("/v1/pose/detect?format=coco&image_id=42", Raw(Png.Value));
        var body = await Body(r);
        Assert.Equal(JsonValueKind.Array, body.ValueKind);
        Assert.Equal(3, body.GetArrayLength());
        var first = body[0];
        Assert.Equal(42, first.GetProperty("image_id").GetInt64());
        Assert.Equal(1, first.GetProperty("category_id").GetInt32());
        Assert.Equal(0.91, first.GetProperty("score").GetDouble(), 1e-4);
        var kp = first.GetProperty("keypoints").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(51, kp.Length);
        var e = fixture.Expected[0];
        Assert.Equal(e.Keypoints[0].X, kp[0], 0.05);
        Assert.Equal(e.Keypoints[0].Y, kp[1], 0.05);
        Assert.Equal(e.Keypoints[0].V, kp[2], 0.01);
        var bbox = first.GetProperty("bbox").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal([e.X1, e.Y1, e.X2 - e.X1, e.Y2 - e.Y1], bbox, (a, b) => Math.Abs(a - b) < 0.05);
    }

    [Fact]
    public async Task Annotated_image_comes_as_the_body_or_inside_the_json()
    {
        var png = await Client.PostAsync("/v1/pose/detect?format=png", Raw(Jpeg.Value, "image/jpeg"));
        Assert.Equal(HttpStatusCode.OK, png.StatusCode);
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        Assert.Equal("3", png.Headers.GetValues("X-Pose-Count").Single());
        var bytes = await png.Content.ReadAsByteArrayAsync();
        using (var drawn = ImageDecoder.Decode(bytes))
        using (var plain = ImageDecoder.Decode(Png.Value))
        {
            Assert.Equal((1280, 720), (drawn.Width, drawn.Height));
            // The first person's box edge is drawn (green) on a plain background.
            var e = fixture.Expected[0];
            var (x, y) = ((int)e.X1, (int)((e.Y1 + e.Y2) / 2));
            var px = drawn.Row(y).Slice(x * 4, 3).ToArray();
            Assert.True(px[1] > 150 && px[0] < 100, $"box edge colour at ({x},{y}): {string.Join(",", px)}");
            Assert.NotEqual(plain.Row(y).Slice(x * 4, 3).ToArray(), px);
        }

        var jpeg = await Client.PostAsync("/v1/pose/detect?format=jpeg", Raw(Png.Value));
        Assert.Equal("image/jpeg", jpeg.Content.Headers.ContentType?.MediaType);
        Assert.Equal([0xFF, 0xD8], (await jpeg.Content.ReadAsByteArrayAsync())[..2]);

        var json = await Body(await Client.PostAsync("/v1/pose/detect", Json($$"""{"image":"{{Convert.ToBase64String(Png.Value)}}","annotate":"jpeg"}""")));
        Assert.Equal("jpeg", json.GetProperty("annotated_image_format").GetString());
        Assert.Equal([0xFF, 0xD8], Convert.FromBase64String(json.GetProperty("annotated_image").GetString()!)[..2]);
        var plainJson = await Body(await Client.PostAsync("/v1/pose/detect", Raw(Png.Value)));
        Assert.False(plainJson.TryGetProperty("annotated_image", out _));
    }

    [Fact]
    public async Task Models_health_and_openapi()
    {
        var models = await Body(await Client.GetAsync("/v1/models"));
        var cpu = models.GetProperty("data").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "yolov8s-pose");
        Assert.Equal("ready", cpu.GetProperty("status").GetString());
        Assert.Equal("pose-estimation", cpu.GetProperty("task").GetString());
        Assert.Equal("hailo", cpu.GetProperty("owned_by").GetString());
        Assert.Contains(models.GetProperty("data").EnumerateArray(), x => x.GetProperty("id").GetString() == "yolov8s_pose" && x.GetProperty("backend").GetString() == "npu");

        var health = await Body(await Client.GetAsync("/health"));
        Assert.True(health.GetProperty("ready").GetBoolean());
        Assert.Equal("cpu", health.GetProperty("backend").GetString());

        var doc = await Body(await Client.GetAsync("/openapi/v1.json"));
        var paths = doc.GetProperty("paths");
        foreach (var route in OpenApiRoutes.Of(fixture.Service.App))
            Assert.True(paths.TryGetProperty(route, out _), $"{route} missing from OpenAPI");
        var content = paths.GetProperty("/v1/pose/detect").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(content.TryGetProperty("application/json", out _));
        Assert.True(content.GetProperty("multipart/form-data").GetProperty("schema").GetProperty("properties").TryGetProperty("image", out _));
        Assert.True(doc.GetProperty("components").GetProperty("schemas").TryGetProperty("PoseResponse", out _));
    }

    private static readonly BadImageRequests BadRequests = new BadImageRequests("/v1/pose/detect", () => Png.Value, () => Jpeg.Value,
            wrongTypeJson: b64 => $"{{\"image\": \"{b64}\", \"max_detections\": \"ten\"}}", missingImageJson: "{\"confidence_threshold\": 0.5}",
            unknownFormField: ("threshold", "0.5"), unknownQuery: "?conf=0.5")
        .Add("confidence-out-of-range", "", () => Json($"{{\"image\": \"{Base64}\", \"confidence_threshold\": 1.5}}"), "invalid_parameter")
        .Add("threshold-not-a-number", "?iou_threshold=high", () => Raw(Png.Value), "invalid_parameter")
        .Add("iou-zero", "?iou_threshold=0", () => Raw(Png.Value), "invalid_parameter")
        .Add("keypoint-threshold-negative", "", () => BadImageRequests.Form("image", Png.Value, ("keypoint_threshold", "-0.1")), "invalid_parameter")
        .Add("max-detections-zero", "?max_detections=0", () => Raw(Png.Value), "invalid_parameter")
        .Add("max-detections-too-many", "", () => Json($"{{\"image\": \"{Base64}\", \"max_detections\": 100000}}"), "invalid_parameter")
        .Add("max-detections-not-integer", "?max_detections=2.5", () => Raw(Png.Value), "invalid_parameter")
        .Add("bad-bool", "?skeleton=perhaps", () => Raw(Png.Value), "invalid_parameter")
        .Add("bad-format", "?format=xml", () => Raw(Png.Value), "invalid_parameter")
        .Add("bad-annotate", "", () => Json($"{{\"image\": \"{Base64}\", \"annotate\": \"gif\"}}"), "invalid_parameter")
        .Add("negative-image-id", "?image_id=-4&format=coco", () => Raw(Png.Value), "invalid_parameter");

    private static string Base64 => Convert.ToBase64String(Png.Value);

    public static TheoryData<string> BadInputs => BadRequests.Kinds;

    [Theory]
    [MemberData(nameof(BadInputs))]
    public Task Bad_input_gets_a_clear_4xx_and_the_service_keeps_working(string kind) => BadRequests.AssertRefusedAndStillServing(Client, kind);

    [Fact]
    public async Task Unknown_route_and_wrong_method_are_json()
    {
        await AssertError(await Client.GetAsync("/v1/pose/detect"), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        await AssertError(await Client.GetAsync("/v1/pose/nope"), HttpStatusCode.NotFound, "not_found");
        await AssertError(await Client.PostAsync("/v1/models", Json("{}")), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        await AssertError(await Client.PostAsync("/health", Json("{}")), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }
}
