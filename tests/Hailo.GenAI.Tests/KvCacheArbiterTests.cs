using Hailo.KvCache;
using Hailo.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Tmds.DBus.Protocol;
using Xunit;

namespace Hailo.GenAI.Tests;

/// <summary>
/// The KV-cache arbitration on a private dbus-daemon: services are arbiters on their own connections (each
/// connection is what one service process has), with a stand-in for the model that records when it is loaded.
/// </summary>
public sealed class KvCacheArbiterTests : IDisposable
{
    private readonly PrivateBus _bus = new();
    /// <summary>Services holding the cache right now, as the stand-in models see it: never more than one.</summary>
    private int _holders, _maxHolders;

    public void Dispose() => _bus.Dispose();

    private sealed class Service
    {
        public required KvCacheArbiter Arbiter { get; init; }
        public required Func<Task> Unloaded { get; init; }
        public int Unloads;
        public TimeSpan GenerationLeft = TimeSpan.Zero;
    }

    private async Task<Service> Start(string name, TimeSpan? minHold = null, TimeSpan? wait = null)
    {
        Service? s = null;
        var arbiter = await KvCacheArbiter.ConnectAsync(_bus.Address,
            new KvCacheOptions { Service = name, MinHold = minHold ?? TimeSpan.Zero, Wait = wait ?? TimeSpan.FromSeconds(10), CallTimeout = TimeSpan.FromSeconds(1), Yield = TimeSpan.FromMilliseconds(300) },
            async ct =>
            {
                // The running generation finishes first, then the model goes.
                await Task.Delay(s!.GenerationLeft, ct);
                Interlocked.Increment(ref s.Unloads);
                Interlocked.Decrement(ref _holders);
            },
            () => 1, NullLogger.Instance);
        s = new Service { Arbiter = arbiter, Unloaded = () => Task.CompletedTask };
        return s;
    }

    private async Task Load(Service s, string model)
    {
        await s.Arbiter.AcquireAsync(model, CancellationToken.None);
        if (s.Arbiter.State.Model == model && s.Arbiter.State.Holding)
        {
            var now = Interlocked.Increment(ref _holders);
            InterlockedMax(ref _maxHolders, now);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    [Fact]
    public async Task A_free_cache_is_taken_at_once()
    {
        await using var a = (await Start("hailo-ollama")).Arbiter;
        await a.AcquireAsync("qwen2:1.5b", CancellationToken.None);
        var state = a.State;
        Assert.True(state.Holding);
        Assert.Equal("qwen2:1.5b", state.Model);
        Assert.Equal(1, state.Acquired);
    }

    [Fact]
    public async Task The_holder_hands_over_after_its_running_generation_and_takes_it_back_later()
    {
        var ollama = await Start("hailo-ollama");
        var vision = await Start("hailo-vision");
        await using var _ = ollama.Arbiter;
        await using var __ = vision.Arbiter;
        await Load(ollama, "qwen2:1.5b");
        ollama.GenerationLeft = TimeSpan.FromMilliseconds(300);

        var sw = System.Diagnostics.Stopwatch.StartNew();
        await Load(vision, "qwen2-vl:2b");
        // Vision waited for the running generation, and ollama unloaded before vision held it.
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 250, 5000);
        Assert.Equal(1, ollama.Unloads);
        Assert.False(ollama.Arbiter.State.Holding);
        Assert.True(vision.Arbiter.State.Holding);
        Assert.Equal(1, ollama.Arbiter.State.HandedOver);
        Assert.Equal("hailo-ollama", vision.Arbiter.State.LastHolder);

        // And back: ollama's next request asks vision.
        vision.GenerationLeft = TimeSpan.Zero;
        await Load(ollama, "qwen2:1.5b");
        Assert.True(ollama.Arbiter.State.Holding);
        Assert.False(vision.Arbiter.State.Holding);
        Assert.Equal(1, vision.Unloads);
        Assert.Equal(1, _maxHolders);
    }

    [Fact]
    public async Task The_holder_keeps_it_for_the_minimum_holding_time()
    {
        var ollama = await Start("hailo-ollama", minHold: TimeSpan.FromMilliseconds(800));
        var vision = await Start("hailo-vision");
        await using var _ = ollama.Arbiter;
        await using var __ = vision.Arbiter;
        await Load(ollama, "qwen2:1.5b");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await Load(vision, "qwen2-vl:2b");
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 600, 5000);
        Assert.True(vision.Arbiter.State.Holding);
    }

