using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using HailoOllama;
using Xunit;

namespace Hailo.Ollama.Tests.Npu;

/// <summary>
/// Two hailo-ollama instances on the NPU take turns with the one KV cache over a private dbus-daemon. The shim's fake
/// backend keeps the cache with an flock(), per open file, so two instances in one process exclude each other as two
/// processes would: without arbitration the second gets 503 (NpuTests); with it, each request gets the cache in turn.
/// Fake-only: the device is the shim's fake; the bus, the names and the hand-off are real.
/// </summary>
[Collection("fake-shim")]
public sealed class KvCacheTurnsTests : IAsyncLifetime
{
    private readonly PrivateBus _bus = new();
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-ollama-kv-").FullName;
    private RunningService _a = null!, _b = null!;

    private OllamaConfig Config(double minHold)
    {
        var c = OllamaFixture.Config(_models);
        c.Device = Backend.Npu;
        c.Ollama.DefaultModel = "qwen2.5:1.5b";
        c.Models.Preload = false;
        c.KvCache.Bus = _bus.Address;
        c.KvCache.MinHoldSeconds = minHold;
        c.KvCache.WaitSeconds = 10;
        c.Server.MaxQueuedRequests = 8;
        return c;
    }

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        NpuTests.WriteFakeHef(_models);
        _a = await RunningService.StartAsync(OllamaService.Definition, Config(0));
        _b = await RunningService.StartAsync(OllamaService.Definition, Config(0));
        await Task.WhenAll(_a.StartupCompleted, _b.StartupCompleted);
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _bus.Dispose();
        Directory.Delete(_models, true);
    }

    private static async Task<(HttpStatusCode Status, string Text)> Chat(RunningService s, string text)
    {
        var body = $$"""{"model":"qwen2.5:1.5b","messages":[{"role":"user","content":"{{text}}"}],"stream":false}""";
        var r = await s.Client.PostAsync("/api/chat", new StringContent(body, Encoding.UTF8, "application/json"));
        var json = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        return (r.StatusCode, r.IsSuccessStatusCode ? json.GetProperty("message").GetProperty("content").GetString()!.Trim() : json.ToString());
    }

    private static async Task<long> Metric(RunningService s, string name)
    {
        var text = await s.Client.GetStringAsync("/metrics");
        var line = text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return long.Parse(line[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Alternating_requests_each_get_the_cache_in_turn()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal((HttpStatusCode.OK, $"a{i}"), await Chat(_a, $"a{i}"));
            Assert.Equal((HttpStatusCode.OK, $"b{i}"), await Chat(_b, $"b{i}"));
        }
        // Each hand-off is counted on both sides: a gave it to b three times, b to a twice.
        Assert.Equal(1, await Metric(_b, "hailo_kv_cache_held"));
        Assert.Equal(0, await Metric(_a, "hailo_kv_cache_held"));
        Assert.Equal(3, await Metric(_a, "hailo_kv_cache_handed_over_total"));
        Assert.Equal(2, await Metric(_b, "hailo_kv_cache_handed_over_total"));
        Assert.Equal(3, await Metric(_a, "hailo_kv_cache_acquired_total"));
        Assert.Equal(3, await Metric(_b, "hailo_kv_cache_acquired_total"));
        Assert.Equal(0, await Metric(_a, "hailo_kv_cache_refused_total") + await Metric(_b, "hailo_kv_cache_refused_total"));
        // /health says who holds it.
        var health = JsonDocument.Parse(await _b.Client.GetStringAsync("/health")).RootElement;
        Assert.StartsWith("held for qwen2.5:1.5b since ", health.GetProperty("details").GetProperty("kv_cache").GetString());
        var other = JsonDocument.Parse(await _a.Client.GetStringAsync("/health")).RootElement.GetProperty("details").GetProperty("kv_cache").GetString();
        Assert.StartsWith("not held", other);
        Assert.Contains("handed over 3", other);
    }

    [Fact]
    public async Task Concurrent_requests_on_both_all_get_answered()
    {
        var tasks = Enumerable.Range(0, 6).Select(i => Chat(i % 2 == 0 ? _a : _b, $"m{i}")).ToList();
        var results = await Task.WhenAll(tasks);
        for (var i = 0; i < results.Length; i++) Assert.Equal((HttpStatusCode.OK, $"m{i}"), results[i]);
    }
}
