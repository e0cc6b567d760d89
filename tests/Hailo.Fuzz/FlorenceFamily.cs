using System.Text;
using Hailo.Media;

namespace Hailo.Fuzz;

/// <summary>
/// hailo-florence: caption, vqa and the task route as multipart, JSON base64 or raw body, and Ollama's /api/generate
/// (JSON), against the generated four-part model of the API tests.
/// </summary>
public sealed class FlorenceFamily : Family
{
    public override string Name => "florence";
    public override string Service => "hailo-florence";
    public override ErrorShape Shape(string path) => path.StartsWith("/api/", StringComparison.Ordinal) ? ErrorShape.Ollama : ErrorShape.Florence;

    public override string PrepareModels(string scratch)
    {
        Hailo.TestSupport.FlorenceTestModel.Write(Path.Combine(scratch, HailoFlorence.FlorenceModels.CpuDefault));
        return scratch;
    }

    private static readonly (string Name, string[] Values)[] Lengths =
        [("max_length", ["1", "20", "0", "-1", "1025", "x"]), ("min_length", ["0", "5", "-1", "99999"]), ("temperature", ["0", "0.7", "-1", "3", "NaN"])];

    private static readonly ImageFamily[] ImageRoutes =
    [
        new("florence", "hailo-florence", "/v1/caption", [.. Lengths, ("detail", ["caption", "detailed", "more_detailed", "", "poem"])]),
        new("florence", "hailo-florence", "/v1/vqa", [.. Lengths, ("question", ["why?", "", " ", "<OD>", "<loc_5>", "\u0000"])]),
        new("florence", "hailo-florence", "/v1/florence/od", [.. Lengths, ("text", ["", "a cat"]), ("annotate", ["true", "false", "1", "yes", ""])]),
        new("florence", "hailo-florence", "/v1/florence/caption_to_phrase_grounding", [.. Lengths, ("text", ["a cat", "", "<loc_1>"])]),
        new("florence", "hailo-florence", "/v1/florence/ocr_with_region", Lengths),
        new("florence", "hailo-florence", "/v1/florence/nope", Lengths),
    ];

    private static FuzzRequest Json(string path, string json) => new("POST", path, "application/json", Encoding.UTF8.GetBytes(json));

    private static readonly Lazy<FuzzRequest[]> s_seeds = new(() =>
    {
        using var img = RgbaImage.Filled(64, 48, 200, 30, 30);
        var png = img.Encode(ImageFormat.Png);
        var b64 = Convert.ToBase64String(png);
        var (mp, body) = Multipart.Build([new Part("image", "a.png", "image/png", png), Part.Field("question", "what is this?")]);
        return
        [
            Json("/v1/caption", $$"""{"image":"{{b64}}","max_length":20}"""),
            new("POST", "/v1/vqa", mp, body),
            new("POST", "/v1/florence/od?max_length=30", "image/png", png),
            Json("/v1/florence/caption_to_phrase_grounding", $$"""{"image":"data:image/png;base64,{{b64}}","text":"a cat"}"""),
            Json("/api/generate", $$$"""{"model":"florence-2","prompt":"describe","images":["{{{b64}}}"],"stream":false,"options":{"num_predict":20}}"""),
            Json("/api/generate", $$"""{"model":"florence-2:latest","prompt":"<OD>","images":["{{b64}}"]}"""),
        ];
    });

    public override IReadOnlyList<FuzzRequest> Seeds() => s_seeds.Value;

    public override FuzzRequest Generate(Mutator m)
    {
        if (m.Chance(0.7)) return m.Pick(ImageRoutes).Generate(m);
        var seed = m.Pick(s_seeds.Value.Where(s => s.Path == "/api/generate").ToArray());
        return seed with { Body = m.Json(seed.Body), ContentType = MaybeContentType(m, seed.ContentType) };
    }
}
