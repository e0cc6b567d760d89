using System.Globalization;
using System.Text;
using Hailo.Hosting.Metrics;
using Hailo.KvCache;
using Microsoft.Extensions.Logging;

namespace Hailo.GenAI.Http;

/// <summary>Joins a GenAI service's scheduler to the KV-cache arbitration on the bus its config names.</summary>
public static class KvCacheTurns
{
    /// <summary>
    /// Connects the arbiter (bounded: a missing bus costs at most 3 s at start) and hands it to the scheduler; its
    /// figures go to /metrics. Without a bus the service runs as before: a load fails while another process holds
    /// the cache, and the log says why there is no arbitration.
    /// </summary>
    public static KvCacheArbiter? Join(Scheduler scheduler, KvCacheSection config, Hailo.Hosting.ServiceState state, ServiceMetrics metrics, ILogger log)
    {
        if (config.Bus == "none")
        {
            log.LogInformation("KV cache: no arbitration (kv_cache.bus: none)");
            return null;
        }
        KvCacheArbiter arbiter;
        try
        {
            arbiter = KvCacheArbiter.ConnectAsync(config.Bus, config.Options(state.ServiceName), scheduler.HandOverNpuAsync, () => scheduler.NpuActive, log)
                .WaitAsync(TimeSpan.FromSeconds(3)).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            log.LogWarning("KV cache: no arbitration, the bus {Bus} is not reachable ({Error}); another GenAI service holding the NPU's cache makes loads fail with 503", config.Bus, e.Message);
            return null;
        }
        scheduler.UseKvCache(arbiter);
        metrics.AddRenderer(sb => Render(sb, arbiter.State));
        state.AddDetail("kv_cache", () => Describe(arbiter.State));
        log.LogInformation("KV cache: taking turns on the {Bus} (wait {Wait} s, minimum hold {Hold} s)", arbiter.State.Bus, config.WaitSeconds, config.MinHoldSeconds);
        return arbiter;
    }

    /// <summary>The /health line: whether this service holds the NPU's KV cache, and the hand-offs so far.</summary>
    public static string Describe(KvCacheState s)
    {
        var c = CultureInfo.InvariantCulture;
        var holds = s.Holding
            ? string.Create(c, $"held for {s.Model} since {s.Since:HH:mm:ss}Z")
            : s.LastHolder is { } other ? $"not held (last asked of {other})" : "not held";
        return string.Create(c, $"{holds}; taken {s.Acquired}, handed over {s.HandedOver}, refused {s.Refused} ({s.Bus})");
    }

    private static void Render(StringBuilder sb, KvCacheState s)
    {
        var c = CultureInfo.InvariantCulture;
        sb.Append("# HELP hailo_kv_cache_held 1 while this service holds the NPU's KV cache.\n# TYPE hailo_kv_cache_held gauge\n");
        sb.Append(c, $"hailo_kv_cache_held {(s.Holding ? 1 : 0)}\n");
        sb.Append("# HELP hailo_kv_cache_acquired_total Times this service took the NPU's KV cache.\n# TYPE hailo_kv_cache_acquired_total counter\n");
        sb.Append(c, $"hailo_kv_cache_acquired_total {s.Acquired}\n");
        sb.Append("# HELP hailo_kv_cache_handed_over_total Times this service gave the KV cache to another on request.\n# TYPE hailo_kv_cache_handed_over_total counter\n");
        sb.Append(c, $"hailo_kv_cache_handed_over_total {s.HandedOver}\n");
        sb.Append("# HELP hailo_kv_cache_refused_total Requests that could not get the KV cache within kv_cache.wait_seconds.\n# TYPE hailo_kv_cache_refused_total counter\n");
        sb.Append(c, $"hailo_kv_cache_refused_total {s.Refused}\n");
    }
}
