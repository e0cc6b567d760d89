using System.Diagnostics;
using Hailo.KvCache;
using Hailo.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Tmds.DBus.Protocol;

namespace Hailo.Bench;

/// <summary>
/// The NPU KV cache changing hands between two GenAI services (Hailo.KvCache): two arbiters on their own connections
/// to a private dbus-daemon, each the side one service process has, taking the cache from each other in turn. The
/// baseline, measured in the same run, is one method call's round trip over the same bus.
/// </summary>
public sealed class KvCacheBench
{
    public async Task<Report> RunAsync()
    {
        var report = new Report($"Measured by `make bench` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}; Release build, a private dbus-daemon.");
        using var bus = new PrivateBus();
        var options = (string name) => new KvCacheOptions
        {
            Service = name, MinHold = TimeSpan.Zero, Yield = TimeSpan.Zero, Wait = TimeSpan.FromSeconds(10), CallTimeout = TimeSpan.FromSeconds(2),
        };
        // The models' unload is instant here (the fake backend's is): what is measured is the arbitration itself.
        await using var a = await KvCacheArbiter.ConnectAsync(bus.Address, options("hailo-ollama"), _ => Task.CompletedTask, () => 0, NullLogger.Instance);
        await using var b = await KvCacheArbiter.ConnectAsync(bus.Address, options("hailo-vision"), _ => Task.CompletedTask, () => 0, NullLogger.Instance);
        using var probe = new DBusConnection(bus.Address);
        await probe.ConnectAsync();

        var roundTrip = new List<double>();
        for (var i = 0; i < 220; i++)
        {
            var sw = Stopwatch.StartNew();
            await probe.CallMethodAsync(KvCacheArbiter.Message(probe, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", null),
                static (m, _) => m.GetBodyReader().ReadString(), null);
            if (i >= 20) roundTrip.Add(sw.Elapsed.TotalMilliseconds);
        }

        await a.AcquireAsync("qwen2.5:1.5b", CancellationToken.None);
        var handOff = new List<double>();
        for (var i = 0; i < 44; i++)
        {
            var (to, model) = i % 2 == 0 ? (b, "qwen2-vl-2b-instruct") : (a, "qwen2.5:1.5b");
            var sw = Stopwatch.StartNew();
            await to.AcquireAsync(model, CancellationToken.None);
            if (i >= 4) handOff.Add(sw.Elapsed.TotalMilliseconds);
            if (!to.State.Holding) throw new InvalidOperationException("the hand-off did not happen");
        }
        double rt = Stats.Median(roundTrip), h = Stats.Median(handOff);
        report.Add("one method call over the bus (GetId), p50 / p95", $"{rt:0.000} / {Stats.Percentile(roundTrip, 95):0.000} ms");
        report.Add($"hand-off of the KV cache from one service to the other, {handOff.Count} in turn, p50 / p95", $"{h:0.00} / {Stats.Percentile(handOff, 95):0.00} ms");
        report.Add("hand-off ÷ one bus round trip (p50)", $"{h / rt:0.0}");
        report.Add("hand-offs counted by the two arbiters", $"{a.State.HandedOver + b.State.HandedOver}");
        report.Note("A hand-off is: the requester asks the bus who holds the name, asks the holder who it is and to release, the holder unloads and releases the name, the bus signals NameOwnerChanged, the requester takes the name. About six round trips, each woken on a thread-pool thread at both ends; before the signal, the requester polled the owner every 20 ms.");
        report.Note("Minimum holding time and yield are 0 here; the services' defaults (10 s and 2 s) are fairness rules on top. An NPU model's own unload and load come on top too: seconds on a Hailo-10H (Qwen2-VL-2B's HEF loads in about 10 s), nothing on the fake backend.");
        return report;
    }
}
