using Hailo.Hosting.Http;
using Hailo.Hosting.Metrics;
using Microsoft.Extensions.Logging;

namespace Hailo.Hosting;

/// <summary>Thrown by a model loader when the model's files are not on this machine.</summary>
public sealed class ModelMissingException(string model, string detail, string fix)
    : Exception($"model {model} is missing: {detail}")
{
    public string Model { get; } = model;
    public string Detail { get; } = detail;
    public string Fix { get; } = fix;
}

/// <summary>
/// Holds one loaded model: loads it once (at start or on first use), reports its state, bounds the
/// queue of requests waiting for it (503 + Retry-After beyond that), bounds how many of them decode their input at
/// once (<see cref="AdmitAsync"/>) and times every use for /metrics.
/// </summary>
public sealed class ModelSlot<T> : IDisposable where T : class, IDisposable
{
    private readonly Func<CancellationToken, T> _load;
    private readonly ServiceState _state;
    private readonly ServiceMetrics? _metrics;
    private readonly ILogger? _log;
    private readonly SemaphoreSlim _gate;
    private readonly SemaphoreSlim _prepare;
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private readonly int _concurrency;
    private readonly int _maxQueued;
    private int _admitted;
    private int _waiting;
    private T? _model;
    private long _lastFailureTicks;
    private bool _disposed;

