using System.Net;
using System.Text.Json;
using Hailo.TestSupport;
using Xunit;
using static Hailo.VisionService.Tests.VisionFixture;

namespace Hailo.VisionService.Tests;

/// <summary>
/// The APIs on the NPU path through the shim's fake VLM (see <see cref="VisionFixture"/>): images reach the device as
/// frames in order, one {"type":"image"} part each, and the counts are the device's (image tokens included).
/// </summary>
[Collection("fake-shim")]
public sealed class NpuApiTests(VisionFixture f) : IClassFixture<VisionFixture>
{
    // Solid red: every frame byte is 255, 0, 0 → mean 85. Solid grey 30 → 30.
    private static readonly string Red = B64(Png(255, 0, 0));
    private static readonly string Grey = B64(Png(30, 30, 30));

    private static List<JsonElement> Lines(string body) =>
        body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public async Task Health_reports_the_npu_ready_and_show_says_vision()
    {
        var h = JsonDocument.Parse(await f.Client.GetStringAsync("/health")).RootElement;
        Assert.Equal("npu", h.GetProperty("backend").GetString());
        Assert.True(h.GetProperty("ready").GetBoolean(), h.ToString());
        var (status, show) = await f.PostAsync("/api/show", """{"model":"qwen2-vl:2b"}""");
        Assert.Equal(200, status);
        Assert.Equal(new[] { "completion", "vision" }, show.GetProperty("capabilities").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var tags = JsonDocument.Parse(await f.Client.GetStringAsync("/api/tags")).RootElement.GetProperty("models");
        Assert.Equal("qwen2-vl:2b", Assert.Single(tags.EnumerateArray()).GetProperty("name").GetString());
        var models = JsonDocument.Parse(await f.Client.GetStringAsync("/v1/models")).RootElement.GetProperty("data");
        Assert.Equal("qwen2-vl:2b", Assert.Single(models.EnumerateArray()).GetProperty("id").GetString());
        var version = JsonDocument.Parse(await f.Client.GetStringAsync("/api/version")).RootElement;
        Assert.Equal("0.12.6", version.GetProperty("version").GetString());
    }

    [Fact]
    public async Task Chat_sends_each_image_as_a_frame_in_order_and_counts_the_image_tokens()
    {
        var (s1, one) = await f.PostAsync("/api/chat", $$"""{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"what is this","images":["{{Red}}"]}]}""");
        Assert.Equal(200, s1);
        Assert.Equal("<image0:mean=85> what is this", one.GetProperty("message").GetProperty("content").GetString()!.Trim());
        // Two images, across two messages: both frames, in order; 16 more prompt tokens than with one.
        var (s2, two) = await f.PostAsync("/api/chat", $$"""
            {"model":"qwen2-vl:2b","stream":false,"messages":[
              {"role":"user","content":"first","images":["{{Grey}}"]},
              {"role":"assistant","content":"ok"},
              {"role":"user","content":"what is this","images":["{{Red}}"]}]}
            """);
        Assert.Equal(200, s2);
        var text = two.GetProperty("message").GetProperty("content").GetString()!;
        Assert.StartsWith("<image0:mean=30><image1:mean=85>", text.Replace(" ", ""));
        Assert.EndsWith("what is this", text.Trim());
        var p1 = one.GetProperty("prompt_eval_count").GetInt32();
        var p2 = two.GetProperty("prompt_eval_count").GetInt32();
        Assert.True(p1 >= ImageTokens, $"prompt_eval_count {p1} must include the image's {ImageTokens} tokens");
        Assert.True(p2 - p1 >= ImageTokens, $"one more image and two more turns: {p1} → {p2}");
        // The device's count: one token per image marker and one per echoed word ("what", " is", " this").
        Assert.Equal(2 + 3, two.GetProperty("eval_count").GetInt32());
    }

    [Fact]
    public async Task Chat_streams_ndjson_ending_with_the_counts()
    {
        var r = await f.Client.PostAsync("/api/chat", Json($$"""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":"a b c","images":["{{Red}}"]}]}"""));
        Assert.Equal("application/x-ndjson", r.Content.Headers.ContentType?.MediaType);
        var lines = Lines(await r.Content.ReadAsStringAsync());
        Assert.True(lines.Count >= 5);
        Assert.All(lines[..^1], l => Assert.False(l.GetProperty("done").GetBoolean()));
        Assert.True(lines[^1].GetProperty("done").GetBoolean());
        Assert.Equal(lines.Count - 1, lines[^1].GetProperty("eval_count").GetInt32());
        Assert.Equal("<image0:mean=85> a b c", string.Concat(lines[..^1].Select(l => l.GetProperty("message").GetProperty("content").GetString())).Trim());
    }

    [Fact]
    public async Task A_frigate_shaped_generate_with_images_answers()
    {
        // Frigate's Ollama provider: /api/generate with model, prompt, images (base64) and stream false.
        var (status, r) = await f.PostAsync("/api/generate", $$$"""{"model":"qwen2-vl:2b","prompt":"Describe the person","images":["{{{Red}}}","{{{Grey}}}"],"stream":false,"options":{"temperature":0.5}}""");
        Assert.Equal(200, status);
        Assert.Equal("<image0:mean=85><image1:mean=30>Describethe person".Replace(" ", ""), r.GetProperty("response").GetString()!.Replace(" ", "").Trim());
        Assert.True(r.GetProperty("done").GetBoolean());
        Assert.True(r.GetProperty("prompt_eval_count").GetInt32() >= 2 * ImageTokens);
        var (s2, limited) = await f.PostAsync("/api/generate", $$$"""{"model":"qwen2-vl:2b","prompt":"one two three four","images":["{{{Red}}}"],"stream":false,"options":{"num_predict":2}}""");
        Assert.Equal(200, s2);
        Assert.Equal(2, limited.GetProperty("eval_count").GetInt32());
        Assert.Equal("length", limited.GetProperty("done_reason").GetString());
    }

    [Fact]
    public async Task OpenAi_chat_takes_data_url_parts_and_streams_sse_with_usage()
    {
        var body = $$$"""
            {"model":"qwen2-vl:2b","messages":[{"role":"user","content":[
              {"type":"text","text":"look"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,{{{Red}}}"}}]}]}
            """;
        var (status, whole) = await f.PostAsync("/v1/chat/completions", body);
        Assert.Equal(200, status);
        Assert.Equal("<image0:mean=85> look", whole.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!.Trim());
        var usage = whole.GetProperty("usage");
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() >= ImageTokens);
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());

