using Hailo.Core;

namespace Hailo.Hosting;

/// <summary>Where a model is in its life.</summary>
public enum ModelState
{
    /// <summary>Its files are not on this machine; <see cref="ModelStatus.Fix"/> says how to get them.</summary>
    Missing,
    /// <summary>Present but not loaded; it loads on the first request.</summary>
    Idle,
    Loading,
    Ready,
    /// <summary>Loading or running it failed; <see cref="ModelStatus.Detail"/> says why.</summary>
    Failed,
}

/// <summary>One model's state as /health and STATUS= report it.</summary>
public sealed record ModelStatus(string Name, ModelState State, string? Detail = null, string? Fix = null);

/// <summary>
/// What the service is doing right now: backend, model states, in-flight work. /health, the systemd
/// STATUS= line and the watchdog all read it, so they never disagree.
/// </summary>
/// <param name="clock">Time source of the work items' ages and progress (tests pass a manual one).</param>
public sealed class ServiceState(string serviceName, string version, TimeProvider? clock = null)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ModelStatus> _models = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly Dictionary<long, WorkItem> _work = [];
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private long _nextWork;
    private readonly TaskCompletionSource _startup = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string ServiceName { get; } = serviceName;
    public string Version { get; } = version;
    public DateTime StartedUtc { get; } = DateTime.UtcNow;
    public string Backend { get; private set; } = "none";
    public string? BackendReason { get; private set; }
    public bool Stopping { get; private set; }

    /// <summary>Raised after any change; the systemd notifier turns it into STATUS=.</summary>
    public event Action? Changed;

    /// <summary>Completes when start-up work (preloading models) is over, successfully or not.</summary>
    public Task StartupCompleted => _startup.Task;

    public void CompleteStartup() => _startup.TrySetResult();

    public void SetBackend(string backend, string? reason)
    {
        lock (_lock) (Backend, BackendReason) = (backend, reason);
        Changed?.Invoke();
    }

    /// <summary>Sets the chosen backend, reported by its wire name.</summary>
    public void SetBackend(Backend backend, string? reason) => SetBackend(backend.Name(), reason);

    public void SetModel(ModelStatus status)
    {
        lock (_lock)
        {
            if (!_models.ContainsKey(status.Name)) _order.Add(status.Name);
            _models[status.Name] = status;
        }
        Changed?.Invoke();
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Func<string?>> _details = new(StringComparer.Ordinal);

    /// <summary>Adds a line a part of the service reports on /health under <c>details</c> (null: left out for now).</summary>
    public void AddDetail(string key, Func<string?> value) => _details[key] = value;

    /// <summary>The details of /health, or null when there are none.</summary>
    public IReadOnlyDictionary<string, string>? Details()
    {
        if (_details.IsEmpty) return null;
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, f) in _details)
            if (f() is { } v) d[k] = v;
        return d.Count == 0 ? null : d;
    }

    public void MarkStopping()
    {
        Stopping = true;
        Changed?.Invoke();
    }

    public IReadOnlyList<ModelStatus> Models
    {
        get { lock (_lock) return _order.Select(n => _models[n]).ToArray(); }
    }

    /// <summary>Ready when no model is missing, loading or failed (idle ones load on demand).</summary>
    public bool IsReady => !Stopping && Models.All(m => m.State is ModelState.Ready or ModelState.Idle);

    /// <summary>The first thing that keeps the service from being ready, with the command that fixes it.</summary>
    public (string? Reason, string? Fix) NotReadyReason()
    {
        if (Stopping) return ("stopping", null);
        foreach (var m in Models)
        {
            switch (m.State)
            {
                case ModelState.Missing: return ($"model {m.Name} is missing{(m.Detail is null ? "" : $" ({m.Detail})")}", m.Fix);
                case ModelState.Loading: return ($"loading model {m.Name}", null);
                case ModelState.Failed: return ($"model {m.Name} failed: {m.Detail}", m.Fix);
            }
        }
        return (null, null);
    }

    /// <summary>The one-line STATUS= text systemd shows.</summary>
    public string StatusLine()
    {
        if (Stopping) return "stopping";
        var models = Models;
        var loading = models.FirstOrDefault(m => m.State == ModelState.Loading);
        if (loading is not null) return $"loading model {loading.Name} ({Backend})";
        var (reason, fix) = NotReadyReason();
        if (reason is not null) return $"degraded: {reason}{(fix is null ? "" : $"; fix: {fix}")}";
        var names = string.Join(", ", models.Select(m => m.State == ModelState.Idle ? $"{m.Name} (loads on first request)" : m.Name));
        var backend = BackendReason is null ? Backend : $"{Backend}; {BackendReason}";
        return models.Count == 0 ? $"ready ({backend})" : $"ready ({backend}): {names}";
    }

    /// <summary>
    /// Marks a unit of work (an inference) as in flight until disposed. Long work reports progress on it (a window
    /// transcribed, a token generated, a pipeline stage done); the watchdog counts work as stuck only when it has
    /// reported no progress for a while, however long it runs in all.
    /// </summary>
    public WorkItem BeginWork()
    {
        lock (_lock)
        {
            var id = ++_nextWork;
            var item = new WorkItem(this, id, _clock.GetTimestamp());
            _work[id] = item;
            return item;
        }
    }

    private void EndWork(long id)
    {
        bool drained;
        lock (_lock) drained = _work.Remove(id) && _work.Count == 0;
        if (drained) WorkDrained?.Invoke();
    }

    /// <summary>Raised (outside any lock) when the last unit of in-flight work ends.</summary>
    public event Action? WorkDrained;

    /// <summary>Units of work in flight right now.</summary>
    public int InFlight
    {
        get { lock (_lock) return _work.Count; }
    }

    /// <summary>Age of the oldest in-flight unit of work, or zero when idle.</summary>
    public TimeSpan OldestWorkAge
    {
        get
        {
            lock (_lock)
            {
                if (_work.Count == 0) return TimeSpan.Zero;
                return _clock.GetElapsedTime(_work.Values.Min(w => w.Started));
            }
        }
    }

    /// <summary>
    /// The longest time any in-flight unit of work has gone without reporting progress (since it began when it
    /// never reported any), or zero when idle.
    /// </summary>
    public TimeSpan LongestStall
    {
        get
        {
            lock (_lock)
            {
                if (_work.Count == 0) return TimeSpan.Zero;
                return _clock.GetElapsedTime(_work.Values.Min(w => w.LastProgress));
            }
        }
    }

    /// <summary>One unit of in-flight work; <see cref="Progress"/> tells the watchdog it is still moving.</summary>
    public sealed class WorkItem : IDisposable
    {
        private readonly ServiceState _owner;
        private readonly long _id;
        private long _lastProgress;

        internal WorkItem(ServiceState owner, long id, long now)
        {
            _owner = owner;
            _id = id;
            Started = now;
            _lastProgress = now;
        }

        internal long Started { get; }
        internal long LastProgress => Volatile.Read(ref _lastProgress);

        /// <summary>Records that the work moved on (cheap: one timestamp; call it as often as is natural).</summary>
        public void Progress() => Volatile.Write(ref _lastProgress, _owner._clock.GetTimestamp());

        public void Dispose() => _owner.EndWork(_id);
    }
}
