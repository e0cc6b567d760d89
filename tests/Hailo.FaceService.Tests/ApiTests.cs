using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Media;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.FaceService.Tests;

/// <summary>
/// hailo-face's HTTP surface on the CPU backend with generated models: detect, embed, verify, the gallery (add,
/// list, recognise, remove, export, import), many clients at once, OpenAPI and the bad-input corpus of every route.
/// </summary>
[Collection("face-service")]
public sealed class ApiTests(FaceServiceFixture fixture)
{
    private HttpClient Client => fixture.Client;
    private static HttpContent Raw(byte[] b, string type = "image/png") => new ByteArrayContent(b) { Headers = { ContentType = new(type) } };
    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");
    private static string B64(byte[] b) => Convert.ToBase64String(b);

    private static async Task<JsonElement> Body(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static double[] Numbers(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    [Fact]
    public async Task Detect_finds_the_face_with_named_landmarks()
    {
        var body = await Body(await Client.PostAsync("/v1/detect", Raw(FaceServiceFixture.Alice.Value)));
        Assert.Equal(1, body.GetProperty("count").GetInt32());
        var face = body.GetProperty("faces")[0];
        Assert.Equal([200, 100, 130, 160], Numbers(face.GetProperty("bbox")), (a, b) => Math.Abs(a - b) < 0.2);
        Assert.Equal(0.9, face.GetProperty("confidence").GetDouble(), 3);
        Assert.Equal("nose", face.GetProperty("landmarks")[2].GetProperty("type").GetString());
        Assert.Equal("scrfd_2.5g-arcface_mbf", body.GetProperty("model").GetString());
        using var black = RgbaImage.Filled(320, 240, 0, 0, 0);
        Assert.Equal(0, (await Body(await Client.PostAsync("/v1/detect", Raw(black.Encode(ImageFormat.Png))))).GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Embed_gives_a_unit_512_vector_repeatable_across_encodings_and_no_face_is_a_400()
    {
        var a = await Body(await Client.PostAsync("/v1/embed", Raw(FaceServiceFixture.Alice.Value)));
        Assert.Equal(512, a.GetProperty("dimension").GetInt32());
        var v = Numbers(a.GetProperty("embedding"));
        Assert.Equal(1.0, Math.Sqrt(v.Sum(x => x * x)), 3);
        var j = await Body(await Client.PostAsync("/v1/embed", Json($$"""{"image":"{{B64(FaceServiceFixture.Person(220, 60, 60, ImageFormat.Jpeg))}}","bbox":[205,105,120,150]}""")));
        var w = Numbers(j.GetProperty("embedding"));
        Assert.True(v.Zip(w, (x, y) => x * y).Sum() > 0.99);
        using var black = RgbaImage.Filled(320, 240, 0, 0, 0);
        await ErrorResponses.AssertError(await Client.PostAsync("/v1/embed", Raw(black.Encode(ImageFormat.Png))), HttpStatusCode.BadRequest, "no_face");
        await ErrorResponses.AssertError(await Client.PostAsync("/v1/embed", Json($$"""{"image":"{{B64(FaceServiceFixture.Alice.Value)}}","bbox":[500,500,50,50]}""")),
            HttpStatusCode.BadRequest, "no_face");
    }

    [Fact]
    public async Task Verify_says_same_for_one_person_and_different_for_two()
    {
        var same = await Body(await Client.PostAsync("/v1/verify",
            Json($$"""{"image1":"{{B64(FaceServiceFixture.Alice.Value)}}","image2":"{{B64(FaceServiceFixture.Person(220, 60, 60, ImageFormat.Jpeg))}}"}""")));
        Assert.True(same.GetProperty("same_person").GetBoolean());
        Assert.True(same.GetProperty("similarity").GetDouble() > 0.99);
        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(FaceServiceFixture.Alice.Value) { Headers = { ContentType = new("image/png") } }, "image1", "a.png" },
            { new ByteArrayContent(FaceServiceFixture.Bob.Value) { Headers = { ContentType = new("image/png") } }, "image2", "b.png" },
        };
        var different = await Body(await Client.PostAsync("/v1/verify", form));
        Assert.False(different.GetProperty("same_person").GetBoolean());
        Assert.True(different.GetProperty("similarity").GetDouble() < 0.4);
        Assert.Equal(0.4, different.GetProperty("threshold").GetDouble());
        // A threshold below their similarity calls them the same.
        var lax = await Body(await Client.PostAsync("/v1/verify",
            Json($$"""{"image1":"{{B64(FaceServiceFixture.Alice.Value)}}","image2":"{{B64(FaceServiceFixture.Bob.Value)}}","threshold":-1}""")));
        Assert.True(lax.GetProperty("same_person").GetBoolean());
    }

    [Fact]
    public async Task Gallery_add_list_recognize_export_import_remove()
    {
        // Unique names: the gallery is shared with the other tests of this collection.
        var (alice, bob) = ("alice-" + Guid.NewGuid().ToString("N")[..6], "bob-" + Guid.NewGuid().ToString("N")[..6]);
        var added = await Body(await Client.PostAsync("/v1/database/add", Json($$"""{"name":"{{alice}}","image":"{{B64(FaceServiceFixture.Alice.Value)}}"}""")));
        Assert.Equal(alice, added.GetProperty("name").GetString());
        Assert.Equal(1, added.GetProperty("embedding_count").GetInt32());
        Assert.Equal(2, (await Body(await Client.PostAsync("/v1/database/add", BadImageRequests.Form("image", FaceServiceFixture.Person(215, 65, 60), ("name", alice)))))
            .GetProperty("embedding_count").GetInt32());
        await Body(await Client.PostAsync("/v1/database/add?name=" + bob, Raw(FaceServiceFixture.Bob.Value)));

        var list = await Body(await Client.GetAsync("/v1/database/list"));
        var a = list.GetProperty("identities").EnumerateArray().Single(i => i.GetProperty("name").GetString() == alice);
        Assert.Equal(2, a.GetProperty("embedding_count").GetInt32());

        async Task<JsonElement> Recognize(byte[] image) => (await Body(await Client.PostAsync("/v1/recognize", Raw(image)))).GetProperty("faces")[0];
        var r = await Recognize(FaceServiceFixture.Alice.Value);
        Assert.Equal(alice, r.GetProperty("identity").GetString());
        Assert.True(r.GetProperty("match_score").GetDouble() > 0.99);
        Assert.Equal(bob, (await Recognize(FaceServiceFixture.Bob.Value)).GetProperty("identity").GetString());
        var stranger = await Recognize(FaceServiceFixture.Stranger.Value);
        Assert.Equal("Unknown", stranger.GetProperty("identity").GetString());
        Assert.True(stranger.GetProperty("match_score").GetDouble() < 0.4);

        var export = await Body(await Client.GetAsync("/v1/database/export"));
        Assert.Equal("hailo-face-gallery", export.GetProperty("format").GetString());
        var exportedAlice = export.GetProperty("identities").EnumerateArray().Single(i => i.GetProperty("name").GetString() == alice);
        Assert.Equal(2, exportedAlice.GetProperty("embeddings").GetArrayLength());
        Assert.Equal(512 * 4, Convert.FromBase64String(exportedAlice.GetProperty("embeddings")[0].GetString()!).Length);

        Assert.Equal("removed", (await Body(await Client.PostAsync("/v1/database/remove", Json($$"""{"name":"{{alice}}"}""")))).GetProperty("message").GetString());
        await ErrorResponses.AssertError(await Client.PostAsync("/v1/database/remove", Json($$"""{"name":"{{alice}}"}""")), HttpStatusCode.NotFound, "not_found");
        Assert.NotEqual(alice, (await Recognize(FaceServiceFixture.Alice.Value)).GetProperty("identity").GetString());

        // Importing the export brings Alice back with her two embeddings.
        var doc = $$"""{"format":"hailo-face-gallery","version":1,"mode":"merge","identities":[{{exportedAlice.GetRawText()}}]}""";
        var imported = await Body(await Client.PostAsync("/v1/database/import", Json(doc)));
        Assert.Equal(2, imported.GetProperty("embeddings").GetInt32());
        Assert.Equal(alice, (await Recognize(FaceServiceFixture.Alice.Value)).GetProperty("identity").GetString());
        await Body(await Client.PostAsync("/v1/database/remove", Json($$"""{"name":"{{alice}}"}""")));
        await Body(await Client.PostAsync("/v1/database/remove", Json($$"""{"name":"{{bob}}"}""")));
    }

    [Fact]
    public async Task Many_clients_adding_and_recognising_at_once_all_succeed_and_every_add_counts()
    {
        var name = "crowd-" + Guid.NewGuid().ToString("N")[..6];
        const int clients = 8, each = 4;
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < each; i++)
            {
                var r = c % 2 == 0
                    ? await Client.PostAsync($"/v1/database/add?name={name}-{c}", Raw(FaceServiceFixture.Person((byte)(100 + c * 10), 200, 90)))
                    : await Client.PostAsync("/v1/recognize", Raw(FaceServiceFixture.Bob.Value));
                Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var list = await Body(await Client.GetAsync("/v1/database/list"));
        var crowd = list.GetProperty("identities").EnumerateArray().Where(i => i.GetProperty("name").GetString()!.StartsWith(name, StringComparison.Ordinal)).ToArray();
        Assert.Equal(clients / 2, crowd.Length);
        Assert.All(crowd, i => Assert.Equal(each, i.GetProperty("embedding_count").GetInt32()));
        foreach (var i in crowd) await Body(await Client.PostAsync("/v1/database/remove", Json($$"""{"name":"{{i.GetProperty("name").GetString()}}"}""")));
    }

    [Fact]
    public async Task Models_health_and_openapi()
    {
        var models = await Body(await Client.GetAsync("/v1/models"));
        Assert.Equal("ready", models.GetProperty("data").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "scrfd_2.5g-arcface_mbf").GetProperty("status").GetString());
        Assert.True((await Body(await Client.GetAsync("/health"))).GetProperty("ready").GetBoolean());
        await OpenApiDocument.FetchAndAssertValid(Client, OpenApiRoutes.Of(fixture.Service.App));
    }

    private static string Png64 => B64(FaceServiceFixture.Alice.Value);
    /// <summary>The corpus's good image: a grey "person" unlike Alice, Bob and the stranger (it gets added as "corpus").</summary>
    private static readonly Lazy<byte[]> CorpusPng = new(() => FaceServiceFixture.Person(140, 140, 140));

    private static BadImageRequests Corpus(string url, string wrongType, string missing) => new(url, () => CorpusPng.Value,
        () => FaceServiceFixture.Person(140, 140, 140, ImageFormat.Jpeg), wrongTypeJson: b64 => wrongType.Replace("B64", b64),
        missingImageJson: missing, unknownFormField: ("colour", "red"), unknownQuery: "?colour=red", goodQuery: url == "/v1/database/add" ? "?name=corpus" : "");

    private static readonly BadImageRequests DetectCorpus = Corpus("/v1/detect", "{\"image\": \"B64\", \"max_faces\": \"ten\"}", "{\"threshold\": 0.5}")
        .Add("threshold-out-of-range", "?threshold=2", () => Raw(FaceServiceFixture.Alice.Value), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("max-faces-zero", "?max_faces=0", () => Raw(FaceServiceFixture.Alice.Value), HttpStatusCode.BadRequest, "invalid_parameter");
    private static readonly BadImageRequests EmbedCorpus = Corpus("/v1/embed", "{\"image\": \"B64\", \"bbox\": \"here\"}", "{\"bbox\": [1, 2, 3, 4]}")
        .Add("bbox-three-numbers", "", () => Json($"{{\"image\": \"{Png64}\", \"bbox\": [1, 2, 3]}}"), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("bbox-not-numbers", "?bbox=a,b,c,d", () => Raw(FaceServiceFixture.Alice.Value), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("bbox-zero-width", "?bbox=1,2,0,4", () => Raw(FaceServiceFixture.Alice.Value), HttpStatusCode.BadRequest, "invalid_parameter");
    private static readonly BadImageRequests RecognizeCorpus = Corpus("/v1/recognize", "{\"image\": \"B64\", \"threshold\": \"high\"}", "{\"threshold\": 0.5}")
        .Add("threshold-below-minus-one", "?threshold=-3", () => Raw(FaceServiceFixture.Alice.Value), HttpStatusCode.BadRequest, "invalid_parameter");
    private static readonly BadImageRequests AddCorpus = Corpus("/v1/database/add", "{\"image\": \"B64\", \"name\": 5}", "{\"name\": \"x\"}")
        .Add("name-missing", "", () => Json($"{{\"image\": \"{Png64}\"}}"), HttpStatusCode.BadRequest, "missing_name")
        .Add("name-unknown", "", () => Json($"{{\"image\": \"{Png64}\", \"name\": \"Unknown\"}}"), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("name-control-chars", "", () => Json($"{{\"image\": \"{Png64}\", \"name\": \"a\\u0000b\"}}"), HttpStatusCode.BadRequest, "invalid_parameter")
        .Add("name-too-long", "", () => Json($"{{\"image\": \"{Png64}\", \"name\": \"{new string('x', 300)}\"}}"), HttpStatusCode.BadRequest, "invalid_parameter");

    public static TheoryData<string, string> BadInputs
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (route, corpus) in new[] { ("detect", DetectCorpus), ("embed", EmbedCorpus), ("recognize", RecognizeCorpus), ("add", AddCorpus) })
                foreach (var kind in corpus.Kinds) data.Add(route, kind);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_image_input_gets_a_clear_4xx(string route, string kind)
    {
        var corpus = route switch { "detect" => DetectCorpus, "embed" => EmbedCorpus, "recognize" => RecognizeCorpus, _ => AddCorpus };
        await corpus.AssertRefusedAndStillServing(Client, kind);
    }

    public static TheoryData<string, string, string, int, string> BadJsonInputs => new()
    {
        { "verify", "/v1/verify", "{\"image1\": \"aGk=\"}", 400, "missing_image" },
        { "verify", "/v1/verify", "{\"image1\": \"@@\", \"image2\": \"@@\"}", 400, "invalid_base64" },
        { "verify", "/v1/verify", "{\"image1\": \"aGk=\", \"image2\": \"aGk=\"}", 400, "invalid_image" },
        { "verify", "/v1/verify", "{\"image1\": \"aGk=\", \"image2\": \"aGk=\", \"threshold\": 5}", 400, "invalid_parameter" },
        { "verify", "/v1/verify", "{\"image1\": \"aGk=\", \"image2\": \"aGk=\", \"x\": 1}", 400, "invalid_json" },
        { "verify", "/v1/verify", "[", 400, "invalid_json" },
        { "remove", "/v1/database/remove", "{}", 400, "missing_name" },
        { "remove", "/v1/database/remove", "{\"name\": 3}", 400, "invalid_json" },
        { "remove", "/v1/database/remove", "nope", 400, "invalid_json" },
        { "import", "/v1/database/import", "{\"identities\": [{\"name\": \"x\", \"created_at\": \"t\", \"embeddings\": [\"@@\"]}]}", 400, "invalid_base64" },
        { "import", "/v1/database/import", "{\"identities\": [{\"name\": \"x\", \"created_at\": \"t\", \"embeddings\": [\"AAAAAAAAAAA=\"]}]}", 400, "invalid_parameter" },
        { "import", "/v1/database/import", "{\"identities\": [{\"name\": \"x\", \"created_at\": \"t\", \"embeddings\": [\"AAA=\"]}]}", 400, "invalid_parameter" },
        { "import", "/v1/database/import", "{\"mode\": \"wipe\", \"identities\": []}", 400, "invalid_parameter" },
        { "import", "/v1/database/import", "{\"version\": 9, \"identities\": []}", 400, "invalid_parameter" },
        { "import", "/v1/database/import", "{\"format\": \"other\", \"identities\": []}", 400, "invalid_parameter" },
        { "import", "/v1/database/import", "{}", 400, "invalid_parameter" },
    };

    [Theory]
    [MemberData(nameof(BadJsonInputs))]
    public async Task Bad_json_input_gets_a_clear_4xx(string route, string url, string body, int status, string code)
    {
        _ = route;
        await ErrorResponses.AssertError(await Client.PostAsync(url, Json(body)), (HttpStatusCode)status, code);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/v1/database/list")).StatusCode);
    }

    [Fact]
    public async Task Verify_without_a_face_or_in_a_wrong_content_type_is_refused()
    {
        using var black = RgbaImage.Filled(320, 240, 0, 0, 0);
        await ErrorResponses.AssertError(await Client.PostAsync("/v1/verify",
            Json($$"""{"image1":"{{Png64}}","image2":"{{B64(black.Encode(ImageFormat.Png))}}"}""")), HttpStatusCode.BadRequest, "no_face");
        await ErrorResponses.AssertError(await Client.PostAsync("/v1/verify", Raw(FaceServiceFixture.Alice.Value)), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await ErrorResponses.AssertError(await Client.PostAsync("/v1/verify", BadImageRequests.Form("image1", FaceServiceFixture.Alice.Value, ("colour", "red"))),
            HttpStatusCode.BadRequest, "unknown_field");
    }
}