        var streamed = body.TrimEnd().TrimEnd('}') + ""","stream":true,"stream_options":{"include_usage":true}}""";
        var r = await f.Client.PostAsync("/v1/chat/completions", Json(streamed));
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType?.MediaType);
        var events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.Trim()).ToList();
        Assert.Equal("data: [DONE]", events[^1]);
        var last = JsonDocument.Parse(events[^2]["data: ".Length..]).RootElement;
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), last.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Analyze_answers_each_image_on_its_own_and_the_batch_form_each_request()
    {
        var (status, r) = await f.PostAsync("/v1/vision/analyze", $$"""{"images":["{{Red}}","data:image/png;base64,{{Grey}}"],"prompt":"what colour"}""");
        Assert.Equal(200, status);
        var results = r.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        Assert.Equal("<image0:mean=85> what colour", results[0].GetProperty("analysis").GetString());
        Assert.Equal("<image0:mean=30> what colour", results[1].GetProperty("analysis").GetString());
        Assert.True(results[0].GetProperty("usage").GetProperty("prompt_tokens").GetInt32() >= ImageTokens);
        var (bs, b) = await f.PostAsync("/v1/vision/analyze/batch", $$"""{"requests":[{"images":["{{Grey}}"],"prompt":"one"},{"images":["{{Red}}"],"prompt":"two"}]}""");
        Assert.Equal(200, bs);
        var batch = b.GetProperty("batch").EnumerateArray().ToList();
        Assert.Equal("<image0:mean=30> one", batch[0].GetProperty("results")[0].GetProperty("analysis").GetString());
        Assert.Equal("<image0:mean=85> two", batch[1].GetProperty("results")[0].GetProperty("analysis").GetString());
    }

    [Fact]
    public async Task Text_only_chat_reaches_the_device_without_frames()
    {
        var (status, r) = await f.PostAsync("/api/chat", """{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"just text"}]}""");
        Assert.Equal(200, status);
        Assert.Equal("just text", r.GetProperty("message").GetProperty("content").GetString()!.Trim());
    }

    [Fact]
    public async Task The_kv_cache_held_elsewhere_is_a_503_with_retry_after()
    {
        var (_, unload) = await f.PostAsync("/api/generate", """{"model":"qwen2-vl:2b","keep_alive":0,"stream":false}""");
        Assert.Equal("unload", unload.GetProperty("done_reason").GetString());
        using (FakeShim.Faults("kv_cache_in_use"))
        {
            var r = await f.Client.PostAsync("/api/chat", Json($$"""{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"x","images":["{{Red}}"]}]}"""));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.True(r.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        }
        var (ok, again) = await f.PostAsync("/api/chat", $$"""{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"x","images":["{{Red}}"]}]}""");
        Assert.Equal(200, ok);
        Assert.Equal("<image0:mean=85> x", again.GetProperty("message").GetProperty("content").GetString()!.Trim());
    }
}
