using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Media;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Florence.Tests;

/// <summary>
/// The HTTP surface on the CPU backend with the generated model of <see cref="FlorenceTestModel"/>: a white image makes
/// the model echo its prompt (so the caption is the task's expanded prompt and the VQA answer is the question itself,
/// which proves the prompt reached the encoder and came back through the cached decoding loop); a red image answers a
/// scripted detection ("cat" one box, "dog" two), a blue one a scripted OCR with two quadrilaterals. Every expected
/// pixel is (bin + 0.5) · size / 1000. These prove the plumbing and the result shapes, not Florence-2's quality.
/// </summary>
[Collection("florence-service")]
public sealed class ApiTests(FlorenceServiceFixture fixture)
{
    private static readonly Lazy<byte[]> White = new(() => FlorenceServiceFixture.Image(255, 255, 255));
    private static readonly Lazy<byte[]> WhiteJpeg = new(() => FlorenceServiceFixture.Image(255, 255, 255, format: ImageFormat.Jpeg));
    private static readonly Lazy<byte[]> Red = new(() => FlorenceServiceFixture.Image(255, 0, 0, 400, 300));
    private static readonly Lazy<byte[]> Blue = new(() => FlorenceServiceFixture.Image(0, 0, 255, 640, 480));

    private HttpClient Client => fixture.Client;

    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");
    private static HttpContent Raw(byte[] b, string type = "image/png") => new ByteArrayContent(b) { Headers = { ContentType = new(type) } };
    private static string B64(byte[] b) => Convert.ToBase64String(b);

