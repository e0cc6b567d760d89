using Hailo.Core;
using System.Diagnostics;
using Hailo.Runtime.Npu;
using Microsoft.Extensions.Logging;

namespace Hailo.GenAI;

/// <summary>A loaded model and when it expires.</summary>
public sealed class Runner(string name, IModelRunner model, IModelFile source)
{
    public string Name { get; } = name;
    public IModelRunner Model { get; } = model;
    public IModelFile Source { get; } = source;
    public SemaphoreSlim Gate { get; } = new(1, 1);
    public DateTime LoadedAt { get; } = DateTime.UtcNow;
    public int Active;
    /// <summary>Requests that hold this runner and wait for its gate; counted under the scheduler's lock from the moment they find it.</summary>
    public int Pending;
    /// <summary>UTC expiry; null while a request is using it or after keep_alive -1.</summary>
    public DateTime? ExpiresAt { get; set; }
    public TimeSpan KeepAlive { get; set; }
    public DateTime LastUsed { get; set; } = DateTime.UtcNow;
    public bool Unloaded { get; set; }
}

/// <summary>A model held for one request; disposing it releases the model and starts its keep_alive.</summary>
public sealed class Lease(Scheduler owner, Runner runner, long loadNs) : IDisposable
{
    private int _disposed;
    public Runner Runner { get; } = runner;
    public IModelRunner Model => Runner.Model;
    /// <summary>Time spent loading the model for this request (0 when it was loaded already).</summary>
    public long LoadNs { get; } = loadNs;
    public TimeSpan? KeepAliveOverride { get; set; }
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) owner.Release(this);
    }
}

