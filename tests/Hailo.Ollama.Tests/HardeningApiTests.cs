using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Hosting.Models;
using Hailo.TestSupport;
using HailoOllama;
using HailoOllama.Engine;
using Xunit;

namespace Hailo.Ollama.Tests;

/// <summary>
/// Requests that once killed the service or answered 500, through HTTP on the real CPU path: each must get a 4xx
/// in the API family's shape and leave the service serving. Models without a chat template (base models) answer.
/// </summary>
public sealed class HardeningApiTests(OllamaFixture f) : IClassFixture<OllamaFixture>
{
    private HttpClient C => f.Client;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Quote(string s) => JsonSerializer.Serialize(s, HailoOllamaTestJson.Default.String);

    private async Task<(HttpStatusCode Status, string Body)> Post(string path, string json)
    {
        var r = await C.PostAsync(path, Json(json));
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    private static string OllamaError(string body) => JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()!;

    private async Task AssertStillServing()
    {
        var (status, body) = await Post("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"hi","stream":false,"options":{"num_predict":2}}""");
        Assert.True(status == HttpStatusCode.OK, body);
    }

    [Fact]
    public async Task A_template_of_50000_nested_ifs_is_a_400_on_generate_and_create()
    {
        // 800 KB: under /api/create's 1 MiB body limit.
        var nested = string.Concat(Enumerable.Repeat("{{if .A}}", 50_000)) + "{{.Prompt}}" + string.Concat(Enumerable.Repeat("{{end}}", 50_000));
        var (status, body) = await Post("/api/generate", $$"""{"model":"qwen2.5:0.5b","prompt":"x","stream":false,"template":{{Quote(nested)}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("template", OllamaError(body));
        (status, body) = await Post("/api/create", $$"""{"model":"deep:1","from":"qwen2.5:0.5b","stream":false,"template":{{Quote(nested)}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("template", OllamaError(body));
        // Within the length limit but nested too deeply.
        var deep = string.Concat(Enumerable.Repeat("{{if .Prompt}}", 1000)) + string.Concat(Enumerable.Repeat("{{end}}", 1000));
        (status, body) = await Post("/api/generate", $$"""{"model":"qwen2.5:0.5b","prompt":"x","stream":false,"template":{{Quote(deep)}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("nest more than 100 deep", OllamaError(body));
        await AssertStillServing();
    }

    [Theory]
    [InlineData("[1, 999999]", "context[1] is 999999")]
    [InlineData("[-1]", "context[0] is -1")]
    [InlineData("[2147483648]", "context[0] is 2147483648")]
    [InlineData("[1, 267]", "context[1] is 267")]
    public async Task Context_ids_outside_the_vocabulary_are_a_400_naming_the_id_and_the_size(string context, string named)
    {
        // The fixture's model has 267 tokens (256 bytes, 8 merges, 3 specials). llama.cpp aborted the process on these.
        var (status, body) = await Post("/api/generate", $$"""{"model":"qwen2.5:0.5b","prompt":"x","stream":false,"context":{{context}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = OllamaError(body);
        Assert.Contains(named, message);
        Assert.Contains("267 tokens", message);
        await AssertStillServing();
    }

    [Fact]
    public async Task Context_ids_inside_the_vocabulary_still_continue_a_conversation()
    {
        var (status, body) = await Post("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"hi","stream":false,"context":[0, 266, 100],"options":{"num_predict":2}}""");
        Assert.True(status == HttpStatusCode.OK, body);
        (status, body) = await Post("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","stream":false,"context":[1.5]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("context[0] is 1.5", OllamaError(body));
    }

    [Theory]
    [InlineData("/api/generate", "\"prompt\":\"x\",\"stream\":false", "\"1..5m\"")]
    [InlineData("/api/generate", "\"prompt\":\"x\",\"stream\":false", "\"abc\"")]
    [InlineData("/api/generate", "\"prompt\":\"x\",\"stream\":false", "\"5x\"")]
    [InlineData("/api/generate", "\"prompt\":\"x\",\"stream\":false", "\".\"")]
    [InlineData("/api/generate", "\"prompt\":\"x\",\"stream\":false", "true")]
    [InlineData("/api/generate", "\"prompt\":\"x\",\"stream\":false", "1e400")]
    [InlineData("/api/generate", "\"stream\":false", "\"1..5m\"")]
    [InlineData("/api/chat", "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":false", "\"1..5m\"")]
    [InlineData("/api/chat", "\"messages\":[],\"stream\":false", "\"1..5m\"")]
    [InlineData("/api/embed", "\"input\":\"x\"", "\"1..5m\"")]
    [InlineData("/api/embeddings", "\"prompt\":\"x\"", "\"1..5m\"")]
    public async Task Keep_alive_that_is_no_duration_is_a_400_naming_the_accepted_forms(string path, string fields, string keepAlive)
    {
        var (status, body) = await Post(path, $$"""{"model":"qwen2.5:0.5b",{{fields}},"keep_alive":{{keepAlive}}}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = OllamaError(body);
        Assert.Contains("keep_alive", message);
        Assert.Contains("\"1h30m\"", message);
        Assert.Contains("number of seconds", message);
    }

    [Fact]
    public async Task A_huge_repeat_last_n_is_bounded_by_the_context()
    {
        // llama.cpp keeps a buffer of repeat_last_n tokens: 2^31 of them held the model for over a minute.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var r = await C.PostAsync("/api/generate", Json("""{"model":"qwen2.5:0.5b","prompt":"hi","stream":false,"options":{"repeat_last_n":2147483647,"num_predict":2}}"""), cts.Token);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task An_empty_string_embeds_nothing_as_in_ollama()
    {
        var (status, body) = await Post("/api/embed", """{"model":"qwen2.5:0.5b","input":""}""");
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Equal(0, JsonDocument.Parse(body).RootElement.GetProperty("embeddings").GetArrayLength());
        (status, body) = await Post("/api/embeddings", """{"model":"qwen2.5:0.5b","prompt":""}""");
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Equal(0, JsonDocument.Parse(body).RootElement.GetProperty("embedding").GetArrayLength());
    }

    // ---------------------------------------------------------------- models without a chat template

    /// <summary>A stand-in GGUF (as `make models` writes) without tokenizer.chat_template, recorded as <paramref name="name"/>.</summary>
    private void InstallBaseModel(string name, string architecture, string? chatTemplate = null)
    {
        var relative = Path.Combine(name, "base.gguf");
        Directory.CreateDirectory(Path.Combine(f.ModelsDir, name));
        GgufWriter.Write(Path.Combine(f.ModelsDir, relative),
            new GgufWriter.Spec(architecture, Embd: 64, Layers: 2, Heads: 4, KvHeads: 2, Ff: 128, Seed: 2026, ChatTemplate: chatTemplate, NoChatTemplate: chatTemplate is null));
        new ModelRegistry(new ModelStore(f.ModelsDir, [], OllamaModels.Catalog), Hailo.Core.Backend.Cpu)
            .Save(new LocalModel { Name = name, Backend = Hailo.Core.Backend.Cpu, Path = relative, Family = "stand-in", ModifiedAt = DateTime.UtcNow });
    }

    [Theory]
    [InlineData("base-qwen:tiny", "qwen2", null)]
    [InlineData("base-llama:tiny", "llama", null)]
    [InlineData("odd-llama:tiny", "llama", "{% for m in messages %}{{ m.content }}{% endfor %}")] // a template neither this service nor llama.cpp knows
    public async Task A_model_without_a_chat_template_answers_generate_chat_and_v1_streaming_or_not(string name, string architecture, string? template)
    {
        InstallBaseModel(name, architecture, template);
        foreach (var stream in new[] { "false", "true" })
        {
            var (status, body) = await Post("/api/generate", $$$"""{"model":"{{{name}}}","system":"Be brief.","prompt":"hello","stream":{{{stream}}},"options":{"num_predict":3}}""");
            Assert.True(status == HttpStatusCode.OK, $"generate stream={stream}: {body}");
            Assert.Contains("\"done\":true", body);
            (status, body) = await Post("/api/chat", $$$"""{"model":"{{{name}}}","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},{"role":"user","content":"why?"}],"stream":{{{stream}}},"options":{"num_predict":3}}""");
            Assert.True(status == HttpStatusCode.OK, $"chat stream={stream}: {body}");
            Assert.Contains("\"done\":true", body);
            (status, body) = await Post("/v1/chat/completions", $$"""{"model":"{{name}}","messages":[{"role":"user","content":"hi"}],"stream":{{stream}},"max_tokens":3}""");
            Assert.True(status == HttpStatusCode.OK, $"v1 stream={stream}: {body}");
            Assert.Contains(stream == "true" ? "[DONE]" : "\"finish_reason\"", body);
        }
    }

    [Fact]
    public async Task Generate_without_a_template_sends_the_prompt_with_the_system_prompt_before_it()
    {
        InstallBaseModel("base-plain:tiny", "llama");
        // The context a generate returns is the prompt's tokens and the reply's: equal to sending the expected
        // prompt raw (Ollama's {{ .Prompt }}, the system prompt and a blank line before it).
        var (s1, templated) = await Post("/api/generate", """{"model":"base-plain:tiny","system":"Be brief.","prompt":"hello there","stream":false,"options":{"num_predict":1,"temperature":0}}""");
        var (s2, raw) = await Post("/api/generate", """{"model":"base-plain:tiny","prompt":"Be brief.\n\nhello there","raw":true,"stream":false,"options":{"num_predict":1,"temperature":0}}""");
        Assert.True(s1 == HttpStatusCode.OK && s2 == HttpStatusCode.OK, templated + raw);
        int[] Context(string body) => JsonDocument.Parse(body).RootElement.GetProperty("context").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        Assert.Equal(Context(raw), Context(templated));
        // Tools need a template to be written into: refused as Ollama refuses them.
        var (s3, tools) = await Post("/api/chat", """{"model":"base-plain:tiny","messages":[{"role":"user","content":"hi"}],"stream":false,"tools":[{"type":"function","function":{"name":"f"}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, s3);
        Assert.Contains("does not support tools", OllamaError(tools));
    }

    // ---------------------------------------------------------------- very long chats

    [Fact]
    public async Task A_chat_of_100k_messages_is_refused_by_the_message_cap_at_once()
    {
        var messages = string.Join(',', Enumerable.Range(0, 100_000).Select(i => i % 2 == 0 ? """{"role":"user","content":"a"}""" : """{"role":"assistant","content":"b"}"""));
        var started = DateTime.UtcNow;
        var (status, body) = await Post("/api/chat", $$"""{"model":"qwen2.5:0.5b","messages":[{{messages}}],"stream":false}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("100000 messages, more than the 4096 allowed", OllamaError(body));
        var (v1, v1Body) = await Post("/v1/chat/completions", $$"""{"model":"qwen2.5:0.5b","messages":[{{messages}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, v1);
        Assert.Equal("messages", JsonDocument.Parse(v1Body).RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(60)); // generous: the old code took hours
        await AssertStillServing();
    }

    [Fact]
    public async Task A_chat_at_the_cap_is_truncated_and_answered()
    {
        var messages = string.Join(',', Enumerable.Range(0, 4095).Select(i => i % 2 == 0 ? $$"""{"role":"user","content":"question {{i}}"}""" : """{"role":"assistant","content":"answer"}"""));
        var (status, body) = await Post("/api/chat", $$$"""{"model":"qwen2.5:0.5b","messages":[{"role":"system","content":"S"},{{{messages}}}],"stream":false,"options":{"num_predict":2}}""");
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.InRange(JsonDocument.Parse(body).RootElement.GetProperty("prompt_eval_count").GetInt32(), 1, 512);
    }
}
