using System.Text.Json;
using Hailo.TestSupport;
using Xunit;
using static Hailo.VisionService.Tests.VisionFixture;

namespace Hailo.VisionService.Tests;

/// <summary>
/// The bad-input corpus on every endpoint that takes images: 4xx in the endpoint's family shape (Ollama's
/// {"error":"…"} under /api, OpenAI's {"error":{"message","type","code"}} under /v1), never a 500, and the service
/// answers a good request afterwards.
/// </summary>
[Collection("fake-shim")]
public sealed class GarbageTests(VisionFixture f) : IClassFixture<VisionFixture>
{
    private static readonly string Red = B64(Png(255, 0, 0));
    private static readonly string NotImage = B64("%PDF-1.4 not an image"u8.ToArray());
    private static readonly string Bomb = B64(ImageFiles.PngHeaderOnly(30000, 30000));
    private static string Many(int n) => string.Join(',', Enumerable.Repeat($"\"{Red}\"", n));

    public static TheoryData<string, string> Ollama() => new()
    {
        { "not-an-image", $$"""{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"x","images":["{{NotImage}}"]}]}""" },
        { "bomb-header", $$"""{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"x","images":["{{Bomb}}"]}]}""" },
        { "fifty-images", $$"""{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"x","images":[{{Many(50)}}]}]}""" },
        { "url-image", """{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"x","images":["http://169.254.169.254/latest"]}]}""" },
        { "bad-base64", """{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"x","images":["@@@"]}]}""" },
        { "images-not-array", """{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"x","images":"abc"}]}""" },
        { "image-number", """{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"x","images":[5]}]}""" },
        { "gen-not-an-image", $$"""{"model":"qwen2-vl:2b","prompt":"x","stream":false,"images":["{{NotImage}}"]}""" },
        { "gen-fifty", $$"""{"model":"qwen2-vl:2b","prompt":"x","stream":false,"images":[{{Many(50)}}]}""" },
        { "gen-bomb", $$"""{"model":"qwen2-vl:2b","prompt":"x","stream":false,"images":["{{Bomb}}"]}""" },
        { "gen-raw", $$"""{"model":"qwen2-vl:2b","prompt":"x","raw":true,"images":["{{Red}}"]}""" },
        { "broken-json", """{"model":"qwen2-vl:2b","messages":[""" },
        { "unknown-model", """{"model":"nope:1b","messages":[{"role":"user","content":"x"}]}""" },
    };

    [Theory]
    [MemberData(nameof(Ollama))]
    public async Task Ollama_endpoints_answer_garbage_with_4xx_in_ollamas_shape(string name, string body)
    {
        var path = name.StartsWith("gen-", StringComparison.Ordinal) ? "/api/generate" : "/api/chat";
        var r = await f.Client.PostAsync(path, Json(body));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode is >= 400 and < 500, $"{name}: {(int)r.StatusCode} {text}");
        var e = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, e.ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(e.GetString()));
        await AssertStillServes();
    }

    public static TheoryData<string, string> OpenAi() => new()
    {
        { "not-an-image", Part($$$"""{"type":"image_url","image_url":{"url":"data:image/png;base64,{{{NotImage}}}"}}""") },
        { "bomb-header", Part($$$"""{"type":"image_url","image_url":{"url":"data:image/png;base64,{{{Bomb}}}"}}""") },
        { "fifty-images", Part(string.Join(',', Enumerable.Repeat($$$"""{"type":"image_url","image_url":{"url":"data:image/png;base64,{{{Red}}}"}}""", 50))) },
        { "http-url", Part("""{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}""") },
        { "file-url", Part("""{"type":"image_url","image_url":{"url":"file:///etc/shadow"}}""") },
        { "wrong-part-type", Part("""{"type":"audio","audio":"abc"}""") },
        { "part-not-object", Part("\"text\"") },
        { "image-url-number", Part("""{"type":"image_url","image_url":5}""") },
        { "text-not-string", Part("""{"type":"text","text":5}""") },
        { "analyze-no-images", "analyze:{\"prompt\":\"x\"}" },
        { "analyze-not-image", $$"""analyze:{"prompt":"x","images":["{{NotImage}}"]}""" },
        { "analyze-url", """analyze:{"prompt":"x","images":["http://example.com/a.jpg"]}""" },
        { "analyze-fifty", $$"""analyze:{"prompt":"x","images":[{{Many(50)}}]}""" },
        { "analyze-no-prompt", $$"""analyze:{"images":["{{Red}}"]}""" },
        { "batch-empty", "batch:{\"requests\":[]}" },
        { "batch-bomb", $$"""batch:{"requests":[{"prompt":"x","images":["{{Bomb}}"]}]}""" },
    };

    private static string Part(string parts) => $$"""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":[{"type":"text","text":"x"},{{parts}}]}]}""";

    [Theory]
    [MemberData(nameof(OpenAi))]
    public async Task OpenAi_endpoints_answer_garbage_with_4xx_in_openais_shape(string name, string body)
    {
        var path = "/v1/chat/completions";
        if (body.StartsWith("analyze:", StringComparison.Ordinal)) (path, body) = ("/v1/vision/analyze", body["analyze:".Length..]);
        if (body.StartsWith("batch:", StringComparison.Ordinal)) (path, body) = ("/v1/vision/analyze/batch", body["batch:".Length..]);
        var r = await f.Client.PostAsync(path, Json(body));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode is >= 400 and < 500, $"{name}: {(int)r.StatusCode} {text}");
        var e = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("type").GetString()));
        await AssertStillServes();
    }

    [Fact]
    public async Task A_url_image_part_is_refused_by_default_saying_image_urls_are_off()
    {
        var r = await f.Client.PostAsync("/v1/chat/completions", Json(Part("""{"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}""")));
        Assert.Equal(400, (int)r.StatusCode);
        var e = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Contains("image URLs are off", e.GetProperty("message").GetString());
        Assert.Equal("image_url_not_allowed", e.GetProperty("code").GetString());
    }

    private async Task AssertStillServes()
    {
        var (status, r) = await f.PostAsync("/api/generate", $$"""{"model":"qwen2-vl:2b","prompt":"ok","images":["{{Red}}"],"stream":false}""");
        Assert.Equal(200, status);
        Assert.Contains("ok", r.GetProperty("response").GetString());
    }
}
