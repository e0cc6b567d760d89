using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.GenAI.Http;
using Hailo.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit;
using static Hailo.VisionService.Tests.VisionFixture;

namespace Hailo.VisionService.Tests;

/// <summary>
/// /api/pull on a service of its own (NPU backend on the fake, no model installed yet). Downloads go to a slow HTTP
/// server on 127.0.0.1: the service's download client is given a handler that sends every catalog address to the file
/// of the same name there (what HAILO_MODELS_MIRROR does for the binary). The file served is the fake VLM's stand-in
/// HEF, so a pulled model that answers a chat proves the file landed where the registry looks.
/// </summary>
[Collection("fake-shim")]
public sealed class PullApiTests : IAsyncLifetime
{
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-vision-pull-").FullName;
    private readonly SlowFileServer _server = new();
    private RunningService _service = null!;
    private HttpClient C => _service.Client;

    private sealed class ToServer(SlowFileServer server) : DelegatingHandler(new HttpClientHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            request.RequestUri = new Uri(server.Url(Path.GetFileName(request.RequestUri!.AbsolutePath)));
            return base.SendAsync(request, ct);
        }
    }

    private sealed class ServerClient(SlowFileServer server) : IHttpClientFactoryLite
    {
        public HttpClient Client { get; } = new(new ToServer(server));
    }

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        _service = await RunningService.StartAsync(HailoVision.VisionService.Definition, Config(_models),
            b => b.Services.AddSingleton<IHttpClientFactoryLite>(new ServerClient(_server)));
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private static StringContent J(string json) => new(json, Encoding.UTF8, "application/json");

    private static byte[] FakeHef()
    {
        var dir = Directory.CreateTempSubdirectory("hailo-vision-hef-").FullName;
        WriteFakeHef(dir, tokenDelayMs: 0);
        var bytes = File.ReadAllBytes(Path.Combine(dir, "qwen2-vl:2b-hef", "Qwen2-VL-2B-Instruct.hef"));
        Directory.Delete(dir, true);
        // Padded (JSON allows trailing whitespace) so the download takes several chunks.
        return [.. bytes, .. Enumerable.Repeat((byte)' ', 40_000)];
    }

    [Fact]
    public async Task Pull_streams_progress_then_success_and_the_model_answers()
    {
        var hef = FakeHef();
        _server.Serve("Qwen2-VL-2B-Instruct.hef", hef);
        _server.ChunkBytes = hef.Length / 20;
        _server.Pause = TimeSpan.FromMilliseconds(30);
        var (status0, before) = await Chat();
        Assert.Equal(404, status0);
        Assert.Contains("pull", before.GetProperty("error").GetString());

        using var r = await C.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/pull") { Content = J("""{"model":"qwen2-vl:2b"}""") }, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("application/x-ndjson", r.Content.Headers.ContentType?.MediaType);
        using var lines = new StreamReader(await r.Content.ReadAsStreamAsync());
        var seen = new List<(JsonElement Line, bool Over)>();
        while (await lines.ReadLineAsync() is { } line)
            seen.Add((JsonDocument.Parse(line).RootElement.Clone(), _server.Completed > 0));
        var log = string.Join("\n", seen.Select(s => s.Line.ToString()));
        var statuses = seen.Select(s => s.Line.GetProperty("status").GetString()).ToList();
        Assert.Equal("pulling manifest", statuses[0]);
        Assert.Equal("success", statuses[^1]);
        var early = seen.Where(s => !s.Over && s.Line.TryGetProperty("completed", out var c) && c.GetInt64() > 0 && c.GetInt64() < hef.Length).ToList();
        Assert.True(early.Count >= 2, "progress lines while the server was still sending:\n" + log);
        Assert.All(early, s => Assert.Equal(hef.Length, s.Line.GetProperty("total").GetInt64()));
        Assert.Contains(statuses, s => s!.StartsWith("unverified", StringComparison.Ordinal));
        Assert.Equal(hef, File.ReadAllBytes(Path.Combine(_models, "qwen2-vl:2b-hef", "Qwen2-VL-2B-Instruct.hef")));

        var tags = JsonDocument.Parse(await C.GetStringAsync("/api/tags")).RootElement;
        Assert.Contains(tags.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == "qwen2-vl:2b");
        var (status, body) = await Chat();
        Assert.True(status == 200, body.ToString());
        Assert.Equal("<image0:mean=85> hi", body.GetProperty("message").GetProperty("content").GetString()!.Trim());

        // Again, not streamed: one object; nothing fetched a second time.
        var requests = _server.Requests.Count;
        var again = await C.PostAsync("/api/pull", J("""{"model":"qwen2-vl:2b","stream":false}"""));
        var one = JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("success", one.GetProperty("status").GetString());
        Assert.False(one.GetProperty("verified").GetBoolean());
        Assert.Equal(requests, _server.Requests.Count);
    }

    private async Task<(int, JsonElement)> Chat()
    {
        var red = B64(Png(255, 0, 0));
        var r = await C.PostAsync("/api/chat", J($$"""{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"hi","images":["{{red}}"]}]}"""));
        return ((int)r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement);
    }

    [Fact]
    public async Task A_failed_download_is_502_unstreamed_and_an_error_line_streamed()
    {
        // The server has no such file: 404 upstream.
        var r = await C.PostAsync("/api/pull", J("""{"model":"qwen2-vl:2b","stream":false}"""));
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(502, (int)r.StatusCode);
        Assert.Contains("pulling qwen2-vl:2b failed", body.GetProperty("error").GetString());
        var s = await C.PostAsync("/api/pull", J("""{"model":"qwen2-vl:2b"}"""));
        var last = (await s.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.Contains("failed", JsonDocument.Parse(last).RootElement.GetProperty("error").GetString());
        Assert.False(File.Exists(Path.Combine(_models, "qwen2-vl:2b-hef", "Qwen2-VL-2B-Instruct.hef")));
    }

    public static TheoryData<string, int> Garbage() => new()
    {
        { """{"model":"no-such-model"}""", 404 },
        { """{"model":"smolvlm:256m"}""", 404 }, // a CPU model on the NPU backend
        { """{"model":"../../etc/passwd"}""", 400 },
        { """{"model":5}""", 400 },
        { """{}""", 400 },
        { """[1,2]""", 400 },
        { """{"model":"qwen2-vl:2b","stream":"yes"}""", 400 },
        { "not json", 400 },
        { "{\"model\":\"" + new string('a', 10_000) + "\"}", 400 },
    };

    [Theory]
    [MemberData(nameof(Garbage))]
    public async Task Garbage_is_4xx_in_ollamas_shape_and_fetches_nothing(string json, int expected)
    {
        var r = await C.PostAsync("/api/pull", J(json));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode == expected, $"{(int)r.StatusCode} {text}");
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse(text).RootElement.GetProperty("error").ValueKind);
        Assert.Empty(_server.Requests);
    }
}
