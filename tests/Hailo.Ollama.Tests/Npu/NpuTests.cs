using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using HailoOllama;
using Xunit;

namespace Hailo.Ollama.Tests.Npu;

/// <summary>
/// The NPU path (HailoRT genai::LLM through the shim) against the shim's fake backend: a fake LLM streams the user's
/// message (or the raw prompt) back token by token, one token every 10 ms. What is proven is the service
/// around the device: message passing, streaming, counts, abort on disconnect, the KV-cache conflict as 503.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuTests : IAsyncLifetime
{
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-ollama-npu-").FullName;
    private RunningService _service = null!;
    private HttpClient C => _service.Client;

    /// <summary>A fake HEF LLM installed as qwen2.5:1.5b for the NPU; the fake reads the .hef as its JSON description.</summary>
    internal static void WriteFakeHef(string modelsDir, int tokenDelayMs = 10)
    {
        var dir = Path.Combine(modelsDir, "qwen2.5:1.5b-hef");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "Qwen2.5-1.5B-Instruct.hef"),
            $$"""{"kind": "llm", "context_size": 4096, "token_delay_ms": {{tokenDelayMs}}}""");
    }

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        WriteFakeHef(_models);
        var c = OllamaFixture.Config(_models);
        c.Device = Backend.Npu;
        c.Ollama.DefaultModel = "qwen2.5:1.5b";
        _service = await RunningService.StartAsync(OllamaService.Definition, c);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    private async Task<(HttpStatusCode, JsonElement, HttpResponseMessage)> Post(string path, string json)
    {
        var r = await C.PostAsync(path, Json(json));
        return (r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement, r);
    }

    [Fact]
    public async Task Health_reports_the_npu_and_the_model_ready()
    {
        var h = JsonDocument.Parse(await C.GetStringAsync("/health")).RootElement;
        Assert.Equal("npu", h.GetProperty("backend").GetString());
        Assert.True(h.GetProperty("ready").GetBoolean(), h.ToString());
        var tags = JsonDocument.Parse(await C.GetStringAsync("/api/tags")).RootElement.GetProperty("models");
        Assert.Contains(tags.EnumerateArray(), m => m.GetProperty("name").GetString() == "qwen2.5:1.5b");
    }

    [Fact]
    public async Task Chat_goes_to_the_device_as_messages_and_streams_back()
    {
        var req = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        { Content = Json("""{"model":"qwen2.5:1.5b","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello from the npu test"}]}""") };
        using var r = await C.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var lines = (await r.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var text = string.Concat(lines.Where(l => !l.GetProperty("done").GetBoolean()).Select(l => l.GetProperty("message").GetProperty("content").GetString()));
        Assert.Equal("hello from the npu test", text.Trim()); // the fake echoes the last user message
        var done = lines[^1];
        Assert.True(done.GetProperty("done").GetBoolean());
        Assert.Equal(lines.Count - 1, done.GetProperty("eval_count").GetInt32());
        Assert.True(done.GetProperty("prompt_eval_count").GetInt32() > 0);
    }

    [Fact]
    public async Task Generate_sends_the_prompt_raw_and_num_predict_ends_with_length()
    {
        var (status, r, _) = await Post("/api/generate", """{"model":"qwen2.5:1.5b","prompt":"one two three four five six","stream":false}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("one two three four five six", r.GetProperty("response").GetString()!.Trim());
        Assert.Equal("stop", r.GetProperty("done_reason").GetString());
        (status, r, _) = await Post("/api/generate", """{"model":"qwen2.5:1.5b","prompt":"one two three four five six","stream":false,"options":{"num_predict":2}}""");
        Assert.Equal(2, r.GetProperty("eval_count").GetInt32());
        Assert.Equal("length", r.GetProperty("done_reason").GetString());
    }

    [Fact]
    public async Task Format_is_refused_on_the_npu_which_has_no_constrained_decoding()
    {
        var (status, r, _) = await Post("/api/generate", """{"model":"qwen2.5:1.5b","prompt":"x","format":"json","stream":false}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("NPU", r.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_client_that_disconnects_aborts_the_generation_on_the_device()
    {
        // The fake echoes the prompt at 10 ms a token: this one would stream for seconds.
        var words = string.Join(' ', Enumerable.Range(0, 400).Select(i => "w" + i));
        var full = Stopwatch.StartNew();
        var (_, whole, _) = await Post("/api/generate", $$"""{"model":"qwen2.5:1.5b","prompt":"{{words}}","stream":false}""");
        var fullRun = full.Elapsed;
        Assert.True(fullRun.TotalSeconds > 1.5, $"a full run took {fullRun.TotalSeconds:F2} s ({whole.GetProperty("eval_count")} tokens)");

        // A client that reads a few chunks and closes its connection (a raw socket: HttpClient would drain the rest).
        var sw = Stopwatch.StartNew();
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(_service.BaseAddress.Host, _service.BaseAddress.Port);
            var body = Encoding.UTF8.GetBytes($$"""{"model":"qwen2.5:1.5b","prompt":"{{words}}"}""");
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /api/generate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n"));
            await stream.WriteAsync(body);
            var got = 0;
            var buf = new byte[4096];
            while (got < 3)
            {
                var n = await stream.ReadAsync(buf);
                Assert.True(n > 0);
                got += buf.AsSpan(0, n).Count((byte)'}');
            }
        }
        var (status, next, _) = await Post("/api/generate", """{"model":"qwen2.5:1.5b","prompt":"after","stream":false}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("after", next.GetProperty("response").GetString()!.Trim());
        Assert.True(sw.Elapsed < fullRun / 2, $"the next request finished {sw.Elapsed.TotalSeconds:F2} s after the first started; a full run takes {fullRun.TotalSeconds:F2} s");
    }

    [Fact]
    public async Task The_kv_cache_held_elsewhere_is_a_503_with_retry_after()
    {
        var (_, unload, _) = await Post("/api/generate", """{"model":"qwen2.5:1.5b","keep_alive":0,"stream":false}""");
        Assert.Equal("unload", unload.GetProperty("done_reason").GetString());
        using (FakeShim.Faults("kv_cache_in_use"))
        {
            var (status, r, resp) = await Post("/api/chat", """{"model":"qwen2.5:1.5b","messages":[{"role":"user","content":"hi"}],"stream":false}""");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.True(resp.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            Assert.Contains("KV cache", r.GetProperty("error").GetString());
            var v1 = await C.PostAsync("/v1/chat/completions", Json("""{"model":"qwen2.5:1.5b","messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, v1.StatusCode);
            Assert.NotNull(v1.Headers.RetryAfter);
        }
        // Once the device is free the same request loads the model and answers.
        var (ok, again, _) = await Post("/api/chat", """{"model":"qwen2.5:1.5b","messages":[{"role":"user","content":"hi"}],"stream":false}""");
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal("hi", again.GetProperty("message").GetProperty("content").GetString()!.Trim());
    }
}
