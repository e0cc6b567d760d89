using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hailo.TestSupport;
using HailoOllama;
using Hailo.GenAI.Http;
using HailoOllama.Api;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Hailo.Ollama.Tests;

/// <summary>
/// /api/pull and /api/blobs on a service of their own. Pulls go to a slow HTTP server on 127.0.0.1: the service's
/// download client is given a handler that sends every catalog address to the file of the same name there (what
/// HAILO_MODELS_MIRROR does for the binary).
/// </summary>
public sealed class StoreApiTests : IAsyncLifetime
{
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-ollama-store-").FullName;
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
        OllamaFixture.WriteDefaultModel(_models);
        _service = await RunningService.StartAsync(OllamaService.Definition, OllamaFixture.Config(_models),
            b => b.Services.AddSingleton<IHttpClientFactoryLite>(new ServerClient(_server)));
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static byte[] Gguf(string dir, int seed)
    {
        var path = Path.Combine(dir, $"tmp-{seed}.gguf");
        GgufWriter.Write(path, new GgufWriter.Spec("qwen2", Embd: 64, Ff: 128, Seed: seed));
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);
        return bytes;
    }

    [Fact]
    public async Task Pull_streams_progress_while_the_file_downloads_and_says_the_model_is_unverified()
    {
        var file = Gguf(_models, 7);
        _server.Serve("qwen2.5-1.5b-instruct-q4_k_m.gguf", file);
        _server.ChunkBytes = Math.Max(1, file.Length / 30);
        _server.Pause = TimeSpan.FromMilliseconds(50); // 30 chunks: 1.5 s
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/pull") { Content = Json("""{"model":"qwen2.5:1.5b"}""") };
        using var r = await C.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("application/x-ndjson", r.Content.Headers.ContentType?.MediaType);
        using var lines = new StreamReader(await r.Content.ReadAsStreamAsync());
        var seen = new List<(JsonElement Line, bool DownloadOver)>();
        while (await lines.ReadLineAsync() is { } line)
            seen.Add((JsonDocument.Parse(line).RootElement.Clone(), _server.Completed > 0));
        var log = string.Join("\n", seen.Select(s => s.Line.ToString()));
        // Lines with completed/total came while the server was still sending.
        var early = seen.Where(s => !s.DownloadOver && s.Line.TryGetProperty("completed", out var c) && c.GetInt64() > 0 && c.GetInt64() < file.Length).ToList();
        Assert.True(early.Count >= 2, "progress lines before the download ended:\n" + log);
        Assert.All(early, s => Assert.Equal(file.Length, s.Line.GetProperty("total").GetInt64()));
        var statuses = seen.Select(s => s.Line.GetProperty("status").GetString()!).ToList();
        Assert.Equal("pulling manifest", statuses[0]);
        Assert.Equal("success", statuses[^1]);
        Assert.Contains(statuses, s => s.StartsWith("unverified: the catalog pins no sha256 for qwen2.5-1.5b-instruct-q4_k_m.gguf", StringComparison.Ordinal));
        Assert.DoesNotContain(statuses, s => s.Contains("verifying", StringComparison.Ordinal));
        // The pulled model is listed and runs.
        var tags = JsonDocument.Parse(await C.GetStringAsync("/api/tags")).RootElement;
        Assert.Contains(tags.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == "qwen2.5:1.5b");
        var g = await C.PostAsync("/api/generate", Json("""{"model":"qwen2.5:1.5b","prompt":"hi","stream":false,"options":{"num_predict":2}}"""));
        Assert.Equal(HttpStatusCode.OK, g.StatusCode);
        // Pulled again, it is there already; without streaming the answer says it is unverified.
        var again = await C.PostAsync("/api/pull", Json("""{"model":"qwen2.5:1.5b","stream":false}"""));
        var body = JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("success", body.GetProperty("status").GetString());
        Assert.False(body.GetProperty("verified").GetBoolean());
    }

    /// <summary>A request body that sends its first half, then waits for <see cref="Go"/> before the rest.</summary>
    private sealed class HeldContent(byte[] bytes, Task go) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
            await stream.FlushAsync();
            await go;
            await stream.WriteAsync(bytes.AsMemory(bytes.Length / 2));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }

    [Fact]
    public async Task Two_simultaneous_uploads_of_one_blob_both_succeed_and_leave_it_whole()
    {
        var bytes = Gguf(_models, 8);
        var digest = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var go = new TaskCompletionSource();
        var uploads = Enumerable.Range(0, 2).Select(_ => C.PostAsync("/api/blobs/sha256:" + digest, new HeldContent(bytes, go.Task))).ToList();
        // Both are past the "already there?" check and writing before either finishes.
        var blobs = Path.Combine(_models, "blobs");
        var wait = Stopwatch.StartNew();
        while (!(Directory.Exists(blobs) && Directory.EnumerateFiles(blobs).Count() >= 2))
        {
            Assert.True(wait.Elapsed < TimeSpan.FromSeconds(20), "the two uploads did not both start");
            await Task.Delay(10);
        }
        go.SetResult();
        var responses = await Task.WhenAll(uploads);
        foreach (var r in responses)
            Assert.True(r.StatusCode == HttpStatusCode.Created, $"{(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}");
        Assert.Equal(["sha256-" + digest], Directory.EnumerateFiles(blobs).Select(Path.GetFileName));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(blobs, "sha256-" + digest)));
        var create = await C.PostAsync("/api/create", Json($$"""{"model":"uploaded:1","files":{"m.gguf":"sha256:{{digest}}"},"stream":false}"""));
        Assert.Equal(HttpStatusCode.OK, create.StatusCode);
    }
}
