using System.Text;
using Hailo.Media;

namespace Hailo.Fuzz;

/// <summary>
/// hailo-clip: the image routes (classify, embed/image, index, search by image) as multipart, JSON base64 or raw
/// body, and the JSON-only text routes (embed/text, OpenAI embeddings, search by text), against the generated towers
/// of the API tests, with the image index in the scratch directory.
/// </summary>
public sealed class ClipFamily : Family
{
    private string _index = Path.Combine(Path.GetTempPath(), "hailo-clip-fuzz-index.sqlite");

    public override string Name => "clip";
    public override string Service => "hailo-clip";
    public override string[] ExtraArgs => [.. base.ExtraArgs, "--index.path", _index, "--index.max_items", "200"];
    public override ErrorShape Shape(string path) => ErrorShape.Project;

    public override string PrepareModels(string scratch)
    {
        Hailo.Clip.Tests.ClipServiceFixture.WriteModel(scratch);
        _index = Path.Combine(scratch, "index.sqlite");
        return scratch;
    }

    private static readonly string[] Prompts = ["[\"red\",\"green\"]", "red\nblue", "[]", "[1]", "", "[\"\"]", "a photo of a cat", "<|endoftext|>"];

    private static readonly ImageFamily[] ImageRoutes =
    [
        new("clip", "hailo-clip", "/v1/classify", [("prompts", Prompts), ("top_k", ["1", "3", "0", "-1", "99999"]),
            ("threshold", ["0", "0.5", "-1", "2", "NaN"]), ("softmax", ["true", "false", "maybe"])]),
        new("clip", "hailo-clip", "/v1/embed/image", []),
        new("clip", "hailo-clip", "/v1/index", [("id", ["a", "b", "", "\u0001", "x/y"]), ("metadata", ["{}", "{\"a\":1}", "[]", "{oops", "null"])]),
        new("clip", "hailo-clip", "/v1/search", [("top_k", ["1", "10", "0", "1001"]), ("min_score", ["-1", "0.5", "2"])]),
    ];

    private static FuzzRequest Json(string path, string json) => new("POST", path, "application/json", Encoding.UTF8.GetBytes(json));

    private static readonly Lazy<FuzzRequest[]> s_seeds = new(() =>
    {
        using var img = RgbaImage.Filled(64, 48, 200, 30, 30);
        var png = img.Encode(ImageFormat.Png);
        var b64 = Convert.ToBase64String(png);
        var (mp, body) = Multipart.Build([new Part("image", "a.png", "image/png", png), Part.Field("prompts", "[\"red\",\"green\"]")]);
        // Several images in one form: a batch.
        var (mp2, body2) = Multipart.Build([new Part("image", "a.png", "image/png", png), new Part("file", "b.png", "image/png", png),
            Part.Field("prompts", "red\ngreen")]);
        var (mp3, body3) = Multipart.Build([new Part("image", "a.png", "image/png", png), new Part("image", "b.png", "image/png", png)]);
        return
        [
            Json("/v1/classify", $$"""{"image":"{{b64}}","prompts":["red","green","blue"],"top_k":2}"""),
            new("POST", "/v1/classify", mp, body),
            new("POST", "/v1/classify", mp2, body2),
            Json("/v1/classify", $$"""{"images":["{{b64}}","{{b64}}"],"prompts":["red","blue"]}"""),
            new("POST", "/v1/embed/image", mp3, body3),
            new("POST", "/v1/classify?prompts=red%0Agreen", "image/png", png),
            Json("/v1/embed/image", $$"""{"images":["{{b64}}","data:image/png;base64,{{b64}}"]}"""),
            new("POST", "/v1/embed/image", "image/png", png),
            Json("/v1/embed/text", """{"text":["a photo of a cat","red"]}"""),
            Json("/v1/embeddings", """{"input":"hello","encoding_format":"base64"}"""),
            Json("/v1/index", $$$"""{"id":"seed","image":"{{{b64}}}","metadata":{"k":"v"}}"""),
            new("POST", "/v1/index?id=seed2", "image/png", png),
            Json("/v1/search", """{"text":"red","top_k":5}"""),
            new("POST", "/v1/search?top_k=3", "image/png", png),
        ];
    });

    public override IReadOnlyList<FuzzRequest> Seeds() => s_seeds.Value;

    public override FuzzRequest Generate(Mutator m)
    {
        if (m.Chance(0.6)) return m.Pick(ImageRoutes).Generate(m);
        var seed = m.Pick(s_seeds.Value.Where(s => s.ContentType == "application/json" && s.Path is "/v1/embed/text" or "/v1/embeddings" or "/v1/search").ToArray());
        return seed with { Body = m.Json(seed.Body), ContentType = MaybeContentType(m, seed.ContentType) };
    }
}