    /// <summary>How long after a failed load (or a device fault) the next request tries again.</summary>
    public TimeSpan RetryFailedAfter { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Says whether an exception thrown while running means the backend itself is broken (e.g. the NPU was
    /// lost) and returns why. The model is then dropped, the slot reports Failed and answers 503 until a
    /// reload after <see cref="RetryFailedAfter"/> succeeds.
    /// </summary>
    public Func<Exception, string?>? BackendFault { get; init; }

    public string Name { get; }
    public bool IsLoaded => Volatile.Read(ref _model) is not null;
    /// <summary>
    /// The loaded model, or null: only for reading what does not change once it is loaded (e.g. its input size, to
    /// prepare a request before its turn). Running it goes through <see cref="RunAsync{TResult}"/>.
    /// </summary>
    public T? Loaded => Volatile.Read(ref _model);
    /// <summary>Requests admitted and not yet running (preparing their input or waiting for a free slot) right now.</summary>
    public int QueueLength => Volatile.Read(ref _waiting);

    public ModelSlot(string name, Func<CancellationToken, T> load, ServiceState state, int concurrency, int maxQueued,
        ServiceMetrics? metrics = null, ILogger? log = null, Func<ModelStatus>? probe = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        Name = name;
        _load = load;
        _state = state;
        _metrics = metrics;
        _log = log;
        _gate = new SemaphoreSlim(concurrency, concurrency);
        _prepare = new SemaphoreSlim(concurrency, concurrency);
        _concurrency = concurrency;
        _maxQueued = Math.Max(0, maxQueued);
        _state.SetModel(probe?.Invoke() ?? new ModelStatus(name, ModelState.Idle));
    }

    /// <summary>Loads the model now if it is not loaded yet. Never throws; failures are reported on the state.</summary>
    public async Task PreloadAsync(CancellationToken ct)
    {
        try { await EnsureLoadedAsync(ct).ConfigureAwait(false); }
        catch (Exception e) when (e is ApiException or OperationCanceledException) { }
    }

    /// <summary>Runs <paramref name="work"/> with the loaded model once a slot is free.</summary>
    public Task<TResult> RunAsync<TResult>(Func<T, TResult> work, CancellationToken ct) => RunAsync((m, _) => work(m), ct);

    /// <summary>
    /// Runs <paramref name="work"/> with the loaded model once a slot is free; long work reports progress on the
    /// <see cref="ServiceState.WorkItem"/> it is given so the watchdog does not take it for stuck.
    /// </summary>
    public async Task<TResult> RunAsync<TResult>(Func<T, ServiceState.WorkItem, TResult> work, CancellationToken ct)
    {
        using var admission = await AdmitAsync(ct).ConfigureAwait(false);
        return await admission.RunAsync(work, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes a place in this model's queue before a request's input is decoded: 503 + Retry-After when
    /// <c>concurrency + maxQueued</c> requests are already admitted, so an excess request is refused before it costs
    /// any memory. The returned admission is then held while the input is prepared: at most <c>concurrency</c>
    /// requests prepare (or hold prepared input waiting for the model) at once, so N concurrent uploads never decode
    /// N images or hours of audio side by side. <see cref="Admission.RunAsync{TResult}(Func{T, TResult}, CancellationToken)"/>
    /// then runs the model; disposing the admission gives back whatever it still holds.
    /// </summary>
    public async Task<Admission> AdmitAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Increment(ref _admitted) > _concurrency + _maxQueued)
        {
            Interlocked.Decrement(ref _admitted);
            _metrics?.CountRejected(Name);
            throw ApiException.Unavailable("queue_full", $"model {Name} is busy and {_maxQueued} requests are already waiting; retry shortly", 1);
        }
        Interlocked.Increment(ref _waiting);
        try
        {
            await _prepare.WaitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            Interlocked.Decrement(ref _waiting);
            Interlocked.Decrement(ref _admitted);
            throw;
        }
        return new Admission(this);
    }

    /// <summary>A request's place in the queue, from before its input is decoded until its model run ends.</summary>
    public sealed class Admission : IDisposable
    {
        private readonly ModelSlot<T> _slot;
        private bool _preparing = true;
        private bool _waiting = true;
        private bool _left;
        private bool _done;

        internal Admission(ModelSlot<T> slot) => _slot = slot;

        /// <inheritdoc cref="ModelSlot{T}.RunAsync{TResult}(Func{T, TResult}, CancellationToken)"/>
        public Task<TResult> RunAsync<TResult>(Func<T, TResult> work, CancellationToken ct) => RunAsync((m, _) => work(m), ct);

        /// <summary>Waits for a free slot (giving up the preparing place once it has one) and runs <paramref name="work"/> once.</summary>
        public async Task<TResult> RunAsync<TResult>(Func<T, ServiceState.WorkItem, TResult> work, CancellationToken ct)
        {
            ObjectDisposedException.ThrowIf(_done, this);
            if (!_waiting) throw new InvalidOperationException("an admission runs the model once");
            try
            {
                await _slot._gate.WaitAsync(ct).ConfigureAwait(false);
            }
            finally
            {
                // Running (or leaving): the next request may prepare its input now.
                ReleasePreparing();
                _waiting = false;
                Interlocked.Decrement(ref _slot._waiting);
            }
            try
            {
                var model = await _slot.EnsureLoadedAsync(ct).ConfigureAwait(false);
                using var item = _slot._state.BeginWork();
                try
                {
                    return work(model, item);
                }
                catch (Exception e) when (_slot.BackendFault?.Invoke(e) is { } reason)
                {
                    _slot.Invalidate(model, reason);
                    throw ApiException.Unavailable("backend_fault", $"model {_slot.Name} is unavailable: {reason}; retrying",
                        (int)Math.Ceiling(_slot.RetryFailedAfter.TotalSeconds));
                }
            }
            finally
            {
                _slot._gate.Release();
                Leave();
            }
        }

        /// <summary>Gives the queue place back (once): after the run, or on dispose when it never ran.</summary>
        private void Leave()
        {
            if (_left) return;
            _left = true;
            Interlocked.Decrement(ref _slot._admitted);
        }

        private void ReleasePreparing()
        {
            if (!_preparing) return;
            _preparing = false;
            _slot._prepare.Release();
        }

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            ReleasePreparing();
            if (_waiting)
            {
                _waiting = false;
                Interlocked.Decrement(ref _slot._waiting);
            }
            Leave();
        }
    }

    /// <summary>Drops a model whose backend failed, so the next request after the back-off reloads it.</summary>
    private void Invalidate(T model, string reason)
    {
        if (Interlocked.CompareExchange(ref _model, null, model) == model) model.Dispose();
        _lastFailureTicks = Environment.TickCount64;
        _state.SetModel(new ModelStatus(Name, ModelState.Failed, reason));
        _log?.LogError("model {Model}: backend fault: {Reason}; reloading after {Seconds} s", Name, reason, RetryFailedAfter.TotalSeconds);
    }

    private async Task<T> EnsureLoadedAsync(CancellationToken ct)
    {
        var m = Volatile.Read(ref _model);
        if (m is not null) return m;
        await _loadLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_model is not null) return _model;
            var current = _state.Models.FirstOrDefault(x => x.Name == Name);
            if (current?.State == ModelState.Failed && Environment.TickCount64 - _lastFailureTicks < RetryFailedAfter.TotalMilliseconds)
                throw ApiException.Unavailable("model_failed", $"model {Name} failed to load: {current.Detail}", (int)Math.Ceiling(RetryFailedAfter.TotalSeconds));

            _state.SetModel(new ModelStatus(Name, ModelState.Loading));
            _log?.LogInformation("loading model {Model}", Name);
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                var loaded = await Task.Run(() =>
                {
                    var model = _load(ct);
                    if (model is IWarmUp warm)
                    {
                        try { warm.WarmUp(); }
                        catch { model.Dispose(); throw; }
                    }
                    return model;
                }, ct).ConfigureAwait(false);
                var elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start);
                _metrics?.ObserveLoad(Name, elapsed.TotalSeconds);
                _log?.LogInformation("model {Model} loaded in {Ms:F0} ms", Name, elapsed.TotalMilliseconds);
                Volatile.Write(ref _model, loaded);
                _state.SetModel(new ModelStatus(Name, ModelState.Ready));
                return loaded;
            }
            catch (ModelMissingException e)
            {
                _state.SetModel(new ModelStatus(Name, ModelState.Missing, e.Detail, e.Fix));
                _log?.LogWarning("model {Model} is missing: {Detail}; fix: {Fix}", Name, e.Detail, e.Fix);
                throw ApiException.Unavailable("model_missing", $"model {Name} is not installed ({e.Detail}); run: {e.Fix}", 60);
            }
            catch (OperationCanceledException)
            {
                _state.SetModel(new ModelStatus(Name, ModelState.Idle));
                throw;
            }
            catch (Exception e)
            {
                _lastFailureTicks = Environment.TickCount64;
                _state.SetModel(new ModelStatus(Name, ModelState.Failed, e.Message));
                _log?.LogError(e, "model {Model} failed to load", Name);
                throw ApiException.Unavailable("model_failed", $"model {Name} failed to load: {e.Message}", (int)Math.Ceiling(RetryFailedAfter.TotalSeconds));
            }
        }
        finally
        {
            _loadLock.Release();
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Interlocked.Exchange(ref _model, null)?.Dispose();
    }
}

/// <summary>
/// A model that runs once on a neutral input as part of its load: the first request then does not pay for first-use
/// costs (the runtime's memory arena, code paged in, caches), and the memory a model works in is taken at start,
/// where a memory limit fails the start with a clear log instead of a request later.
/// </summary>
public interface IWarmUp
{
    void WarmUp();
}
