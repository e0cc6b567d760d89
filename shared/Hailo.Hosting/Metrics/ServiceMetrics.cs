using System.Globalization;
using System.Text;

namespace Hailo.Hosting.Metrics;

/// <summary>
/// Request counts and latencies and inference timings, rendered in the Prometheus text format at /metrics.
/// Hand-written: a few dictionaries under one lock are cheaper than a metrics stack for a tiny service.
/// </summary>
public sealed class ServiceMetrics(string service)
{
    private static readonly double[] LatencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Method, string Route, int Status), long> _requests = [];
    private readonly Dictionary<string, Histogram> _requestSeconds = [];
    private readonly Dictionary<(string Model, string Stage), Histogram> _inferenceSeconds = [];
    private readonly Dictionary<string, double> _loadSeconds = [];
    private readonly Dictionary<string, long> _rejected = [];
    private readonly long _startTicks = Environment.TickCount64;

    public void ObserveRequest(string method, string route, int status, double seconds)
    {
        method = MethodLabel(method); // a client chooses the method: unbounded label values otherwise
        lock (_lock)
        {
            _requests.TryGetValue((method, route, status), out var n);
            _requests[(method, route, status)] = n + 1;
            Get(_requestSeconds, route).Observe(seconds);
        }
    }

    /// <summary>The method as a label: one of GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, or "other".</summary>
    public static string MethodLabel(string method) => method switch
    {
        "GET" or "HEAD" or "POST" or "PUT" or "DELETE" or "PATCH" or "OPTIONS" => method,
        _ => "other",
    };

    /// <summary>Time of one stage (pre-process, model, post-process, ...) of one inference.</summary>
    public void ObserveInference(string model, string stage, double seconds)
    {
        lock (_lock) Get(_inferenceSeconds, (model, stage)).Observe(seconds);
    }

    public void ObserveLoad(string model, double seconds)
    {
        lock (_lock) _loadSeconds[model] = seconds;
    }

    public void CountRejected(string model)
    {
        lock (_lock)
        {
            _rejected.TryGetValue(model, out var n);
            _rejected[model] = n + 1;
        }
    }

    private static Histogram Get<TKey>(Dictionary<TKey, Histogram> d, TKey key) where TKey : notnull
    {
        if (!d.TryGetValue(key, out var h)) d[key] = h = new Histogram(LatencyBuckets);
        return h;
    }

    /// <summary>The whole exposition, text format version 0.0.4.</summary>
    public string Render(ServiceState state)
    {
        var sb = new StringBuilder(4096);
        var svc = Escape(service);
        lock (_lock)
        {
            sb.Append("# HELP hailo_http_requests_total HTTP requests answered, by route and status.\n# TYPE hailo_http_requests_total counter\n");
            foreach (var ((method, route, status), n) in _requests.OrderBy(k => k.Key.Route, StringComparer.Ordinal).ThenBy(k => k.Key.Status))
                sb.Append(CultureInfo.InvariantCulture, $"hailo_http_requests_total{{service=\"{svc}\",method=\"{Escape(method)}\",route=\"{Escape(route)}\",status=\"{status}\"}} {n}\n");

            sb.Append("# HELP hailo_http_request_duration_seconds Time from request to response, by route.\n# TYPE hailo_http_request_duration_seconds histogram\n");
            foreach (var (route, h) in _requestSeconds.OrderBy(k => k.Key, StringComparer.Ordinal))
                h.Write(sb, "hailo_http_request_duration_seconds", $"service=\"{svc}\",route=\"{Escape(route)}\"");

            sb.Append("# HELP hailo_inference_duration_seconds Time of each inference stage, by model and stage.\n# TYPE hailo_inference_duration_seconds histogram\n");
            foreach (var ((model, stage), h) in _inferenceSeconds.OrderBy(k => k.Key.Model, StringComparer.Ordinal).ThenBy(k => k.Key.Stage, StringComparer.Ordinal))
                h.Write(sb, "hailo_inference_duration_seconds", $"service=\"{svc}\",model=\"{Escape(model)}\",stage=\"{Escape(stage)}\"");

            sb.Append("# HELP hailo_model_load_seconds Time the last load of each model took.\n# TYPE hailo_model_load_seconds gauge\n");
            foreach (var (model, s) in _loadSeconds.OrderBy(k => k.Key, StringComparer.Ordinal))
                sb.Append(CultureInfo.InvariantCulture, $"hailo_model_load_seconds{{service=\"{svc}\",model=\"{Escape(model)}\"}} {s:0.######}\n");

            sb.Append("# HELP hailo_requests_rejected_total Requests refused because the model's queue was full.\n# TYPE hailo_requests_rejected_total counter\n");
            foreach (var (model, n) in _rejected.OrderBy(k => k.Key, StringComparer.Ordinal))
                sb.Append(CultureInfo.InvariantCulture, $"hailo_requests_rejected_total{{service=\"{svc}\",model=\"{Escape(model)}\"}} {n}\n");
        }

        sb.Append("# HELP hailo_model_ready Whether each model is loaded and serving (1) or not (0).\n# TYPE hailo_model_ready gauge\n");
        foreach (var m in state.Models)
            sb.Append(CultureInfo.InvariantCulture, $"hailo_model_ready{{service=\"{svc}\",model=\"{Escape(m.Name)}\",state=\"{m.State.ToString().ToLowerInvariant()}\"}} {(m.State == ModelState.Ready ? 1 : 0)}\n");
        sb.Append("# HELP hailo_up Whether the service is ready (1) or degraded (0).\n# TYPE hailo_up gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"hailo_up{{service=\"{svc}\",backend=\"{Escape(state.Backend)}\"}} {(state.IsReady ? 1 : 0)}\n");
        sb.Append("# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"process_resident_memory_bytes {ProcessInfo.ResidentBytes()}\n");
        sb.Append("# HELP dotnet_gc_heap_bytes Bytes in the managed heap.\n# TYPE dotnet_gc_heap_bytes gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"dotnet_gc_heap_bytes {GC.GetTotalMemory(false)}\n");
        // After the last collection, per part of the managed heap (where memory is held when it does not go back).
        var gc = GC.GetGCMemoryInfo();
        sb.Append("# HELP dotnet_gc_heap_size_after_gc_bytes Bytes in each part of the managed heap after the last collection.\n# TYPE dotnet_gc_heap_size_after_gc_bytes gauge\n");
        string[] parts = ["gen0", "gen1", "gen2", "loh", "poh"];
        var generations = gc.GenerationInfo;
        for (var i = 0; i < Math.Min(parts.Length, generations.Length); i++)
            sb.Append(CultureInfo.InvariantCulture, $"dotnet_gc_heap_size_after_gc_bytes{{part=\"{parts[i]}\"}} {generations[i].SizeAfterBytes}\n");
        sb.Append("# HELP dotnet_gc_fragmented_bytes Free space inside the managed heap after the last collection.\n# TYPE dotnet_gc_fragmented_bytes gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"dotnet_gc_fragmented_bytes {gc.FragmentedBytes}\n");
        sb.Append("# HELP dotnet_gc_committed_bytes Memory the managed heap has committed.\n# TYPE dotnet_gc_committed_bytes gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"dotnet_gc_committed_bytes {gc.TotalCommittedBytes}\n");
        sb.Append("# HELP dotnet_gc_collections_total Collections of each generation since the service started.\n# TYPE dotnet_gc_collections_total counter\n");
        for (var g = 0; g <= GC.MaxGeneration; g++)
            sb.Append(CultureInfo.InvariantCulture, $"dotnet_gc_collections_total{{generation=\"{g}\"}} {GC.CollectionCount(g)}\n");
        sb.Append("# HELP hailo_idle_memory_passes_total Times the service gave memory back after falling idle.\n# TYPE hailo_idle_memory_passes_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"hailo_idle_memory_passes_total {IdleTrimmer.Passes}\n");
        sb.Append("# HELP hailo_busy_memory_passes_total Times a busy service collected its managed heap because it held more than its bound above the last pass.\n# TYPE hailo_busy_memory_passes_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"hailo_busy_memory_passes_total {IdleTrimmer.BusyPasses}\n");
        sb.Append("# HELP process_uptime_seconds Seconds since the service started.\n# TYPE process_uptime_seconds gauge\n");
        sb.Append(CultureInfo.InvariantCulture, $"process_uptime_seconds {(Environment.TickCount64 - _startTicks) / 1000.0:0.###}\n");
        foreach (var extra in _extras) extra(sb);
        return sb.ToString();
    }

    private readonly List<Action<StringBuilder>> _extras = [];

    /// <summary>Adds families a part of the service renders itself (complete with HELP and TYPE lines).</summary>
    public void AddRenderer(Action<StringBuilder> render)
    {
        lock (_lock) _extras.Add(render);
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length];
        private long _count;
        private double _sum;

        public void Observe(double v)
        {
            for (var i = 0; i < bounds.Length; i++)
                if (v <= bounds[i]) _counts[i]++;
            _count++;
            _sum += v;
        }

        public void Write(StringBuilder sb, string name, string labels)
        {
            for (var i = 0; i < bounds.Length; i++)
                sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels},le=\"{bounds[i]}\"}} {_counts[i]}\n");
            sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels},le=\"+Inf\"}} {_count}\n");
            sb.Append(CultureInfo.InvariantCulture, $"{name}_sum{{{labels}}} {_sum:0.######}\n");
            sb.Append(CultureInfo.InvariantCulture, $"{name}_count{{{labels}}} {_count}\n");
        }
    }
}

/// <summary>Cheap reads of this process's memory from /proc.</summary>
public static class ProcessInfo
{
    /// <summary>Resident set size in bytes (from /proc/self/statm), or 0 where /proc is absent.</summary>
    public static long ResidentBytes()
    {
        try
        {
            var text = File.ReadAllText("/proc/self/statm");
            var parts = text.Split(' ');
            return long.Parse(parts[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}
