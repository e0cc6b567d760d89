using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Ollama.Tests.Process;

/// <summary>
/// The hailo-ollama executable itself: systemd notify datagrams, generation on the CPU with a generated GGUF, the NPU
/// backend through the fake shim, the degraded start without a model, SIGTERM, commands. Runs the JIT build by
/// default, the Native AOT binary when AOT_BINARY_HAILO_OLLAMA names it (`make test-aot`).
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-ollama")
{
    private static StringContent JsonBody(string s) => new(s, Encoding.UTF8, "application/json");

    /// <summary>Never the machine's system bus: KV-cache arbitration has its own tests (KvCacheProcessTests).</summary>
    protected override string[] Args(params string[] extra) => base.Args(["--kv_cache.bus", "none", .. extra]);

    [Fact]
    public async Task Cpu_backend_loads_the_gguf_notifies_ready_generates_and_stops_on_sigterm()
    {
        OllamaFixture.WriteDefaultModel(Models);
        await using var p = StartWithWatchdog(Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        AssertDatagram(p, "STATUS=ready (cpu", "qwen2.5:0.5b");
        var r = await p.Client.PostAsync("/api/generate", JsonBody("""{"model":"qwen2.5:0.5b","prompt":"Hello","stream":false,"options":{"num_predict":5}}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(5, (await Json(r)).GetProperty("eval_count").GetInt32());
        var v1 = await p.Client.PostAsync("/v1/chat/completions", JsonBody("""{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"hi"}],"max_tokens":3}"""));
        Assert.Equal(3, (await Json(v1)).GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        await AssertStopsCleanlyOnSigterm(p);
    }

    [AotFact("hailo-ollama")]
    public async Task The_aot_binary_loads_and_generates_where_memory_may_not_be_writable_and_executable()
    {
        // The package's unit has MemoryDenyWriteExecute=yes: llama.cpp's log callback must not need a run-time thunk.
        OllamaFixture.WriteDefaultModel(Models);
        await using var p = StartDenyingWriteExecute(Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        var r = await p.Client.PostAsync("/api/generate", JsonBody("""{"model":"qwen2.5:0.5b","prompt":"Hello","stream":false,"options":{"num_predict":4}}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(4, (await Json(r)).GetProperty("eval_count").GetInt32());
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim()
    {
        Npu.NpuTests.WriteFakeHef(Models, tokenDelayMs: 1);
        await using var p = await StartOnFakeNpu("--ollama.default_model", "qwen2.5:1.5b");
        var r = await p.Client.PostAsync("/api/chat", JsonBody("""{"model":"qwen2.5:1.5b","messages":[{"role":"user","content":"echo this back"}],"stream":false}"""));
        Assert.Equal("echo this back", (await Json(r)).GetProperty("message").GetProperty("content").GetString()!.Trim());
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_names_the_command_that_fixes_it()
    {
        await using var p = Start(Args("--device", "cpu"));
        var fix = $"hailo-ollama pull qwen2.5:0.5b --models-dir {Models}";
        var health = await AssertStartsDegraded(p, fix);
        Assert.Equal(fix, health.GetProperty("fix").GetString());
        var r = await p.Client.PostAsync("/api/generate", JsonBody("""{"model":"qwen2.5:0.5b","prompt":"x","stream":false}"""));
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Contains("hailo-ollama pull qwen2.5:0.5b", (await Json(r)).GetProperty("error").GetString());
        // Once the file is there, the next request loads it: no restart.
        OllamaFixture.WriteDefaultModel(Models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/api/generate", JsonBody("""{"model":"qwen2.5:0.5b","prompt":"x","stream":false,"options":{"num_predict":2}}"""))).StatusCode);
    }

    [Fact]
    public async Task Commands_work()
    {
        await AssertCommandPrints(["models", "--config", "/dev/null", "--models-dir", Models], "qwen2.5:0.5b");
        await AssertCommandPrints(["print-config", "--config", "/dev/null"], "port: 11434");
    }

    [Fact]
    public async Task Sigterm_with_a_generation_running_lets_it_end_before_the_model_is_freed()
    {
        // A model slow enough that the generation is still running when the stop comes (it would fill 4096 tokens).
        var dir = Path.Combine(Models, "qwen2.5:0.5b");
        Directory.CreateDirectory(dir);
        GgufWriter.Write(Path.Combine(dir, "qwen2.5-0.5b-instruct-q4_k_m.gguf"),
            new GgufWriter.Spec("qwen2", Embd: 512, Layers: 8, Heads: 8, KvHeads: 2, Ff: 2048, Context: 8192, Seed: 3, Q8: true));
        await using var p = Start(Args("--device", "cpu", "--ollama.num_ctx", "4096", "--server.shutdown_timeout_seconds", "2"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        var req = new HttpRequestMessage(HttpMethod.Post, "/api/generate")
        { Content = JsonBody("""{"model":"qwen2.5:0.5b","prompt":"go on","options":{"num_predict":-2,"temperature":0}}""") };
        using var r = await p.Client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        using var lines = new StreamReader(await r.Content.ReadAsStreamAsync());
        Assert.NotNull(await lines.ReadLineAsync());
        p.Signal(SigTerm);
        // The server drains for its shutdown time, then cancels the request; the stream ends either way.
        try { while (await lines.ReadLineAsync() is not null) { } }
        catch (Exception e) when (e is IOException or HttpRequestException) { }
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromSeconds(30)));
        await Task.Delay(100); // the output readers drain
        var log = p.Stdout + p.Stderr;
        Assert.DoesNotContain("ObjectDisposedException", log);
        Assert.DoesNotContain("Unhandled exception", log);
        // The generation stopped (cancelled by the server's stop) and only then was the model freed.
        var stopped = log.IndexOf("generation stopped", StringComparison.Ordinal);
        var freed = log.IndexOf("unloading model qwen2.5:0.5b (stopping)", StringComparison.Ordinal);
        Assert.True(stopped >= 0 && freed > stopped, log);
    }

    /// <summary>A small qwen2 GGUF's bytes (a model that loads and generates).</summary>
    private byte[] SmallGguf(int seed)
    {
        var path = Path.Combine(Models, $"gguf-{seed}.tmp");
        GgufWriter.Write(path, new GgufWriter.Spec("qwen2", Embd: 64, Ff: 128, Seed: seed));
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);
        return bytes;
    }

    /// <summary>A request body sent in small pieces with a pause between them.</summary>
    private sealed class TrickleContent(byte[] bytes, int piece, TimeSpan pause) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var at = 0; at < bytes.Length; at += piece)
            {
                await stream.WriteAsync(bytes.AsMemory(at, Math.Min(piece, bytes.Length - at)));
                await stream.FlushAsync();
                await Task.Delay(pause);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }

    private static async Task<string> Upload(ServiceProcess p, byte[] bytes, TimeSpan pause)
    {
        var digest = Convert.ToHexStringLower(SHA256.HashData(bytes));
        // Slow uploads come in 40 pieces, so a kill lands in the middle of one as often as after it.
        var piece = pause > TimeSpan.Zero ? Math.Max(1, bytes.Length / 40) : bytes.Length;
        var r = await p.Client.PostAsync("/api/blobs/sha256:" + digest, new TrickleContent(bytes, piece, pause));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return digest;
    }

    private static async Task Create(ServiceProcess p, string name, string digest)
    {
        var r = await p.Client.PostAsync("/api/create", JsonBody($$"""{"model":"{{name}}","files":{"m.gguf":"sha256:{{digest}}"},"stream":false}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    /// <summary>
    /// What /api/tags lists after a restart: every model there loads and generates, every manifest is whole JSON, and
    /// no temporary file of an interrupted write is left.
    /// </summary>
    private async Task<HashSet<string>> AssertWholeModels(ServiceProcess p, string when)
    {
        var tags = await GetJson(p, "/api/tags");
        var names = tags.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()!).ToHashSet();
        foreach (var name in names)
        {
            var g = await p.Client.PostAsync("/api/generate", JsonBody($$$"""{"model":"{{{name}}}","prompt":"x","stream":false,"keep_alive":0,"options":{"num_predict":1}}"""));
            Assert.True(g.StatusCode == HttpStatusCode.OK, $"{when}: {name} is listed but does not run: {(int)g.StatusCode} {await g.Content.ReadAsStringAsync()}");
        }
        foreach (var dir in new[] { "manifests", "blobs" }.Select(d => Path.Combine(Models, d)).Where(Directory.Exists))
        {
            var left = Directory.EnumerateFiles(dir).Select(Path.GetFileName).Where(f => f!.EndsWith(".tmp", StringComparison.Ordinal) || f.EndsWith(".partial", StringComparison.Ordinal)).ToList();
            Assert.True(left.Count == 0, $"{when}: left behind in {Path.GetFileName(dir)}: {string.Join(", ", left)}");
        }
        if (Directory.Exists(Path.Combine(Models, "manifests")))
            foreach (var f in Directory.EnumerateFiles(Path.Combine(Models, "manifests"), "*.json"))
                _ = JsonDocument.Parse(await File.ReadAllTextAsync(f));
        return names;
    }

    [Fact]
    public async Task A_process_killed_mid_pull_upload_create_copy_or_delete_leaves_only_whole_models_and_keeps_the_old_ones()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        OllamaFixture.WriteDefaultModel(Models);
        var pulled = SmallGguf(50);
        await using var server = new SlowFileServer(chunkBytes: Math.Max(1, pulled.Length / 40), pause: TimeSpan.FromMilliseconds(15)); // ~0.6 s
        server.Serve("qwen2.5-1.5b-instruct-q4_k_m.gguf", pulled);
        var env = new Dictionary<string, string?> { ["HAILO_MODELS_MIRROR"] = server.BaseAddress };
        async Task<ServiceProcess> Up()
        {
            var proc = Start(Args("--device", "cpu", "--models.preload", "false"), env);
            await proc.WaitForDatagram("READY=1", LoadTimeout);
            return proc;
        }

        ServiceProcess? p = await Up();
        try
        {
            await Create(p, "base:1", await Upload(p, SmallGguf(51), TimeSpan.Zero));
            Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/api/copy", JsonBody("""{"source":"base:1","destination":"keep:1"}"""))).StatusCode);
            var kept = await AssertWholeModels(p, "before");
            Assert.Equal(["base:1", "keep:1", "qwen2.5:0.5b"], kept.Order());

            // Each operation is cut by kill -9 at a random moment (the seed is in the messages), then the service restarts.
            string[] ops = ["pull", "upload+create", "copy", "delete", "pull", "upload+create", "delete", "copy"];
            for (var i = 0; i < ops.Length; i++)
            {
                var op = ops[i];
                string? victim = null;
                if (op == "delete")
                {
                    victim = $"victim{i}:1";
                    await Create(p, victim, await Upload(p, SmallGguf(100 + i), TimeSpan.Zero));
                }
                var delay = TimeSpan.FromMilliseconds(random.Next(0, op is "pull" or "upload+create" ? 800 : 40));
                var running = p;
                var work = op switch
                {
                    "pull" => running.Client.PostAsync("/api/pull", JsonBody("""{"model":"qwen2.5:1.5b"}""")),
                    "upload+create" => Task.Run(async () =>
                    {
                        var digest = await Upload(running, SmallGguf(200 + i), TimeSpan.FromMilliseconds(10));
                        await Create(running, $"new{i}:1", digest);
                        return new HttpResponseMessage(HttpStatusCode.OK);
                    }),
                    "copy" => running.Client.PostAsync("/api/copy", JsonBody($$"""{"source":"base:1","destination":"copy{{i}}:1"}""")),
                    _ => running.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/api/delete") { Content = JsonBody($$"""{"model":"{{victim}}"}""") }),
                };
                await Task.Delay(delay);
                running.Signal(9);
                await running.WaitForExit(TimeSpan.FromSeconds(10));
                _ = await Record.ExceptionAsync(() => work); // cut off, or done just before the kill
                p = null;
                await running.DisposeAsync();

                p = await Up();
                var when = $"after kill -9 {delay.TotalMilliseconds:F0} ms into {op} (seed {seed})";
                var now = await AssertWholeModels(p, when);
                Assert.True(kept.IsSubsetOf(now), $"{when}: lost {string.Join(", ", kept.Except(now))}");
            }

            // A pull after all that completes, from the start (the file is unverified: no partial of it is resumed).
            server.Pause = TimeSpan.Zero;
            var done = await p.Client.PostAsync("/api/pull", JsonBody("""{"model":"qwen2.5:1.5b","stream":false}"""));
            Assert.Equal(HttpStatusCode.OK, done.StatusCode);
            Assert.Contains("qwen2.5:1.5b", await AssertWholeModels(p, "after the last pull"));
            Assert.All(server.Requests, r => Assert.Null(r.Range));
            Assert.Equal(pulled, await File.ReadAllBytesAsync(Path.Combine(Models, "qwen2.5:1.5b", "qwen2.5-1.5b-instruct-q4_k_m.gguf")));
        }
        finally
        {
            if (p is not null) await p.DisposeAsync();
        }
    }
}