    [Fact]
    public async Task A_request_that_cannot_get_it_in_time_is_told_who_holds_it()
    {
        var ollama = await Start("hailo-ollama", minHold: TimeSpan.FromSeconds(30));
        var vision = await Start("hailo-vision", wait: TimeSpan.FromMilliseconds(700));
        await using var _ = ollama.Arbiter;
        await using var __ = vision.Arbiter;
        await Load(ollama, "qwen2:1.5b");
        var e = await Assert.ThrowsAsync<KvCacheBusyException>(() => vision.Arbiter.AcquireAsync("qwen2-vl:2b", CancellationToken.None));
        Assert.Equal("hailo-ollama", e.Holder?.Service);
        Assert.Equal("qwen2:1.5b", e.Holder?.Model);
        Assert.Contains("hailo-ollama holds it for qwen2:1.5b", e.Message);
        Assert.True(e.RetryAfter > TimeSpan.Zero);
        Assert.Equal(1, vision.Arbiter.State.Refused);
        Assert.True(ollama.Arbiter.State.Holding);
    }

    [Fact]
    public async Task A_holder_that_dies_mid_hand_off_frees_the_cache()
    {
        var ollama = await Start("hailo-ollama");
        var vision = await Start("hailo-vision");
        await using var __ = vision.Arbiter;
        await Load(ollama, "qwen2:1.5b");
        // The holder is asked, starts its long generation, and its process ends: the bus drops its name.
        ollama.GenerationLeft = TimeSpan.FromMinutes(5);
        var take = Load(vision, "qwen2-vl:2b");
        await Task.Delay(300);
        Assert.False(take.IsCompleted);
        await ollama.Arbiter.DisposeAsync();
        await take.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(vision.Arbiter.State.Holding);
    }

    [Fact]
    public async Task A_holder_that_never_answers_costs_the_wait_and_nothing_more()
    {
        // A process owns the name but never replies to anything on the interface.
        using var mute = new DBusConnection(_bus.Address);
        await mute.ConnectAsync();
        mute.AddMethodHandler(new Silent());
        await mute.RequestNameAsync(KvCacheArbiter.BusName, RequestNameOptions.None);

        var vision = await Start("hailo-vision", wait: TimeSpan.FromMilliseconds(1500));
        await using var _ = vision.Arbiter;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<KvCacheBusyException>(() => vision.Arbiter.AcquireAsync("qwen2-vl:2b", CancellationToken.None));
        Assert.InRange(sw.Elapsed.TotalMilliseconds, 1400, 6000);
        Assert.Null(e.Holder);
        Assert.Contains("does not answer", e.Message);
    }

    [Fact]
    public async Task Two_asking_at_once_both_get_it_in_turn_and_never_together()
    {
        var ollama = await Start("hailo-ollama");
        var vision = await Start("hailo-vision");
        var third = await Start("hailo-florence");
        await using var _ = ollama.Arbiter;
        await using var __ = vision.Arbiter;
        await using var ___ = third.Arbiter;
        await Load(ollama, "qwen2:1.5b");
        ollama.GenerationLeft = TimeSpan.FromMilliseconds(100);
        vision.GenerationLeft = TimeSpan.FromMilliseconds(100);
        third.GenerationLeft = TimeSpan.FromMilliseconds(100);
        await Task.WhenAll(Load(vision, "qwen2-vl:2b"), Load(third, "florence-2"));
        Assert.Equal(1, _maxHolders);
        Assert.Equal(1, new[] { ollama, vision, third }.Count(s => s.Arbiter.State.Holding));
        Assert.Equal(2, vision.Arbiter.State.Acquired + third.Arbiter.State.Acquired);
    }

    [Fact]
    public async Task The_holder_answers_who_it_is_to_anyone_on_the_bus()
    {
        var ollama = await Start("hailo-ollama");
        await using var _ = ollama.Arbiter;
        await Load(ollama, "qwen2:1.5b");
        using var client = new DBusConnection(_bus.Address);
        await client.ConnectAsync();
        var call = KvCacheArbiter.Message(client, KvCacheArbiter.BusName, KvCacheArbiter.ObjectPath, KvCacheArbiter.Interface, "Holder", null);
        var (service, model, since, active) = await client.CallMethodAsync(call, static (m, _) =>
        {
            var r = m.GetBodyReader();
            return (r.ReadString(), r.ReadString(), r.ReadInt64(), r.ReadUInt32());
        }, null);
        Assert.Equal(("hailo-ollama", "qwen2:1.5b", 1u), (service, model, active));
        Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - since, 0, 60_000);
    }

    private sealed class Silent : IPathMethodHandler
    {
        public string Path => KvCacheArbiter.ObjectPath;
        public bool HandlesChildPaths => false;
        public ValueTask HandleMethodAsync(MethodContext context) => ValueTask.CompletedTask;
    }
}
