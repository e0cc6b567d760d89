using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.GenAI;
using Hailo.TestSupport;
using HailoOllama;
using HailoOllama.Api;
using Microsoft.Extensions.DependencyInjection;
using OllamaSharp;
using OllamaSharp.Models;
using Xunit;

namespace Hailo.Ollama.Tests;

/// <summary>
/// A random-weight qwen2 GGUF big enough that a generation to the end of its 4096-token context takes many seconds
/// (Q8_0, 512 wide, 8 layers), as the default model; one CPU thread, at most two waiting requests.
/// </summary>
public class SlowModelFixture : IAsyncLifetime
{
    public string ModelsDir { get; } = Directory.CreateTempSubdirectory("hailo-ollama-slow-").FullName;
    public RunningService Service { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var dir = Path.Combine(ModelsDir, "qwen2.5:0.5b");
        Directory.CreateDirectory(dir);
        GgufWriter.Write(Path.Combine(dir, "qwen2.5-0.5b-instruct-q4_k_m.gguf"),
            new GgufWriter.Spec("qwen2", Embd: 512, Layers: 8, Heads: 8, KvHeads: 2, Ff: 2048, Context: 8192, Seed: 3, Q8: true));
        var c = OllamaFixture.Config(ModelsDir);
        c.Ollama.NumCtx = 4096;
        Configure(c);
        Service = await RunningService.StartAsync(OllamaService.Definition, c);
        await Service.StartupCompleted;
    }

    protected virtual void Configure(OllamaConfig c) { }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        Directory.Delete(ModelsDir, true);
    }
}

/// <summary>The slow model with ollama.max_queue_wait_seconds at 2.</summary>
public sealed class ShortQueueWaitFixture : SlowModelFixture
{
    protected override void Configure(OllamaConfig c) => c.Ollama.MaxQueueWaitSeconds = 2;
}

/// <summary>A request that waits longer than max_queue_wait_seconds behind a long generation is told so.</summary>
public sealed class QueueWaitTests(ShortQueueWaitFixture f) : IClassFixture<ShortQueueWaitFixture>
{
    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_request_waiting_beyond_max_queue_wait_gets_503_with_retry_after_and_the_running_one_goes_on()
    {
        var c = f.Service.Client;
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var req = new HttpRequestMessage(HttpMethod.Post, "/api/generate")
        { Content = Json("""{"model":"qwen2.5:0.5b","prompt":"go on","options":{"num_predict":-2,"temperature":0}}""") };
        using var running = await c.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, running.StatusCode);
        using var lines = new StreamReader(await running.Content.ReadAsStreamAsync(cts.Token));
        Assert.NotNull(await lines.ReadLineAsync(cts.Token));

        var clock = Stopwatch.StartNew();
        var waited = await c.PostAsync("/api/generate", Json("""{"model":"qwen2.5:0.5b","prompt":"behind it","stream":false}"""), cts.Token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, waited.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"refused after {clock.Elapsed.TotalSeconds:0.0} s, before its 2 s wait");
        Assert.True(waited.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After");
        Assert.Contains("busy for 2 s", JsonDocument.Parse(await waited.Content.ReadAsStringAsync(cts.Token)).RootElement.GetProperty("error").GetString());
        // OpenAI's family gets its own shape.
        var v1 = await c.PostAsync("/v1/chat/completions", Json("""{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"x"}]}"""), cts.Token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, v1.StatusCode);
        Assert.NotNull(v1.Headers.RetryAfter);
        Assert.Contains("busy", JsonDocument.Parse(await v1.Content.ReadAsStringAsync(cts.Token)).RootElement.GetProperty("error").GetProperty("message").GetString());
        // The long generation was not disturbed: it still streams.
        Assert.NotNull(await lines.ReadLineAsync(cts.Token));
        Assert.Equal(0, f.Service.App.Services.GetRequiredService<CompletionEngine>().Scheduler.QueueLength);
    }
}

/// <summary>Cancellation by the client, the queue bound (503 + Retry-After), concurrent requests on one context.</summary>
public sealed class SchedulingTests(SlowModelFixture f) : IClassFixture<SlowModelFixture>
{
    private HttpClient C => f.Service.Client;
    private int QueueLength => f.Service.App.Services.GetRequiredService<CompletionEngine>().Scheduler.QueueLength;

    private static StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

