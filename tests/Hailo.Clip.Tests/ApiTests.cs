using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Media;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Clip.Tests;

/// <summary>
/// The HTTP surface of hailo-clip on the CPU backend with the generated towers of <see cref="ClipTestModel"/>: every
/// expected number is computed here from the image's colour and the prompts' tokens (which dimension each colour word
/// and the start/end tokens write), so the tests check preprocessing, tokenization, the attention mask, L2
/// normalisation, softmax and ranking end to end. They prove the plumbing, not CLIP's accuracy (no real model here).
/// </summary>
[Collection("clip-service")]
public sealed class ApiTests(ClipServiceFixture fixture)
{
    private static readonly Lazy<byte[]> RedPng = new(() => ClipServiceFixture.Image(255, 0, 0));
    private static readonly Lazy<byte[]> RedJpeg = new(() => ClipServiceFixture.Image(255, 0, 0, format: ImageFormat.Jpeg));
    private static readonly double R2 = Math.Sqrt(0.5);

    private HttpClient Client => fixture.Client;

    private static HttpContent Raw(byte[] b, string type = "image/png") => new ByteArrayContent(b) { Headers = { ContentType = new(type) } };
    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Body(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>A multipart form with several image parts (field name, bytes) and text fields.</summary>
    private static MultipartFormDataContent Images(IEnumerable<(string Field, byte[] Image)> images, params (string Name, string Value)[] fields)
    {
        var f = new MultipartFormDataContent();
        var n = 0;
        foreach (var (field, image) in images) f.Add(new ByteArrayContent(image) { Headers = { ContentType = new("image/png") } }, field, $"x{n++}.png");
        foreach (var (name, value) in fields) f.Add(new StringContent(value), name);
        return f;
    }

    private static double[] Floats(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    /// <summary>Cosine similarities of a uniform image with "red", "green", "blue" prompts: m̂_k / √2.</summary>
    private static double[] ColourSims(byte r, byte g, byte b)
    {
        var m = ClipTestModel.ImageEmbedding(r, g, b);
        return [m[0] * R2, m[1] * R2, m[2] * R2];
    }

    [Fact]
    public async Task Classify_ranks_the_prompts_by_softmax_of_100_times_the_cosine()
    {
        var b64 = Convert.ToBase64String(RedPng.Value);
        var body = await Body(await Client.PostAsync("/v1/classify", Json($$"""{"image":"{{b64}}","prompts":["a photo of something green","red","blue"]}""")));
        var sims = ColourSims(255, 0, 0);   // [red, green, blue]
        var exp = new[] { Math.Exp(100 * (sims[1] - sims[0])), 1.0, Math.Exp(100 * (sims[2] - sims[0])) }; // green, red, blue
        var sum = exp.Sum();
        var c = body.GetProperty("classifications");
        Assert.Equal(3, c.GetArrayLength());
        Assert.Equal(("red", 1), (c[0].GetProperty("text").GetString(), c[0].GetProperty("rank").GetInt32()));
        // float32 towers: similarities agree to ~1e-5; the softmax's scale of 100 makes that ~1e-3 in the scores.
        Assert.Equal(1 / sum, c[0].GetProperty("score").GetDouble(), 3);
        Assert.Equal(sims[0], c[0].GetProperty("similarity").GetDouble(), 4);
        // Blue is less unlike red than green is (blue's normalised mean is higher), so blue ranks second.
        Assert.Equal("blue", c[1].GetProperty("text").GetString());
        Assert.Equal(exp[2] / sum, c[1].GetProperty("score").GetDouble(), 3);
        Assert.Equal("a photo of something green", c[2].GetProperty("text").GetString());
        Assert.Equal(sims[1], c[2].GetProperty("similarity").GetDouble(), 4);
        Assert.Equal("clip-vit-b-32", body.GetProperty("model").GetString());
        Assert.Equal("cpu", body.GetProperty("backend").GetString());
        Assert.Equal(JsonValueKind.Number, body.GetProperty("inference_time_ms").ValueKind);
    }

    [Fact]
    public async Task Classify_takes_multipart_raw_and_json_and_honours_top_k_threshold_and_softmax()
    {
        var form = BadImageRequests.Form("image", RedPng.Value, ("prompts", "[\"red\", \"green\", \"blue\"]"), ("top_k", "2"));
        var viaForm = await Body(await Client.PostAsync("/v1/classify", form));
        Assert.Equal(2, viaForm.GetProperty("classifications").GetArrayLength());
        Assert.Equal("red", viaForm.GetProperty("classifications")[0].GetProperty("text").GetString());

        var lines = BadImageRequests.Form("image", RedPng.Value, ("prompts", "red\r\nblue\n"));
        Assert.Equal(2, (await Body(await Client.PostAsync("/v1/classify", lines))).GetProperty("classifications").GetArrayLength());

        var viaRaw = await Body(await Client.PostAsync("/v1/classify?prompts=%5B%22red%22%2C%22green%22%5D&softmax=false", Raw(RedJpeg.Value, "image/jpeg")));
        var sims = ColourSims(255, 0, 0);
        Assert.InRange(viaRaw.GetProperty("classifications")[0].GetProperty("score").GetDouble(), sims[0] - 0.01, sims[0] + 0.01); // JPEG: near the colour

        // The threshold applies after the softmax: only red (≈1) stays.
        var b64 = Convert.ToBase64String(RedPng.Value);
        var strict = await Body(await Client.PostAsync("/v1/classify", Json($$"""{"image":"{{b64}}","prompts":["red","green","blue"],"threshold":0.9,"top_k":3}""")));
        Assert.Equal(1, strict.GetProperty("classifications").GetArrayLength());
        // One prompt: the raw cosine, as the earlier service did; top_k above the number of prompts is capped.
        var single = await Body(await Client.PostAsync("/v1/classify", Json($$"""{"image":"{{b64}}","prompts":["green"],"top_k":10}""")));
        var one = await Body(await Client.PostAsync("/v1/classify", Json($$"""{"image":"{{b64}}","prompts":["red"],"top_k":10}""")));
        Assert.Equal(sims[0], one.GetProperty("classifications")[0].GetProperty("score").GetDouble(), 4);
        // Green's cosine is negative: below the default threshold 0, so nothing comes back unless the threshold allows it.
        Assert.Equal(0, single.GetProperty("classifications").GetArrayLength());
    }

    [Fact]
    public async Task Image_embeddings_are_normalised_and_follow_the_colour_single_and_batch()
    {
        var one = await Body(await Client.PostAsync("/v1/embed/image", Raw(ClipServiceFixture.Image(0, 0, 255, 500, 300))));
        var e = Floats(one.GetProperty("embedding"));
        Assert.Equal(512, e.Length);
        Assert.Equal(512, one.GetProperty("dimension").GetInt32());
        Assert.Equal(1.0, Math.Sqrt(e.Sum(x => x * x)), 5);
        var expected = ClipTestModel.ImageEmbedding(0, 0, 255);
        for (var i = 0; i < 3; i++) Assert.Equal(expected[i], e[i], 4);
        Assert.All(e[3..], x => Assert.Equal(0, x));

        var green = Convert.ToBase64String(ClipServiceFixture.Image(0, 255, 0));
        var batch = await Body(await Client.PostAsync("/v1/embed/image", Json($$"""{"images":["{{green}}","data:image/png;base64,{{Convert.ToBase64String(RedPng.Value)}}"]}""")));
        Assert.False(batch.TryGetProperty("embedding", out _));
        var list = batch.GetProperty("embeddings");
        Assert.Equal(2, list.GetArrayLength());
        Assert.Equal(ClipTestModel.ImageEmbedding(0, 255, 0)[1], list[0][1].GetDouble(), 4);
        Assert.Equal(ClipTestModel.ImageEmbedding(255, 0, 0)[0], list[1][0].GetDouble(), 4);
        var form = await Body(await Client.PostAsync("/v1/embed/image", BadImageRequests.Form("image", RedPng.Value)));
        Assert.Equal(ClipTestModel.ImageEmbedding(255, 0, 0)[0], form.GetProperty("embedding")[0].GetDouble(), 4);
    }

    [Fact]
    public async Task Several_image_parts_in_one_form_are_a_batch_in_the_order_sent()
    {
        var green = ClipServiceFixture.Image(0, 255, 0);
        var blue = ClipServiceFixture.Image(0, 0, 255);
        var embed = await Body(await Client.PostAsync("/v1/embed/image", Images([("image", green), ("file", RedPng.Value), ("image", blue)])));
        Assert.False(embed.TryGetProperty("embedding", out _));
        var list = embed.GetProperty("embeddings");
        Assert.Equal(3, list.GetArrayLength());
        Assert.Equal(ClipTestModel.ImageEmbedding(0, 255, 0)[1], list[0][1].GetDouble(), 4);
        Assert.Equal(ClipTestModel.ImageEmbedding(255, 0, 0)[0], list[1][0].GetDouble(), 4);
        Assert.Equal(ClipTestModel.ImageEmbedding(0, 0, 255)[2], list[2][2].GetDouble(), 4);

        // Classify: one ranking per image, against the same prompts.
        var ranked = await Body(await Client.PostAsync("/v1/classify",
            Images([("image", blue), ("image", RedPng.Value)], ("prompts", "[\"red\", \"green\", \"blue\"]"), ("top_k", "1"))));
        Assert.False(ranked.TryGetProperty("classifications", out _));
        var results = ranked.GetProperty("results");
        Assert.Equal(2, results.GetArrayLength());
        Assert.Equal(0, results[0].GetProperty("index").GetInt32());
        Assert.Equal("blue", results[0].GetProperty("classifications")[0].GetProperty("text").GetString());
        Assert.Equal(1, results[1].GetProperty("index").GetInt32());
        Assert.Equal("red", results[1].GetProperty("classifications")[0].GetProperty("text").GetString());
        Assert.Equal(1, results[1].GetProperty("classifications").GetArrayLength());

        // The JSON batch form of classify gives the same shape.
        var json = await Body(await Client.PostAsync("/v1/classify",
            Json($$"""{"images":["{{Convert.ToBase64String(green)}}"],"prompts":["red","green"]}""")));
        Assert.Equal("green", json.GetProperty("results")[0].GetProperty("classifications")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Text_embeddings_are_normalised_masked_and_cached()
    {
        // "red" → start + red + end rows: e0 + e3 (the 74 padding ids write e4 only if the mask were ignored).
        const string word = "red";
        var first = await Body(await Client.PostAsync("/v1/embed/text", Json("{\"text\": \"Something  RED\"}")));
        var e = Floats(first.GetProperty("embedding"));
        Assert.Equal(R2, e[0], 6);
        Assert.Equal(R2, e[3], 6);
        Assert.Equal(0, e[4]);
        Assert.Equal(1.0, Math.Sqrt(e.Sum(x => x * x)), 6);

        // A text never sent before is computed; the same text again comes from the cache.
        var unique = $"blue {Guid.NewGuid():N}";
        var miss = await Body(await Client.PostAsync("/v1/embed/text", Json($$"""{"texts": ["{{unique}}", "{{word}}"]}""")));
        var hit = await Body(await Client.PostAsync("/v1/embed/text", Json($$"""{"text": ["{{unique}}"]}""")));
        Assert.True(miss.GetProperty("cached").GetInt32() <= 1);
        Assert.Equal(1, hit.GetProperty("cached").GetInt32());
        Assert.Equal(Floats(miss.GetProperty("embeddings")[0]), Floats(hit.GetProperty("embeddings")[0]));
        Assert.Equal(0, hit.GetProperty("performance").GetProperty("model_time_ms").GetDouble());
    }

    [Fact]
    public async Task OpenAi_embeddings_as_floats_and_base64_with_dimensions_checked()
    {
        var floats = await Body(await Client.PostAsync("/v1/embeddings", Json("""{"input": ["green", "blue"], "model": "clip-vit-b-32", "dimensions": 512}""")));
        Assert.Equal("list", floats.GetProperty("object").GetString());
        var data = floats.GetProperty("data");
        Assert.Equal((0, "embedding"), (data[0].GetProperty("index").GetInt32(), data[0].GetProperty("object").GetString()));
        Assert.Equal(R2, data[0].GetProperty("embedding")[1].GetDouble(), 6);
        Assert.Equal(R2, data[1].GetProperty("embedding")[2].GetDouble(), 6);
        Assert.Equal(6, floats.GetProperty("usage").GetProperty("prompt_tokens").GetInt32()); // 3 + 3

        var b64 = await Body(await Client.PostAsync("/v1/embeddings", Json("""{"input": "green", "encoding_format": "base64"}""")));
        var bytes = Convert.FromBase64String(b64.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        Assert.Equal(512, values.Length);
        Assert.Equal((float)R2, values[1], 6);

        await ErrorResponses.AssertError(await Client.PostAsync("/v1/embeddings", Json("""{"input": "green", "dimensions": 256}""")), HttpStatusCode.BadRequest, "unsupported_dimensions");
        await ErrorResponses.AssertError(await Client.PostAsync("/v1/embeddings", Json("""{"input": "green", "model": "text-embedding-3-small"}""")), HttpStatusCode.NotFound, "model_not_found");
    }

    [Fact]
    public async Task Index_and_search_by_text_and_image_then_delete()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        string Item(string name, byte r, byte g, byte b) =>
            $$$"""{"id":"{{{id}}}-{{{name}}}","image":"{{{Convert.ToBase64String(ClipServiceFixture.Image(r, g, b))}}}","metadata":{"colour":"{{{name}}}"}}""";
        var added = await Body(await Client.PostAsync("/v1/index", Json($$"""{"items":[{{Item("red", 250, 10, 10)}},{{Item("green", 10, 240, 10)}}]}""")));
        Assert.Equal(2, added.GetProperty("added").GetInt32());
        var form = BadImageRequests.Form("image", ClipServiceFixture.Image(20, 20, 230), ("id", $"{id}-blue"), ("metadata", "{\"colour\": \"blue\"}"));
        Assert.Equal(1, (await Body(await Client.PostAsync("/v1/index", form))).GetProperty("added").GetInt32());

        var byText = await Body(await Client.PostAsync("/v1/search", Json("""{"text": "something blue", "top_k": 50}""")));
        var results = byText.GetProperty("results").EnumerateArray().Where(r => r.GetProperty("id").GetString()!.StartsWith(id, StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, results.Length);
        Assert.Equal($"{id}-blue", results[0].GetProperty("id").GetString());
        Assert.Equal("blue", results[0].GetProperty("metadata").GetProperty("colour").GetString());
        Assert.Equal(ClipTestModel.ImageEmbedding(20, 20, 230)[2] * R2, results[0].GetProperty("score").GetDouble(), 3);

        Assert.Equal(1, (await Body(await Client.PostAsync("/v1/search?top_k=1", Raw(ClipServiceFixture.Image(250, 10, 10))))).GetProperty("count").GetInt32());
        var byImage = await Body(await Client.PostAsync("/v1/search?top_k=50", Raw(ClipServiceFixture.Image(250, 10, 10))));
        Assert.Equal("image", byImage.GetProperty("query").GetString());
        var mine = byImage.GetProperty("results").EnumerateArray().Where(r => r.GetProperty("id").GetString()!.StartsWith(id, StringComparison.Ordinal)).ToArray();
        Assert.Equal($"{id}-red", mine[0].GetProperty("id").GetString());
        Assert.Equal(1.0, mine[0].GetProperty("score").GetDouble(), 3);   // the same image as the indexed one

        // Re-adding an id replaces it.
        var again = await Body(await Client.PostAsync($"/v1/index?id={id}-red", Raw(ClipServiceFixture.Image(0, 0, 250))));
        Assert.Equal((0, 1), (again.GetProperty("added").GetInt32(), again.GetProperty("replaced").GetInt32()));

        var del = await Client.DeleteAsync($"/v1/index/{id}-green");
        Assert.True((await Body(del)).GetProperty("deleted").GetBoolean());
        await ErrorResponses.AssertError(await Client.DeleteAsync($"/v1/index/{id}-green"), HttpStatusCode.NotFound, "not_found");
        var stats = await Body(await Client.GetAsync("/v1/index"));
        Assert.True(stats.GetProperty("count").GetInt32() >= 2);
        Assert.Equal(50, stats.GetProperty("max_items").GetInt32());
        Assert.True(File.Exists(fixture.IndexPath));
    }

    [Fact]
    public async Task Models_health_and_openapi()
    {
        var models = await Body(await Client.GetAsync("/v1/models"));
        var cpu = models.GetProperty("data").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "clip-vit-b-32");
        Assert.Equal("ready", cpu.GetProperty("status").GetString());
        Assert.Contains(models.GetProperty("data").EnumerateArray(), x => x.GetProperty("id").GetString() == "clip_vit_b_32" && x.GetProperty("backend").GetString() == "npu");
        Assert.Contains(models.GetProperty("data").EnumerateArray(), x => x.GetProperty("id").GetString() == "stand-in-clip");

        var health = await Body(await Client.GetAsync("/health"));
        Assert.True(health.GetProperty("ready").GetBoolean());
        Assert.Equal("cpu", health.GetProperty("backend").GetString());

        var doc = await Body(await Client.GetAsync("/openapi/v1.json"));
        var paths = doc.GetProperty("paths");
        foreach (var route in OpenApiRoutes.Of(fixture.Service.App))
            Assert.True(paths.TryGetProperty(route, out _), $"{route} missing from OpenAPI");
        var content = paths.GetProperty("/v1/classify").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(content.GetProperty("multipart/form-data").GetProperty("schema").GetProperty("properties").TryGetProperty("prompts", out _));
        Assert.True(doc.GetProperty("components").GetProperty("schemas").TryGetProperty("ClassifyResponse", out _));
    }

    private static string Png64 => Convert.ToBase64String(RedPng.Value);

    private static readonly BadImageRequests ClassifyBad = new BadImageRequests("/v1/classify", () => RedPng.Value, () => RedJpeg.Value,
            wrongTypeJson: b64 => $"{{\"image\": \"{b64}\", \"prompts\": \"red\"}}", missingImageJson: "{\"prompts\": [\"red\"]}",
            unknownFormField: ("labels", "red"), unknownQuery: "?labels=red", goodQuery: "?prompts=red")
        .Add("no-prompts", "", () => Json($"{{\"image\": \"{Png64}\"}}"), "invalid_parameter")
        .Add("empty-prompts", "", () => Json($"{{\"image\": \"{Png64}\", \"prompts\": []}}"), "invalid_parameter")
        .Add("blank-prompt", "", () => Json($"{{\"image\": \"{Png64}\", \"prompts\": [\"red\", \"  \"]}}"), "invalid_parameter")
        .Add("null-prompt", "", () => Json($"{{\"image\": \"{Png64}\", \"prompts\": [null]}}"), "invalid_parameter")
        .Add("huge-prompt", "", () => Json($"{{\"image\": \"{Png64}\", \"prompts\": [\"{new string('a', 10_001)}\"]}}"), "invalid_parameter")
        .Add("too-many-prompts", "", () => Json($"{{\"image\": \"{Png64}\", \"prompts\": [{string.Join(',', Enumerable.Repeat("\"x\"", 257))}]}}"), "invalid_parameter")
        .Add("top-k-zero", "?prompts=red&top_k=0", () => Raw(RedPng.Value), "invalid_parameter")
        .Add("threshold-out-of-range", "?prompts=red&threshold=2", () => Raw(RedPng.Value), "invalid_parameter")
        .Add("prompts-bad-json", "?prompts=%5B1%2C2%5D", () => Raw(RedPng.Value), "invalid_parameter")
        .Add("bad-softmax", "", () => BadImageRequests.Form("image", RedPng.Value, ("prompts", "red"), ("softmax", "maybe")), "invalid_parameter")
        .Add("image-and-images", "", () => Json($"{{\"image\": \"{Png64}\", \"images\": [\"{Png64}\"], \"prompts\": [\"red\"]}}"), "invalid_parameter")
        .Add("empty-images", "", () => Json("{\"images\": [], \"prompts\": [\"red\"]}"), "invalid_parameter")
        .Add("form-second-image-garbage", "", () => Images([("image", RedPng.Value), ("image", "not an image"u8.ToArray())], ("prompts", "red")), "invalid_image")
        .Add("form-too-many-images", "", () => Images(Enumerable.Repeat(("image", RedPng.Value), 33), ("prompts", "red")), "invalid_parameter");

