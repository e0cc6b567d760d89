using System.Text;
using Hailo.Media;
using Hailo.TestSupport;

namespace Hailo.Fuzz;

/// <summary>
/// hailo-vision: Ollama's /api/chat and /api/generate with images, OpenAI's chat completions with image_url parts and
/// /v1/vision/analyze, against the shim's fake VLM (hailo-vision has no CPU path): the service around the device is
/// what is fuzzed.
/// </summary>
public sealed class VisionFamily : Family
{
    public override string Name => "vision";
    public override string Service => "hailo-vision";
    public override string[] ExtraArgs => ["--device", "npu", "--kv_cache.bus", "none", "--vision.max_images", "4"];

    public override IDictionary<string, string?>? Environment => new Dictionary<string, string?>
    {
        ["HAILO_SHIM_PATH"] = FakeShim.LibraryPath, ["HS_BACKEND"] = "fake", ["HS_FAKE_STATE_DIR"] = FakeShim.StateDir,
    };

    public override ErrorShape Shape(string p) => p.StartsWith("/v1/", StringComparison.Ordinal) ? ErrorShape.OpenAi : ErrorShape.Ollama;

    public override string PrepareModels(string scratch)
    {
        Hailo.VisionService.Tests.VisionFixture.WriteFakeHef(scratch, tokenDelayMs: 0);
        return scratch;
    }

    private static FuzzRequest Json(string path, string json) => new("POST", path, "application/json", Encoding.UTF8.GetBytes(json));

    private static readonly Lazy<FuzzRequest[]> s_seeds = new(() =>
    {
        using var img = RgbaImage.Filled(40, 30, 200, 30, 30);
        var b64 = Convert.ToBase64String(img.Encode(ImageFormat.Png));
        var jpg = Convert.ToBase64String(img.Encode(ImageFormat.Jpeg, 80));
        return
        [
            Json("/api/generate", $$$"""{"model":"qwen2-vl:2b","prompt":"Describe","images":["{{{b64}}}"],"stream":false,"options":{"num_predict":8}}"""),
            Json("/api/generate", $$"""{"model":"qwen2-vl:2b","prompt":"Two","system":"Be brief.","images":["{{b64}}","{{jpg}}"]}"""),
            Json("/api/chat", $$"""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":"what","images":["{{jpg}}"]},{"role":"assistant","content":"a"},{"role":"user","content":"more"}],"stream":false}"""),
            Json("/api/chat", $$$"""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":"stream","images":["{{{b64}}}"]}],"options":{"temperature":0,"seed":2}}"""),
            Json("/v1/chat/completions", $$$"""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,{{{b64}}}"}}]}],"max_tokens":8}"""),
            Json("/v1/chat/completions", $$$"""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/jpeg;base64,{{{jpg}}}"}]}],"stream":true,"stream_options":{"include_usage":true}}"""),
            Json("/v1/vision/analyze", $$"""{"images":["{{b64}}","data:image/jpeg;base64,{{jpg}}"],"prompt":"what colour","max_tokens":8}"""),
            Json("/v1/vision/analyze/batch", $$"""{"requests":[{"images":["{{b64}}"],"prompt":"one"},{"images":["{{jpg}}"],"prompt":"two"}]}"""),
            Json("/api/show", """{"model":"qwen2-vl:2b"}"""),
        ];
    });

    public override IReadOnlyList<FuzzRequest> Seeds() => s_seeds.Value;

    private static readonly string[] Paths = ["/api/generate", "/api/chat", "/v1/chat/completions", "/v1/vision/analyze", "/v1/vision/analyze/batch", "/api/show"];

    public override FuzzRequest Generate(Mutator m)
    {
        var seed = m.Pick(s_seeds.Value);
        var path = m.Chance(0.05) ? m.Pick(Paths) : seed.Path;
        var body = m.Json(seed.Body);
        if (m.Chance(0.05)) body = m.Bytes(body, 6, m.Pick(s_seeds.Value).Body);
        return new FuzzRequest("POST", path, MaybeContentType(m, "application/json"), body);
    }
}