    /// <summary>A streamed generation that would run to the end of the context, once its first chunk has come.</summary>
    private async Task<(HttpResponseMessage Response, StreamReader Lines)> StartLongAsync(CancellationToken ct)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, "/api/generate")
        { Content = Json("""{"model":"qwen2.5:0.5b","prompt":"go on","options":{"num_predict":-2,"temperature":0}}""") };
        var r = await C.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var lines = new StreamReader(await r.Content.ReadAsStreamAsync(ct));
        Assert.NotNull(await lines.ReadLineAsync(ct));
        return (r, lines);
    }

    [Fact]
    public async Task A_long_generation_is_work_that_keeps_reporting_progress_to_the_watchdog()
    {
        // The watchdog withholds its ping when some work has made no progress for a while (ServiceState.LongestStall);
        // a generation must be such work, and every token must count as progress, however long it runs.
        var state = f.Service.App.Services.GetRequiredService<Hailo.Hosting.ServiceState>();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var (r, lines) = await StartLongAsync(cts.Token);
        using (r)
        {
            var started = Stopwatch.StartNew();
            while (started.Elapsed < TimeSpan.FromSeconds(3)) Assert.NotNull(await lines.ReadLineAsync(cts.Token));
            var age = state.OldestWorkAge;
            var stall = state.LongestStall;
            Assert.True(age >= TimeSpan.FromSeconds(3), $"no generation is in flight as work (oldest work {age})");
            Assert.True(stall < TimeSpan.FromSeconds(2), $"the generation reported no progress for {stall} while streaming tokens");
            cts.Cancel();
        }
        var deadline = Stopwatch.StartNew();
        while (state.OldestWorkAge > TimeSpan.Zero && deadline.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50);
        Assert.Equal(TimeSpan.Zero, state.OldestWorkAge);
    }

    [Fact]
    public async Task A_client_that_disconnects_stops_its_generation()
    {
        var engine = f.Service.App.Services.GetRequiredService<CompletionEngine>();
        var before = engine.Aborted;
        using var c = new OllamaApiClient(C, "qwen2.5:0.5b");
        using var cts = new CancellationTokenSource();
        var seen = new List<string>();
        var e = await Record.ExceptionAsync(async () =>
        {
            await foreach (var s in c.GenerateAsync(new GenerateRequest { Model = "qwen2.5:0.5b", Prompt = "never ending", Options = new RequestOptions { NumPredict = -2, Temperature = 0 } }, cts.Token))
            {
                seen.Add(JsonSerializer.Serialize(s, s!.GetType(), c.OutgoingJsonSerializerOptions));
                if (seen.Count == 3) cts.Cancel();
            }
        });
        // OllamaSharp ends the enumeration (or throws OperationCanceledException) once its token is cancelled.
        Assert.True(e is null or OperationCanceledException, e?.ToString());
        Assert.Equal(3, seen.Count);
        // The engine counts an aborted generation once it has stopped, with the tokens it produced. Uncancelled,
        // the generation would run to the end of the 4096-token context; stopped at the disconnect it produced the 3
        // the client read and those made while the disconnect was noticed, which with the tiny stand-in model is up to
        // a few hundred (415 seen with the other test projects running alongside): half the context is the bound.
        var wait = Stopwatch.StartNew();
        while (engine.Aborted.Generations == before.Generations && wait.Elapsed < TimeSpan.FromMinutes(2)) await Task.Delay(20);
        var (generations, tokens) = engine.Aborted;
        Assert.Equal(before.Generations + 1, generations);
        var produced = tokens - before.Tokens;
        Assert.InRange(produced, 3, 2048);
        // The model is free again: the next request is served.
        var r = await C.PostAsync("/api/generate", Json("""{"model":"qwen2.5:0.5b","prompt":"next","stream":false,"options":{"num_predict":2}}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task Beyond_max_queued_requests_waiting_the_service_answers_503_with_retry_after()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var (running, lines) = await StartLongAsync(cts.Token);
        // max_queued_requests is 2: two requests wait behind the running one...
        var waiting = Enumerable.Range(0, 2).Select(_ => C.PostAsync("/api/generate",
            Json("""{"model":"qwen2.5:0.5b","prompt":"queued","stream":false,"options":{"num_predict":2}}"""), cts.Token)).ToList();
        while (QueueLength < 2) await Task.Delay(10, cts.Token);
        // ...a third is refused at once, in Ollama's error shape, and so is one under /v1 in OpenAI's.
        var refused = await C.PostAsync("/api/generate", Json("""{"model":"qwen2.5:0.5b","prompt":"one too many","stream":false}"""), cts.Token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After");
        Assert.Contains("waiting", JsonDocument.Parse(await refused.Content.ReadAsStringAsync(cts.Token)).RootElement.GetProperty("error").GetString());
        var v1 = await C.PostAsync("/v1/chat/completions", Json("""{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"x"}]}"""), cts.Token);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, v1.StatusCode);
        Assert.NotNull(v1.Headers.RetryAfter);
        Assert.True(JsonDocument.Parse(await v1.Content.ReadAsStringAsync(cts.Token)).RootElement.GetProperty("error").TryGetProperty("message", out _));
        // The client of the long generation goes away: the waiting two are served.
        lines.Dispose();
        running.Dispose();
        foreach (var w in waiting) Assert.Equal(HttpStatusCode.OK, (await w).StatusCode);
    }

    [Fact]
    public async Task Concurrent_requests_get_the_same_replies_as_one_after_another()
    {
        // One context per model is reused across requests (only a prompt's new part is evaluated): interleaved
        // requests must not see each other's state. Greedy decoding makes each reply a function of its prompt.
        string Body(int i) => $$$"""{"model":"qwen2.5:0.5b","prompt":"prompt number {{{i}}} {{{new string('x', i)}}}","stream":false,"options":{"num_predict":6,"temperature":0}}""";
        async Task<string> Reply(int i)
        {
            var r = await C.PostAsync("/api/generate", Json(Body(i)));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("response").GetString()!;
        }
        var sequential = new List<string>();
        for (var i = 0; i < 3; i++) sequential.Add(await Reply(i));
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 3).Reverse().Select(Reply));
        Assert.Equal(sequential, concurrent.Reverse());
        Assert.Equal(3, sequential.Distinct().Count());
    }
}