    private static readonly BadImageRequests EmbedImageBad = new BadImageRequests("/v1/embed/image", () => RedPng.Value, () => RedJpeg.Value,
            wrongTypeJson: b64 => $"{{\"images\": \"{b64}\"}}", missingImageJson: "{}",
            unknownFormField: ("normalize", "1"), unknownQuery: "?normalize=1")
        .Add("both-image-and-images", "", () => Json($"{{\"image\": \"{Png64}\", \"images\": [\"{Png64}\"]}}"), "invalid_parameter")
        .Add("empty-batch", "", () => Json("{\"images\": []}"), "invalid_parameter")
        .Add("batch-too-large", "", () => Json($"{{\"images\": [{string.Join(',', Enumerable.Repeat("\"aGk=\"", 33))}]}}"), "invalid_parameter")
        .Add("batch-with-bad-base64", "", () => Json($"{{\"images\": [\"{Png64}\", \"@@@\"]}}"), "invalid_base64")
        .Add("form-second-image-garbage", "", () => Images([("image", RedPng.Value), ("file", "not an image at all"u8.ToArray())]), "invalid_image")
        .Add("form-empty-second-part", "", () => Images([("file", RedPng.Value), ("image", [])]), "invalid_image")
        .Add("form-too-many-images", "", () => Images(Enumerable.Repeat(("image", RedPng.Value), 33)), "invalid_parameter")
        .Add("form-bad-base64-field", "", () => Images([("image", RedPng.Value)], ("image", "@@@")), "invalid_base64");

    private static readonly BadImageRequests IndexBad = new BadImageRequests("/v1/index", () => RedPng.Value, () => RedJpeg.Value,
            wrongTypeJson: b64 => $"{{\"image\": \"{b64}\", \"id\": 5}}", missingImageJson: "{\"id\": \"x\"}",
            unknownFormField: ("tags", "a"), unknownQuery: "?tags=a", goodQuery: "?id=bad-input-check")
        .Add("no-id", "", () => Raw(RedPng.Value), "invalid_parameter")
        .Add("control-char-id", "?id=a%01b", () => Raw(RedPng.Value), "invalid_parameter")
        .Add("long-id", $"?id={new string('x', 257)}", () => Raw(RedPng.Value), "invalid_parameter")
        .Add("metadata-not-object", "", () => Json($"{{\"id\": \"m\", \"image\": \"{Png64}\", \"metadata\": [1]}}"), "invalid_parameter")
        .Add("metadata-form-not-json", "", () => BadImageRequests.Form("image", RedPng.Value, ("id", "m"), ("metadata", "{oops")), "invalid_parameter")
        .Add("metadata-too-large", "", () => Json($"{{\"id\": \"m\", \"image\": \"{Png64}\", \"metadata\": {{\"a\": \"{new string('x', 17_000)}\"}}}}"), "invalid_parameter")
        .Add("duplicate-ids", "", () => Json($"{{\"items\": [{{\"id\": \"d\", \"image\": \"{Png64}\"}}, {{\"id\": \"d\", \"image\": \"{Png64}\"}}]}}"), "invalid_parameter")
        .Add("items-and-id", "", () => Json($"{{\"id\": \"d\", \"items\": [{{\"id\": \"d\", \"image\": \"{Png64}\"}}]}}"), "invalid_parameter")
        .Add("item-without-image", "", () => Json("{\"items\": [{\"id\": \"d\"}]}"), "missing_image")
        .Add("empty-items", "", () => Json("{\"items\": []}"), "invalid_parameter");

    private static readonly BadImageRequests SearchBad = new BadImageRequests("/v1/search", () => RedPng.Value, () => RedJpeg.Value,
            wrongTypeJson: b64 => $"{{\"image\": \"{b64}\", \"top_k\": \"all\"}}", missingImageJson: "{\"top_k\": 3}",
            unknownFormField: ("filter", "x"), unknownQuery: "?filter=x")
        .Add("text-and-image", "", () => Json($"{{\"text\": \"red\", \"image\": \"{Png64}\"}}"), "invalid_parameter")
        .Add("blank-text", "", () => Json("{\"text\": \"   \"}"), "invalid_parameter")
        .Add("top-k-too-large", "?top_k=1001", () => Raw(RedPng.Value), "invalid_parameter")
        .Add("min-score-out-of-range", "", () => Json("{\"text\": \"red\", \"min_score\": -3}"), "invalid_parameter")
        .Add("min-score-not-number", "?min_score=high", () => Raw(RedPng.Value), "invalid_parameter");

    public static TheoryData<string> ClassifyInputs => ClassifyBad.Kinds;
    public static TheoryData<string> EmbedImageInputs => EmbedImageBad.Kinds;
    public static TheoryData<string> IndexInputs => IndexBad.Kinds;
    public static TheoryData<string> SearchInputs => SearchBad.Kinds;

    [Theory, MemberData(nameof(ClassifyInputs))]
    public Task Classify_bad_input_gets_a_clear_4xx(string kind) => ClassifyBad.AssertRefusedAndStillServing(Client, kind);

    [Theory, MemberData(nameof(EmbedImageInputs))]
    public Task Embed_image_bad_input_gets_a_clear_4xx(string kind) => EmbedImageBad.AssertRefusedAndStillServing(Client, kind);

    [Theory, MemberData(nameof(IndexInputs))]
    public Task Index_bad_input_gets_a_clear_4xx(string kind) => IndexBad.AssertRefusedAndStillServing(Client, kind);

    [Theory, MemberData(nameof(SearchInputs))]
    public Task Search_bad_input_gets_a_clear_4xx(string kind) => SearchBad.AssertRefusedAndStillServing(Client, kind);

    public static TheoryData<string, string, int, string> TextGarbage => new()
    {
        { "/v1/embed/text", "{}", 400, "invalid_parameter" },
        { "/v1/embed/text", "{\"text\": []}", 400, "invalid_parameter" },
        { "/v1/embed/text", "{\"text\": [\"a\", 3]}", 400, "invalid_json" },
        { "/v1/embed/text", "{\"text\": \"\"}", 400, "invalid_parameter" },
        { "/v1/embed/text", "{\"text\": \"a\", \"texts\": [\"b\"]}", 400, "invalid_parameter" },
        { "/v1/embed/text", "{\"texts\": [" + string.Join(',', Enumerable.Repeat("\"x\"", 33)) + "]}", 400, "invalid_parameter" },
        { "/v1/embed/text", "{\"txt\": \"a\"}", 400, "invalid_json" },
        { "/v1/embed/text", "null", 400, "invalid_json" },
        { "/v1/embeddings", "{}", 400, "invalid_parameter" },
        { "/v1/embeddings", "{\"input\": 42}", 400, "invalid_json" },
        { "/v1/embeddings", "{\"input\": [[1, 2]]}", 400, "invalid_json" },
        { "/v1/embeddings", "{\"input\": \"a\", \"encoding_format\": \"int8\"}", 400, "invalid_parameter" },
        { "/v1/embeddings", "{\"input\": \"a\", \"dimensions\": -1}", 400, "unsupported_dimensions" },
        { "/v1/embeddings", "{\"input\": [\"\"]}", 400, "invalid_parameter" },
        { "/v1/embeddings", "{\"input\": \"" + new string('z', 10_001) + "\"}", 400, "invalid_parameter" },
        { "/v1/embeddings", "{\"input\": \"a\", \"unknown\": 1}", 400, "invalid_json" },
    };

    [Theory, MemberData(nameof(TextGarbage))]
    public async Task Text_endpoints_refuse_garbage_with_a_4xx(string url, string body, int status, string code)
    {
        await ErrorResponses.AssertError(await Client.PostAsync(url, Json(body)), (HttpStatusCode)status, code);
        await ErrorResponses.AssertError(await Client.PostAsync(url, new StringContent(body, Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Assert.Equal(HttpStatusCode.OK, (await Client.PostAsync(url, Json(url.EndsWith("embeddings", StringComparison.Ordinal) ? "{\"input\": \"red\"}" : "{\"text\": \"red\"}"))).StatusCode);
    }

    [Fact]
    public async Task Unknown_route_and_wrong_method_are_json()
    {
        await ErrorResponses.AssertError(await Client.GetAsync("/v1/classify"), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        await ErrorResponses.AssertError(await Client.GetAsync("/v1/nope"), HttpStatusCode.NotFound, "not_found");
        await ErrorResponses.AssertError(await Client.PutAsync("/v1/index", Json("{}")), HttpStatusCode.MethodNotAllowed, "method_not_allowed");
        await ErrorResponses.AssertError(await Client.DeleteAsync("/v1/index/" + new string('q', 20)), HttpStatusCode.NotFound, "not_found");
    }
}