    private static async Task<JsonElement> Body(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Caption_runs_the_caption_task_prompt_through_the_model()
    {
        var body = await Body(await Client.PostAsync("/v1/caption", Json($$"""{"image":"data:image/png;base64,{{B64(White.Value)}}"}""")));
        Assert.Equal("What does the image describe?", body.GetProperty("caption").GetString());
        Assert.Equal("florence-2-base", body.GetProperty("model").GetString());
        Assert.Equal("cpu", body.GetProperty("backend").GetString());
        Assert.True(body.GetProperty("token_count").GetInt32() > 5);
        Assert.Equal(JsonValueKind.Number, body.GetProperty("inference_time_ms").ValueKind);

        var detailed = await Body(await Client.PostAsync("/v1/caption", BadImageRequests.Form("image", White.Value, ("detail", "more_detailed"))));
        Assert.Equal("Describe with a paragraph what is shown in the image.", detailed.GetProperty("caption").GetString());
        var raw = await Body(await Client.PostAsync("/v1/caption?detail=detailed&max_length=3", Raw(WhiteJpeg.Value, "image/jpeg")));
        // max_length 3: <s> and the first two tokens of the prompt ("Describe" is bytes: D, e).
        Assert.Equal("De", raw.GetProperty("caption").GetString());
        Assert.Equal(3, raw.GetProperty("token_count").GetInt32());
    }

    [Fact]
    public async Task Vqa_puts_the_question_into_the_model()
    {
        const string question = "hello world, is there a cat?";
        var body = await Body(await Client.PostAsync("/v1/vqa", Json($$"""{"image":"{{B64(White.Value)}}","question":"{{question}}","max_length":64,"temperature":0}""")));
        // The echo model can only answer what the encoder read after the image features.
        Assert.Equal(question, body.GetProperty("answer").GetString());
        Assert.Equal(question, body.GetProperty("question").GetString());
        var form = await Body(await Client.PostAsync("/v1/vqa", BadImageRequests.Form("file", White.Value, ("question", "cat dog"))));
        Assert.Equal("cat dog", form.GetProperty("answer").GetString());
        Assert.Equal(4, form.GetProperty("token_count").GetInt32());    // <s> cat Ġdog </s>
    }

    [Fact]
    public async Task Od_returns_labelled_boxes_in_image_pixels()
    {
        var body = await Body(await Client.PostAsync("/v1/florence/od", Raw(Red.Value)));
        Assert.Equal("od", body.GetProperty("task").GetString());
        Assert.Equal("Locate the objects with category name in the image.", body.GetProperty("prompt").GetString());
        var boxes = body.GetProperty("bboxes");
        Assert.Equal(3, boxes.GetArrayLength());
        Assert.Equal("cat", boxes[0].GetProperty("label").GetString());
        double[] cat = [FlorenceTestModel.Px(100, 400), FlorenceTestModel.Px(200, 300), FlorenceTestModel.Px(300, 400), FlorenceTestModel.Px(400, 300)];
        Assert.Equal(cat, boxes[0].GetProperty("bbox").EnumerateArray().Select(x => x.GetDouble()).ToArray());
        Assert.Equal("dog", boxes[1].GetProperty("label").GetString());
        Assert.Equal("dog", boxes[2].GetProperty("label").GetString());
        Assert.Equal(FlorenceTestModel.Px(999, 300), boxes[2].GetProperty("bbox")[3].GetDouble());
        Assert.Equal("cat dog", body.GetProperty("text").GetString());
        Assert.StartsWith("cat<loc_100>", body.GetProperty("raw").GetString());
        Assert.Equal(JsonValueKind.Undefined, body.TryGetProperty("regions", out _) ? JsonValueKind.Object : JsonValueKind.Undefined);
        Assert.Equal(400, body.GetProperty("image").GetProperty("width").GetInt32());
        Assert.Equal(FlorenceTestModel.RedScript.Length, body.GetProperty("token_count").GetInt32());
    }

    [Fact]
    public async Task Annotate_answers_the_image_with_the_boxes_drawn_at_its_own_size()
    {
        var body = await Body(await Client.PostAsync("/v1/florence/od?annotate=true", Raw(Red.Value)));
        var url = body.GetProperty("annotated_image").GetString()!;
        Assert.StartsWith("data:image/jpeg;base64,", url);
        using var drawn = ImageDecoder.Decode(Convert.FromBase64String(url["data:image/jpeg;base64,".Length..]));
        Assert.Equal((400, 300), (drawn.Width, drawn.Height));
        // The cat box's top edge is outlined (the first colour, 230/25/75) on the plain red image, and every pixel the
        // drawing touched (blue above the JPEG's noise) lies on the outline of one of the boxes.
        var boxes = body.GetProperty("bboxes").EnumerateArray().Select(b => b.GetProperty("bbox").EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToList();
        var cat = boxes[0];
        var edge = drawn.Row((int)Math.Round(cat[1])).Slice((int)Math.Round((cat[0] + cat[2]) / 2) * 4, 4);
        Assert.InRange(edge[2], 20, 255);   // a thin line, its colour spread by the JPEG's chroma subsampling
        bool NearAnOutline(int x, int y) => boxes.Any(b =>
            (Math.Abs(x - b[0]) <= 4 || Math.Abs(x - b[2]) <= 4) && y >= b[1] - 4 && y <= b[3] + 4
            || (Math.Abs(y - b[1]) <= 4 || Math.Abs(y - b[3]) <= 4) && x >= b[0] - 4 && x <= b[2] + 4);
        var touched = 0;
        for (var y = 0; y < drawn.Height; y++)
            for (var x = 0; x < drawn.Width; x++)
                if (drawn.Row(y)[x * 4 + 2] > 20)
                {
                    touched++;
                    Assert.True(NearAnOutline(x, y), $"({x}, {y}) was drawn on but is on no box's outline");
                }
        Assert.InRange(touched, 100, 400 * 300 / 4);
        // Without annotate (and for multipart with annotate=false) there is no image in the answer.
        var plain = await Body(await Client.PostAsync("/v1/florence/od", BadImageRequests.Form("image", Red.Value, ("annotate", "false"))));
        Assert.False(plain.TryGetProperty("annotated_image", out _));
        var quads = await Body(await Client.PostAsync("/v1/florence/ocr_with_region", Json($$"""{"image":"{{B64(Blue.Value)}}","annotate":true}""")));
        Assert.StartsWith("data:image/jpeg;base64,", quads.GetProperty("annotated_image").GetString());
    }

    [Fact]
    public async Task A_large_jpeg_is_decoded_reduced_but_boxes_are_in_its_own_pixels()
    {
        // 3200×1800: decoded at a DCT scale (1/2 covers 768×768); the boxes must still be in the source's pixels.
        var big = FlorenceServiceFixture.Image(255, 0, 0, 3200, 1800, ImageFormat.Jpeg);
        var body = await Body(await Client.PostAsync("/v1/florence/od", Raw(big, "image/jpeg")));
        Assert.Equal(3200, body.GetProperty("image").GetProperty("width").GetInt32());
        Assert.Equal(FlorenceTestModel.Px(300, 3200), body.GetProperty("bboxes")[0].GetProperty("bbox")[2].GetDouble());
        Assert.Equal(FlorenceTestModel.Px(400, 1800), body.GetProperty("bboxes")[0].GetProperty("bbox")[3].GetDouble());
    }

    [Fact]
    public async Task Grounding_takes_the_caption_and_answers_boxes()
    {
        var body = await Body(await Client.PostAsync("/v1/florence/caption_to_phrase_grounding", Json($$"""{"image":"{{B64(Red.Value)}}","text":"a cat and a dog"}""")));
        Assert.Equal("Locate the phrases in the caption: a cat and a dog", body.GetProperty("prompt").GetString());
        Assert.Equal(3, body.GetProperty("bboxes").GetArrayLength());
        // Same task on a white image: the echo shows the caption reached the model.
        var echo = await Body(await Client.PostAsync("/v1/florence/%3CCAPTION_TO_PHRASE_GROUNDING%3E", Json($$"""{"image":"{{B64(White.Value)}}","text":"a cat"}""")));
        Assert.Equal("Locate the phrases in the caption: a cat", echo.GetProperty("text").GetString());
        Assert.Equal(0, echo.GetProperty("bboxes").GetArrayLength());
    }

    [Fact]
    public async Task Ocr_with_region_returns_quadrilaterals_shaped_like_hailo_ocr()
    {
        var body = await Body(await Client.PostAsync("/v1/florence/ocr_with_region", Raw(Blue.Value)));
        var regions = body.GetProperty("regions");
        Assert.Equal(2, regions.GetArrayLength());
        Assert.Equal("hello", regions[0].GetProperty("text").GetString());
        Assert.Equal("world", regions[1].GetProperty("text").GetString());
        var quad = regions[0].GetProperty("bbox");
        Assert.Equal(4, quad.GetArrayLength());
        Assert.Equal(FlorenceTestModel.Px(100, 640), quad[0][0].GetDouble());
        Assert.Equal(FlorenceTestModel.Px(100, 480), quad[0][1].GetDouble());
        Assert.Equal(FlorenceTestModel.Px(400, 640), quad[1][0].GetDouble());
        Assert.Equal(FlorenceTestModel.Px(200, 480), quad[2][1].GetDouble());
        Assert.Equal("hello world", body.GetProperty("text").GetString());
        var ocr = await Body(await Client.PostAsync("/v1/florence/ocr", Raw(White.Value)));
        Assert.Equal("What is the text in the image?", ocr.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Tasks_lists_every_task()
    {
        var body = await Body(await Client.GetAsync("/v1/tasks"));
        Assert.Equal(13, body.GetProperty("tasks").GetArrayLength());
    }

    [Fact]
    public async Task Ollama_generate_describes_the_first_image_and_streams_by_default()
    {
        var tags = await Body(await Client.GetAsync("/api/tags"));
        Assert.Equal("florence-2:latest", tags.GetProperty("models")[0].GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty((await Body(await Client.GetAsync("/api/version"))).GetProperty("version").GetString()));

        var plain = await Body(await Client.PostAsync("/api/generate", Json($$"""{"model":"florence-2","prompt":"Describe the scene for a security camera.","images":["{{B64(White.Value)}}"],"stream":false}""")));
        Assert.Equal("Describe with a paragraph what is shown in the image.", plain.GetProperty("response").GetString());
        Assert.True(plain.GetProperty("done").GetBoolean());
        Assert.Equal("stop", plain.GetProperty("done_reason").GetString());

        var od = await Body(await Client.PostAsync("/api/generate", Json($$$"""{"model":"florence-2:latest","prompt":"<OD>","images":["{{{B64(Red.Value)}}}"],"stream":false,"options":{"num_predict":100}}""")));
        Assert.StartsWith("cat<loc_100><loc_200>", od.GetProperty("response").GetString());

        var r = await Client.PostAsync("/api/generate", Json($$"""{"model":"florence-2","prompt":"<CAPTION_TO_PHRASE_GROUNDING>cat dog","images":["{{B64(White.Value)}}"]}"""));
        Assert.Equal("application/x-ndjson", r.Content.Headers.ContentType?.MediaType);
        var lines = (await r.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(2, lines.Length);
        Assert.Equal("Locate the phrases in the caption: cat dog", lines[0].GetProperty("response").GetString());
        Assert.True(lines[1].GetProperty("done").GetBoolean());
    }

    [Fact]
    public async Task Ollama_errors_are_ollamas_shape()
    {
        var b64 = B64(White.Value);
        foreach (var (body, status) in new[]
                 {
                     ($$"""{"model":"llava","prompt":"hi","images":["{{b64}}"]}""", HttpStatusCode.NotFound),
                     ("""{"model":"florence-2","prompt":"hi"}""", HttpStatusCode.BadRequest),
                     ("""{"model":"florence-2","prompt":"hi","images":["not base64!!"]}""", HttpStatusCode.BadRequest),
                     ("""{"model":"florence-2","prompt":"hi","images":["JVBERi0xLjQgbm90IGFuIGltYWdl"]}""", HttpStatusCode.BadRequest),
                     ($$$"""{"model":"florence-2","prompt":"hi","images":["{{{b64}}}"],"options":{"num_predict":"many"}}""", HttpStatusCode.BadRequest),
                     ($$"""{"model":"florence-2","prompt":"<CAPTION_TO_PHRASE_GROUNDING>","images":["{{b64}}"]}""", HttpStatusCode.BadRequest),
                     ("""{"model":5}""", HttpStatusCode.BadRequest),
                     ("""{"model":"florence-2","images":"x"}""", HttpStatusCode.BadRequest),
                     ("not json", HttpStatusCode.BadRequest),
                 })
        {
            var r = await Client.PostAsync("/api/generate", Json(body));
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(status == r.StatusCode, $"{body}: {(int)r.StatusCode} {text}");
            Assert.Equal(JsonValueKind.String, JsonDocument.Parse(text).RootElement.GetProperty("error").ValueKind);
        }
    }

    public static TheoryData<string, string, int, string> BadOptions => new()
    {
        { "/v1/caption", """{"max_length":0}""", 400, "invalid_parameters" },
        { "/v1/caption", """{"max_length":5000}""", 400, "invalid_parameters" },
        { "/v1/caption", """{"max_length":5,"min_length":6}""", 400, "invalid_parameters" },
        { "/v1/caption", """{"temperature":-1}""", 400, "invalid_parameters" },
        { "/v1/caption", """{"temperature":"hot"}""", 400, "invalid_json" },
        { "/v1/caption", """{"max_length":1.5}""", 400, "invalid_json" },
        { "/v1/caption", """{"detail":"poetic"}""", 400, "invalid_parameters" },
        { "/v1/vqa", """{}""", 400, "invalid_parameters" },
        { "/v1/vqa", """{"question":"   "}""", 400, "invalid_parameters" },
        { "/v1/vqa", """{"question":["why"]}""", 400, "invalid_json" },
        { "/v1/florence/od", """{"text":"a cat"}""", 400, "invalid_parameters" },
        { "/v1/florence/caption_to_phrase_grounding", """{}""", 400, "invalid_parameters" },
        { "/v1/florence/segmentation", """{}""", 404, "unknown_task" },
        { "/v1/florence/od", """{"min_length":-1}""", 400, "invalid_parameters" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task Bad_options_are_refused_in_the_florence_shape(string url, string options, int status, string code)
    {
        var json = options.Insert(1, $"\"image\":\"{B64(White.Value)}\"" + (options == "{}" ? "" : ","));
        await ErrorResponses.AssertError(await Client.PostAsync(url, Json(json)), (HttpStatusCode)status, code);
    }

    [Fact]
    public async Task The_error_body_is_the_predecessors_flat_shape()
    {
        var r = await Client.PostAsync("/v1/caption", Raw(Encoding.UTF8.GetBytes("not an image at all")));
        var e = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(400, (int)r.StatusCode);
        Assert.Equal(JsonValueKind.String, e.GetProperty("error").ValueKind);
        Assert.Equal(400, e.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString()));
        await ErrorResponses.AssertError(await Client.GetAsync("/v1/nothing-here"), HttpStatusCode.NotFound, "not_found");
    }

    private static readonly BadImageRequests CaptionGarbage = new("/v1/caption", () => White.Value, () => WhiteJpeg.Value,
        b64 => $$"""{"image":"{{b64}}","max_length":"ten"}""", """{"max_length":10}""", ("style", "x"), "?style=x");
    private static readonly BadImageRequests VqaGarbage = new("/v1/vqa", () => White.Value, () => WhiteJpeg.Value,
        b64 => $$"""{"image":"{{b64}}","question":42}""", """{"question":"why?"}""", ("prompt", "x"), "?question=why&prompt=x", "?question=why");
    private static readonly BadImageRequests TaskGarbage = new("/v1/florence/od", () => White.Value, () => WhiteJpeg.Value,
        b64 => $$"""{"image":"{{b64}}","temperature":[1]}""", """{"max_length":10}""", ("task", "x"), "?task=x");

    public static TheoryData<string> CaptionKinds => CaptionGarbage.Kinds;
    public static TheoryData<string> VqaKinds => VqaGarbage.Kinds;
    public static TheoryData<string> TaskKinds => TaskGarbage.Kinds;

    [Theory]
    [MemberData(nameof(CaptionKinds))]
    public Task Caption_garbage_is_refused(string kind) => CaptionGarbage.AssertRefusedAndStillServing(Client, kind);

    [Theory]
    [MemberData(nameof(VqaKinds))]
    public Task Vqa_garbage_is_refused(string kind) => VqaGarbage.AssertRefusedAndStillServing(Client, kind);

    [Theory]
    [MemberData(nameof(TaskKinds))]
    public Task Task_garbage_is_refused(string kind) => TaskGarbage.AssertRefusedAndStillServing(Client, kind);
}