/// <summary>
/// Ollama's scheduler, small: loads models on demand (at most maxLoaded, e.g. ollama.max_loaded_models; the least recently used idle
/// one is unloaded first; on the NPU one model, since one LLM holds the KV cache), runs one request per model at a
/// time, bounds the requests waiting across all models (server.max_queued_requests; more get 503 + Retry-After)
/// and unloads a model when its keep_alive runs out (0 = right after the request, negative = never).
/// A model is disposed only once no request holds it: an unload waits for the model's gate and then lets it go, so
/// requests still queued on it see it unloaded and load it again. On stop (<see cref="Dispose"/>) new requests get
/// 503 and the loaded models are disposed once their running requests have finished, waiting at most
/// <see cref="DrainTimeout"/>; a model still busy then is left to the process exit rather than freed under its
/// generation.
/// </summary>
public sealed class Scheduler : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Runner> _loaded = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private readonly Func<IModelFile, int, IModelRunner> _load;
    private readonly IGenAiHost _host;
    private readonly ILogger _log;
    private readonly int _maxLoaded;
    private readonly int _maxQueued;
    private readonly Timer _timer;
    private readonly HashSet<Task> _unloading = [];
    private int _waiting;
    private volatile bool _stopping;

    public TimeSpan DefaultKeepAlive { get; }
    public string DefaultModel { get; }

    /// <summary>How long <see cref="Dispose"/> waits for running requests before it gives up on disposing their models.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The NPU's one KV cache, shared with the other GenAI services (Hailo.KvCache): taken before an NPU model loads,
    /// given back once it is unloaded. Null: no arbitration (a load fails while another process holds the cache).
    /// Set it with <see cref="UseKvCache"/>, whose arbiter calls <see cref="HandOverNpuAsync"/> when asked to release.
    /// </summary>
    public Hailo.KvCache.KvCacheArbiter? KvCache { get; private set; }

    public void UseKvCache(Hailo.KvCache.KvCacheArbiter arbiter) => KvCache = arbiter;

    /// <summary>Requests using an NPU model right now (running or waiting for it): how busy the KV cache's holder is.</summary>
    public uint NpuActive
    {
        get
        {
            lock (_lock)
                return (uint)LiveNpuRunners().Sum(r => r.Active + r.Pending);
        }
    }

    /// <summary>
    /// Another service asked for the KV cache: unload the NPU models now, each once its running generation has
    /// ended (requests queued on it load it again and wait for their turn), and wait until they are freed.
    /// </summary>
    public async Task HandOverNpuAsync(CancellationToken ct)
    {
        // No load may run meanwhile: one under way finishes first, and none starts until the cache is given back.
        await _loadGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            List<Runner> npu;
            lock (_lock) npu = LiveNpuRunners().ToList();
            foreach (var r in npu) Unload(r, "the KV cache is handed over");
            Task[] pending;
            lock (_lock) pending = [.. _unloading];
            await Task.WhenAll(pending).WaitAsync(ct).ConfigureAwait(false);
            if (KvCache is { } kv) await kv.ReleaseAsync().ConfigureAwait(false);
        }
        finally
        {
            _loadGate.Release();
        }
    }

    public Scheduler(Func<IModelFile, int, IModelRunner> load, IGenAiHost host, ILogger log,
        int maxLoaded, int maxQueued, TimeSpan defaultKeepAlive, string defaultModel)
    {
        _load = load;
        _host = host;
        _log = log;
        _maxLoaded = maxLoaded;
        _maxQueued = maxQueued;
        DefaultKeepAlive = defaultKeepAlive;
        DefaultModel = defaultModel;
        _timer = new Timer(_ => Expire(), null, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250));
    }

    public IReadOnlyList<Runner> Loaded
    {
        get { lock (_lock) return _loaded.Values.Where(r => !r.Unloaded).ToList(); }
    }

    public int QueueLength => Volatile.Read(ref _waiting);

    /// <summary>
    /// How long a request waits for its model's turn (one generation at a time) before it is refused with 503 and
    /// Retry-After: a client asking for thousands of tokens holds the model, and the requests behind it are told so
    /// instead of waiting with no answer. Infinite by default; the services set it from their config.
    /// </summary>
    public TimeSpan MaxQueueWait { get; init; } = Timeout.InfiniteTimeSpan;

    private const int QueueRetryAfterSeconds = 5;

    /// <summary>Loads <paramref name="model"/> if needed and waits for its turn.</summary>
    public async Task<Lease> AcquireAsync(IModelFile model, int numCtx, TimeSpan? keepAlive, CancellationToken ct)
    {
        ThrowIfStopping();
        // Requests that cannot start at once wait; beyond max_queued_requests of them a new one is refused.
        if (Interlocked.Increment(ref _waiting) > _maxQueued && MustWait(model.Name))
        {
            Interlocked.Decrement(ref _waiting);
            _host.Rejected(model.Name);
            throw new GenAiException(503, $"server busy: {_maxQueued} requests are already waiting; retry shortly", 1);
        }
        try
        {
            while (true)
            {
                // The runner comes back with this request counted in Pending, so nothing unloads it from under us.
                var (runner, loadNs) = await GetOrLoadAsync(model, numCtx, ct).ConfigureAwait(false);
                bool turn;
                try
                {
                    turn = await runner.Gate.WaitAsync(MaxQueueWait, ct).ConfigureAwait(false);
                }
                catch
                {
                    lock (_lock) runner.Pending--;
                    throw;
                }
                if (!turn)
                {
                    lock (_lock) runner.Pending--;
                    _host.Rejected(model.Name);
                    throw new GenAiException(503,
                        $"model {model.Name} has been busy for {MaxQueueWait.TotalSeconds:0} s (a long generation is running); retry shortly", QueueRetryAfterSeconds);
                }
                lock (_lock)
                {
                    runner.Pending--;
                    if (!runner.Unloaded)
                    {
                        runner.Active++;
                        runner.ExpiresAt = null;
                        return new Lease(this, runner, loadNs) { KeepAliveOverride = keepAlive };
                    }
                }
                runner.Gate.Release(); // unloaded while we waited (keep_alive 0 of the previous request): load again
                ThrowIfStopping();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private void ThrowIfStopping()
    {
        if (_stopping) throw new GenAiException(503, "the service is stopping", 5);
    }

    /// <summary>True when a request for the model cannot start right now (it is busy, or another load runs).</summary>
    private bool MustWait(string name)
    {
        lock (_lock)
            return _loaded.TryGetValue(name, out var r) && !r.Unloaded ? r.Gate.CurrentCount == 0 : _loadGate.CurrentCount == 0;
    }

    /// <summary>The loaded runner of the model (loading it first if need be), with the caller counted in its Pending.</summary>
    private async Task<(Runner, long)> GetOrLoadAsync(IModelFile model, int numCtx, CancellationToken ct)
    {
        if (TryHold(model) is { } held) return (held, 0);
        await _loadGate.WaitAsync(ct).ConfigureAwait(false);
        var counted = false;
        try
        {
            ThrowIfStopping();
            if (TryHold(model) is { } held2) return (held2, 0);
            Runner? stale;
            lock (_lock) _loaded.TryGetValue(model.Name, out stale);
            if (stale is not null) Unload(stale, "replaced");
            await MakeRoomAsync(model.Backend == Hailo.Core.Backend.Npu ? 1 : _maxLoaded, ct).ConfigureAwait(false);
            var start = Stopwatch.GetTimestamp();
            var isDefault = model.Name == DefaultModel;
            if (isDefault) _host.DefaultModelChanged(model.Name, ModelPhase.Loading);
            _log.LogInformation("loading model {Model} ({Backend}, {Path})", model.Name, model.Backend.Name(), model.Path);
            IModelRunner loaded;
            var npu = model.Backend == Hailo.Core.Backend.Npu;
            // An NPU load under way counts as holding the KV cache: an unload finishing meanwhile must not give it away.
            if (npu) Interlocked.Increment(ref _npuLoads);
            counted = npu;
            try
            {
                if (npu && KvCache is { } kv)
                {
                    // Our own NPU models were unloaded by MakeRoomAsync above; ask the holder, if another service.
                    try
                    {
                        await kv.AcquireAsync(model.Name, ct).ConfigureAwait(false);
                    }
                    catch (Hailo.KvCache.KvCacheBusyException e)
                    {
                        if (isDefault) _host.DefaultModelChanged(model.Name, ModelPhase.Idle, e.Message);
                        throw new GenAiException(503, e.Message, (int)Math.Ceiling(e.RetryAfter.TotalSeconds)) { KvCacheBusy = true };
                    }
                }
                try
                {
                    loaded = await Task.Run(() => _load(model, numCtx), ct).ConfigureAwait(false);
                }
                catch when (npu)
                {
                    // The load failed: the cache goes back for others, unless another NPU model is still loaded.
                    Interlocked.Decrement(ref _npuLoads);
                    counted = false;
                    if (KvCache is not null && !HoldsNpuModel()) await KvCache.ReleaseAsync().ConfigureAwait(false);
                    throw;
                }
            }
            catch (HailoException e) when (e.Code == HailoStatus.InvalidOperation)
            {
                if (isDefault) _host.DefaultModelChanged(model.Name, ModelPhase.Idle, "the NPU's KV cache is held by another model");
                throw new GenAiException(503,
                    $"the NPU is busy: another process holds the Hailo device's LLM context (KV cache), e.g. hailo-vision or Hailo's own hailo-ollama; retry when it is free ({e.ShimMessage})", 10) { KvCacheBusy = true };
            }
            catch (HailoException e)
            {
                if (isDefault) _host.DefaultModelChanged(model.Name, ModelPhase.Failed, e.Message);
                throw new GenAiException(503, $"model {model.Name} failed to load on the NPU: {e.Message}", 5);
            }
            catch (Exception e) when (e is not OperationCanceledException and not GenAiException)
            {
                if (isDefault) _host.DefaultModelChanged(model.Name, ModelPhase.Failed, e.Message);
                _log.LogError(e, "model {Model} failed to load", model.Name);
                throw new GenAiException(500, $"model {model.Name} failed to load: {e.Message}");
            }
            var elapsed = Stopwatch.GetElapsedTime(start);
            _host.Loaded(model.Name, elapsed.TotalSeconds);
            _log.LogInformation("model {Model} loaded in {Ms:F0} ms", model.Name, elapsed.TotalMilliseconds);
            var runner = new Runner(model.Name, loaded, model) { KeepAlive = DefaultKeepAlive, Pending = 1 };
            var stopping = false;
            lock (_lock)
            {
                if (_stopping) stopping = true;
                else _loaded[model.Name] = runner;
                if (counted) Interlocked.Decrement(ref _npuLoads);
                counted = false;
            }
            if (stopping)
            {
                loaded.Dispose();
                ThrowIfStopping();
            }
            if (isDefault) _host.DefaultModelChanged(model.Name, ModelPhase.Ready);
            return (runner, (long)(elapsed.TotalMilliseconds * 1e6));
        }
        finally
        {
            if (counted) Interlocked.Decrement(ref _npuLoads);
            _loadGate.Release();
        }
    }

    private bool HoldsNpuModel()
    {
        lock (_lock) return Volatile.Read(ref _npuLoads) > 0 || LiveNpuRunners().Any();
    }

    /// <summary>The loaded NPU models not yet unloading; call under <c>_lock</c>.</summary>
    private IEnumerable<Runner> LiveNpuRunners() => _loaded.Values.Where(r => !r.Unloaded && r.Source.Backend == Hailo.Core.Backend.Npu);

    private int _npuLoads;

    private Runner? TryHold(IModelFile model)
    {
        lock (_lock)
        {
            if (!_loaded.TryGetValue(model.Name, out var r) || r.Unloaded || r.Source.Path != model.Path) return null;
            r.Pending++;
            return r;
        }
    }

    /// <summary>Unloads idle models, least recently used first, until fewer than <paramref name="limit"/> are loaded.</summary>
    private async Task MakeRoomAsync(int limit, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (true)
        {
            Runner? victim = null;
            lock (_lock)
            {
                var live = _loaded.Values.Where(r => !r.Unloaded).ToList();
                if (live.Count < limit) return;
                victim = live.Where(r => r.Active == 0 && r.Pending == 0).OrderBy(r => r.LastUsed).FirstOrDefault();
            }
            if (victim is not null) { Unload(victim, "making room"); continue; }
            if (DateTime.UtcNow > deadline) throw new GenAiException(503, "every loaded model is busy; retry shortly", 5);
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    internal void Release(Lease lease)
    {
        var r = lease.Runner;
        var keep = lease.KeepAliveOverride ?? r.KeepAlive;
        bool unloadNow;
        lock (_lock)
        {
            r.Active--;
            r.LastUsed = DateTime.UtcNow;
            r.KeepAlive = keep;
            r.ExpiresAt = keep == KeepAliveValue.Forever ? null : DateTime.UtcNow + keep;
            unloadNow = keep == TimeSpan.Zero && r.Active == 0 && r.Pending == 0;
        }
        r.Gate.Release();
        if (unloadNow) Unload(r, "keep_alive 0");
    }

    /// <summary>Sets a loaded model's keep_alive without a request (empty prompt with keep_alive); true if it was loaded.</summary>
    public bool Touch(string name, TimeSpan keepAlive)
    {
        Runner? r;
        lock (_lock)
        {
            if (!_loaded.TryGetValue(name, out r) || r.Unloaded) return false;
            r.KeepAlive = keepAlive;
            r.ExpiresAt = keepAlive == KeepAliveValue.Forever ? null : DateTime.UtcNow + keepAlive;
            if (keepAlive != TimeSpan.Zero || r.Active > 0 || r.Pending > 0) return true;
        }
        Unload(r, "keep_alive 0");
        return true;
    }

    /// <summary>Unloads a model now (or, when busy, as soon as its requests end); true if it was loaded.</summary>
    public bool UnloadByName(string name)
    {
        Runner? r;
        lock (_lock)
        {
            if (!_loaded.TryGetValue(name, out r) || r.Unloaded) return false;
            if (r.Active > 0 || r.Pending > 0)
            {
                r.KeepAlive = TimeSpan.Zero;
                r.ExpiresAt = DateTime.UtcNow;
                return true;
            }
        }
        Unload(r, "requested");
        return true;
    }

    private void Unload(Runner r, string why, TimeSpan? limit = null)
    {
        lock (_lock)
        {
            if (r.Unloaded) return;
            r.Unloaded = true;
            if (_loaded.TryGetValue(r.Name, out var cur) && cur == r) _loaded.Remove(r.Name);
        }
        _log.LogInformation("unloading model {Model} ({Why})", r.Name, why);
        // A request may still be running or between its last token and releasing the gate: dispose once the gate is
        // free, then release it so requests queued on this runner see it unloaded and load the model again.
        var task = Task.Run(async () =>
        {
            if (limit is { } l)
            {
                if (!await r.Gate.WaitAsync(l).ConfigureAwait(false))
                {
                    _log.LogWarning("model {Model} is still busy after {Seconds:F0} s; not freed", r.Name, l.TotalSeconds);
                    return;
                }
            }
            else await r.Gate.WaitAsync().ConfigureAwait(false);
            try { r.Model.Dispose(); }
            catch (Exception e) { _log.LogWarning(e, "unloading {Model} failed", r.Name); }
            finally { r.Gate.Release(); }
            // The last NPU model is gone: so is this service's hold on the KV cache.
            if (r.Source.Backend == Hailo.Core.Backend.Npu && KvCache is { } kv && !HoldsNpuModel())
                await kv.ReleaseAsync().ConfigureAwait(false);
            if (r.Name == DefaultModel && !_stopping) _host.DefaultModelChanged(r.Name, ModelPhase.Idle);
        });
        lock (_lock) _unloading.Add(task);
        _ = task.ContinueWith(t => { lock (_lock) _unloading.Remove(t); }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Expire()
    {
        List<Runner> expired;
        lock (_lock)
            expired = _loaded.Values.Where(r => !r.Unloaded && r.Active == 0 && r.Pending == 0 && r.ExpiresAt is { } t && t <= DateTime.UtcNow).ToList();
        foreach (var r in expired) Unload(r, "keep_alive expired");
    }

    /// <summary>
    /// Stops: new requests get 503, a load under way finishes, and every model is disposed once its running request
    /// has ended (at most <see cref="DrainTimeout"/> in all). Call it after the server has stopped taking requests.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_stopping) return;
            _stopping = true;
        }
        _timer.Dispose();
        var deadline = DateTime.UtcNow + DrainTimeout;
        if (_loadGate.Wait(DrainTimeout)) _loadGate.Release(); // a load under way ends first (it then sees _stopping)
        List<Runner> all;
        lock (_lock) all = _loaded.Values.ToList();
        var left = Max(deadline - DateTime.UtcNow, TimeSpan.Zero);
        foreach (var r in all) Unload(r, "stopping", left);
        Task[] unloading;
        lock (_lock) unloading = _unloading.ToArray();
        try
        {
            Task.WaitAll(unloading, Max(deadline - DateTime.UtcNow, TimeSpan.FromMilliseconds(100)));
        }
        catch (AggregateException) { /* logged by the unload */ }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
