using Hailo.TestSupport;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Hailo.Ollama.Tests;

/// <summary>
/// The native API and the OpenAI layer over the real CPU path (LLamaSharp on a random-weight qwen2 GGUF with a real
/// BPE tokenizer). Random weights make the text gibberish: the tests check shapes, counts, stop handling, streaming,
/// keep_alive and errors, not the words.
/// </summary>
public sealed class ApiTests(OllamaFixture f) : IClassFixture<OllamaFixture>
{
    private HttpClient C => f.Client;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode, JsonElement)> Post(string path, string json)
    {
        var r = await C.PostAsync(path, Json(json));
        var text = await r.Content.ReadAsStringAsync();
        return (r.StatusCode, JsonDocument.Parse(text).RootElement);
    }

    [Fact]
    public async Task Root_version_tags_show()
    {
        Assert.Equal("Ollama is running", await C.GetStringAsync("/"));
        var head = await C.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        var v = JsonDocument.Parse(await C.GetStringAsync("/api/version")).RootElement;
        Assert.Matches(@"^\d+\.\d+\.\d+$", v.GetProperty("version").GetString()!);
        var tags = JsonDocument.Parse(await C.GetStringAsync("/api/tags")).RootElement.GetProperty("models");
        var m = tags.EnumerateArray().Single(x => x.GetProperty("name").GetString() == "qwen2.5:0.5b");
        Assert.Equal("gguf", m.GetProperty("details").GetProperty("format").GetString());
        Assert.Equal("qwen2", m.GetProperty("details").GetProperty("family").GetString());
        Assert.Equal("F32", m.GetProperty("details").GetProperty("quantization_level").GetString());
        var (status, show) = await Post("/api/show", """{"model":"qwen2.5:0.5b"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var caps = show.GetProperty("capabilities").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.Contains("completion", caps);
        Assert.Contains("tools", caps);
        Assert.Equal("qwen2", show.GetProperty("model_info").GetProperty("general.architecture").GetString());
        Assert.Equal(2048, show.GetProperty("model_info").GetProperty("qwen2.context_length").GetInt32());
        Assert.Contains("<|im_start|>", show.GetProperty("template").GetString());
    }

    [Fact]
    public async Task The_make_models_stand_in_is_listed_as_a_stand_in_and_runs()
    {
        // What tests/Hailo.Ollama.ModelWriter writes: a GGUF and a record with a path relative to models.dir.
        const string name = "stand-in:tiny";
        var relative = Path.Combine(name, "stand-in-tiny.gguf");
        Directory.CreateDirectory(Path.Combine(f.ModelsDir, name));
        GgufWriter.Write(Path.Combine(f.ModelsDir, relative), new GgufWriter.Spec("qwen2", Seed: 5));
        new HailoOllama.Engine.ModelRegistry(new Hailo.Hosting.Models.ModelStore(f.ModelsDir, [], HailoOllama.OllamaModels.Catalog), Hailo.Core.Backend.Cpu)
            .Save(new HailoOllama.Engine.LocalModel { Name = name, Backend = Hailo.Core.Backend.Cpu, Path = relative, Family = "stand-in", ModifiedAt = DateTime.UtcNow });
        Assert.DoesNotContain(HailoOllama.OllamaModels.Catalog, m => m.Name == name);

        var tags = JsonDocument.Parse(await C.GetStringAsync("/api/tags")).RootElement.GetProperty("models");
        var details = tags.EnumerateArray().Single(x => x.GetProperty("name").GetString() == name).GetProperty("details");
        Assert.Equal("stand-in", details.GetProperty("family").GetString());
        Assert.Equal(["stand-in", "qwen2"], details.GetProperty("families").EnumerateArray().Select(x => x.GetString()!).ToArray());
        var (status, r) = await Post("/api/generate", """{"model":"stand-in:tiny","prompt":"hi","stream":false,"keep_alive":0,"options":{"num_predict":3}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, r.GetProperty("eval_count").GetInt32());

        Assert.Equal(HttpStatusCode.OK, (await C.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/delete") { Content = Json("""{"model":"stand-in:tiny"}""") })).StatusCode);
        Assert.False(File.Exists(Path.Combine(f.ModelsDir, relative)));
    }

    [Fact]
    public async Task Generate_non_streaming_counts_tokens_and_reports_ns_durations()
    {
        var (status, r) = await Post("/api/generate",
            """{"model":"qwen2.5:0.5b","prompt":"hello there","stream":false,"options":{"num_predict":7,"temperature":0,"seed":3}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(r.GetProperty("done").GetBoolean());
        Assert.Equal("length", r.GetProperty("done_reason").GetString());
        Assert.Equal(7, r.GetProperty("eval_count").GetInt32());
        Assert.True(r.GetProperty("prompt_eval_count").GetInt32() > 2);
        Assert.True(r.GetProperty("total_duration").GetInt64() >= r.GetProperty("eval_duration").GetInt64());
        Assert.True(r.GetProperty("eval_duration").GetInt64() > 0);
        Assert.NotEmpty(r.GetProperty("context").EnumerateArray());
        // Greedy decoding is deterministic: the same request gives the same text.
        var (_, again) = await Post("/api/generate",
            """{"model":"qwen2.5:0.5b","prompt":"hello there","stream":false,"options":{"num_predict":7,"temperature":0,"seed":3}}""");
        Assert.Equal(r.GetProperty("response").GetString(), again.GetProperty("response").GetString());
    }

    [Fact]
    public async Task Stop_strings_cut_the_reply_and_end_with_stop()
    {
        var (_, full) = await Post("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"abc","raw":true,"stream":false,"options":{"num_predict":12,"temperature":0}}""");
        var text = full.GetProperty("response").GetString()!;
        Assert.True(text.Length >= 4, text);
        var stop = text.Substring(text.Length / 2, 2);
        var stopJson = JsonSerializer.Serialize(stop, HailoOllamaTestJson.Default.String);
        var body = "{\"model\":\"qwen2.5:0.5b\",\"prompt\":\"abc\",\"raw\":true,\"stream\":false,\"options\":{\"num_predict\":12,\"temperature\":0,\"stop\":[" + stopJson + "]}}";
        var (_, cut) = await Post("/api/generate", body);
        Assert.Equal("stop", cut.GetProperty("done_reason").GetString());
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], cut.GetProperty("response").GetString());
    }

    [Fact]
    public async Task Chat_streams_ndjson_and_ends_with_stats()
    {
        var r = await C.PostAsync("/api/chat", Json("""{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":5,"temperature":0},"keep_alive":"10m"}"""));
        Assert.Equal("application/x-ndjson", r.Content.Headers.ContentType?.MediaType);
        var lines = (await r.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.True(lines.Count >= 2);
        Assert.All(lines[..^1], l => Assert.False(l.GetProperty("done").GetBoolean()));
        Assert.All(lines[..^1], l => Assert.Equal("assistant", l.GetProperty("message").GetProperty("role").GetString()));
        var last = lines[^1];
        Assert.True(last.GetProperty("done").GetBoolean());
        Assert.Equal(5, last.GetProperty("eval_count").GetInt32());
        var ps = JsonDocument.Parse(await C.GetStringAsync("/api/ps")).RootElement.GetProperty("models");
        var loaded = ps.EnumerateArray().Single(x => x.GetProperty("name").GetString() == "qwen2.5:0.5b");
        var expires = loaded.GetProperty("expires_at").GetDateTime();
        Assert.InRange(expires - DateTime.UtcNow, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(11));
    }

    [Fact]
    public async Task Json_format_constrains_the_output_to_a_json_object()
    {
        var (status, r) = await Post("/api/generate",
            """{"model":"qwen2.5:0.5b","prompt":"give json","stream":false,"format":{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]},"options":{"num_predict":40,"temperature":0}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var text = r.GetProperty("response").GetString()!;
        if (r.GetProperty("done_reason").GetString() == "stop")
        {
            var parsed = JsonDocument.Parse(text).RootElement;
            Assert.Equal(JsonValueKind.Object, parsed.ValueKind);
            Assert.True(parsed.GetProperty("ok").ValueKind is JsonValueKind.True or JsonValueKind.False);
        }
        else Assert.StartsWith("{", text.TrimStart()); // the budget ran out inside the object; what came is its start
    }

    [Theory]
    [InlineData("/api/generate", "{not json", 400)]
    [InlineData("/api/generate", """{"model":"nope:1b","prompt":"x"}""", 404)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","options":{"num_predict":-5}}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","options":{"num_ctx":10000000}}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","options":{"temperature":"hot"}}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","images":["aGVsbG8="]}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","keep_alive":"soon"}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","format":"yaml"}""", 400)]
    [InlineData("/api/generate", """{"prompt":"x"}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"x"}],"tools":"all"}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"x","images":["aGVsbG8="]}]}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"wizard","content":"x"}]}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":"hi"}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","options":{"presence_penalty":1e38}}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","options":{"frequency_penalty":-3}}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","context":[1,"a"]}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","template":"{{ .Prompt "}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","template":"{{ if .System }}{{ range .Messages }}{{ end }}"}""", 400)]
    [InlineData("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"x","options":{"num_ctx":32},"truncate":false,"system":"a b c d e f g h i j k l m n o p q r s t u v w x y z a b c d e f g h i j"}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"assistant","content":"x","tool_calls":[5]}]}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"assistant","content":"x","tool_calls":5}]}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":null,"content":"x"}]}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":[null]}""", 400)]
    [InlineData("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"x"}],"options":{"presence_penalty":2.5}}""", 400)]
    [InlineData("/api/embed", """{"model":"qwen2.5:0.5b","input":[""]}""", 400)]
    [InlineData("/api/show", """{"model":"nope"}""", 404)]
    [InlineData("/api/show", "[]", 400)]
    [InlineData("/api/embed", """{"model":"qwen2.5:0.5b","input":[1,2]}""", 400)]
    [InlineData("/api/create", """{"model":"x:1","files":{"a.gguf":"sha256:00"}}""", 400)]
    [InlineData("/api/copy", """{"source":"nope","destination":"x"}""", 404)]
    [InlineData("/api/pull", """{"model":"not-in-catalog:7b"}""", 404)]
    public async Task Bad_input_gets_a_4xx_in_ollamas_shape(string path, string body, int expected)
    {
        var r = await C.PostAsync(path, Json(body));
        Assert.Equal(expected, (int)r.StatusCode);
        var e = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(JsonValueKind.String, e.GetProperty("error").ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("error").GetString()));
    }

    [Theory]
    [InlineData("/v1/chat/completions", "{oops", 400)]
    [InlineData("/v1/chat/completions", """{"model":"nope","messages":[{"role":"user","content":"x"}]}""", 404)]
    [InlineData("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[]}""", 400)]
    [InlineData("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}""", 400)]
    [InlineData("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]}""", 400)]
    [InlineData("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"x"}],"frequency_penalty":1e300}""", 400)]
    [InlineData("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"x"}],"presence_penalty":-2.5}""", 400)]
    [InlineData("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[{"role":"assistant","content":"x","tool_calls":[5]}]}""", 400)]
    [InlineData("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[{"role":"assistant","content":"x","tool_calls":"f"}]}""", 400)]
    [InlineData("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[{"role":null,"content":"x"}]}""", 400)]
    [InlineData("/v1/embeddings", """{"model":"qwen2.5:0.5b","input":[""]}""", 400)]
    [InlineData("/v1/completions", """{"model":"qwen2.5:0.5b","prompt":7}""", 400)]
    [InlineData("/v1/embeddings", """{"model":"qwen2.5:0.5b"}""", 400)]
    public async Task Bad_input_on_v1_gets_openais_error_shape(string path, string body, int expected)
    {
        var r = await C.PostAsync(path, Json(body));
        Assert.Equal(expected, (int)r.StatusCode);
        var e = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString()));
        Assert.Equal("invalid_request_error", e.GetProperty("type").GetString());
        Assert.True(e.TryGetProperty("param", out _));
        Assert.True(e.TryGetProperty("code", out _));
        var missing = await C.GetAsync("/v1/models/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Blob_upload_checks_the_digest_and_create_imports_a_llama_model()
    {
        var path = Path.Combine(f.ModelsDir, "upload.gguf");
        GgufWriter.Write(path, new GgufWriter.Spec("llama"));
        var bytes = await File.ReadAllBytesAsync(path);
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        var wrong = await C.PostAsync("/api/blobs/sha256:" + new string('0', 64), new ByteArrayContent(bytes));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Contains("digest mismatch", await wrong.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await C.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/blobs/sha256:" + digest))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await C.PostAsync("/api/blobs/sha256:" + digest, new ByteArrayContent(bytes))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await C.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/blobs/sha256:" + digest))).StatusCode);
        var (status, _) = await Post("/api/create", $$"""{"model":"tiny-llama:1","files":{"m.gguf":"sha256:{{digest}}"},"stream":false}""");
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _) = await Post("/api/create", """{"model":"tiny-llama:terse","from":"tiny-llama:1","system":"Be terse.","parameters":{"num_predict":3},"stream":false}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var (s2, chat) = await Post("/api/chat", """{"model":"tiny-llama:terse","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"temperature":0}}""");
        Assert.Equal(HttpStatusCode.OK, s2);
        Assert.Equal(3, chat.GetProperty("eval_count").GetInt32()); // the created model's parameter
        var (_, show) = await Post("/api/show", """{"model":"tiny-llama:terse"}""");
        Assert.Equal("Be terse.", show.GetProperty("system").GetString());
        Assert.Equal("llama", show.GetProperty("details").GetProperty("family").GetString());
        Assert.Equal(HttpStatusCode.OK, (await C.PostAsync("/api/copy", Json("""{"source":"tiny-llama:terse","destination":"tiny-llama:copy"}"""))).StatusCode);
        var del = await C.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/delete") { Content = Json("""{"model":"tiny-llama:copy"}""") });
        Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        var del2 = await C.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/delete") { Content = Json("""{"model":"tiny-llama:copy"}""") });
        Assert.Equal(HttpStatusCode.NotFound, del2.StatusCode);
        // Unload right after: keep_alive 0 with an empty prompt.
        var (_, unload) = await Post("/api/generate", """{"model":"tiny-llama:terse","keep_alive":0,"stream":false}""");
        Assert.Equal("unload", unload.GetProperty("done_reason").GetString());
        var ps = JsonDocument.Parse(await C.GetStringAsync("/api/ps")).RootElement.GetProperty("models");
        Assert.DoesNotContain(ps.EnumerateArray(), x => x.GetProperty("name").GetString() == "tiny-llama:terse");
    }

    [Fact]
    public async Task Embeddings_are_normalised_vectors()
    {
        var (status, r) = await Post("/api/embed", """{"model":"qwen2.5:0.5b","input":["a b c","d"]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var e = r.GetProperty("embeddings").EnumerateArray().ToList();
        Assert.Equal(2, e.Count);
        var v = e[0].EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(32, v.Length);
        Assert.Equal(1.0, Math.Sqrt(v.Sum(x => x * x)), 3);
        var (_, legacy) = await Post("/api/embeddings", """{"model":"qwen2.5:0.5b","prompt":"a b c"}""");
        Assert.Equal(32, legacy.GetProperty("embedding").GetArrayLength());
    }

    [Fact]
    public async Task Load_then_keep_alive_forever()
    {
        var (_, r) = await Post("/api/chat", """{"model":"qwen2.5:0.5b","messages":[],"keep_alive":-1,"stream":false}""");
        Assert.Equal("load", r.GetProperty("done_reason").GetString());
        var ps = JsonDocument.Parse(await C.GetStringAsync("/api/ps")).RootElement.GetProperty("models");
        var m = ps.EnumerateArray().Single(x => x.GetProperty("name").GetString() == "qwen2.5:0.5b");
        Assert.True(m.GetProperty("expires_at").GetDateTime() > DateTime.UtcNow.AddYears(10));
    }
}


[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class HailoOllamaTestJson : System.Text.Json.Serialization.JsonSerializerContext;
