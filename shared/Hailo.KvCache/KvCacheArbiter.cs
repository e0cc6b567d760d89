using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace Hailo.KvCache;

/// <summary>Settings of the arbitration (config section <c>kv_cache</c> of a GenAI service).</summary>
public sealed record KvCacheOptions
{
    /// <summary>This service's name as other services and logs see it, e.g. "hailo-ollama".</summary>
    public required string Service { get; init; }
    /// <summary>How long a request that needs the cache waits for its holder to hand it over.</summary>
    public TimeSpan Wait { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>The shortest time a holder keeps the cache before it honours a request to release it.</summary>
    public TimeSpan MinHold { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long a call to the holder may take before it counts as not answering.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>After handing the cache over, how long this service lets the requester take it before taking it back.</summary>
    public TimeSpan Yield { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>Who holds the cache, as its holder reports it.</summary>
public sealed record KvCacheHolder(string Service, string Model, DateTimeOffset Since, uint Active, string BusName)
{
    /// <summary>When the holder said it would release the cache (its minimum holding time), once asked.</summary>
    public DateTimeOffset NotBefore { get; init; }
}

/// <summary>The cache could not be had within the wait: answer 503 with Retry-After, naming the holder.</summary>
public sealed class KvCacheBusyException(KvCacheHolder? holder, TimeSpan retryAfter, string message) : Exception(message)
{
    public KvCacheHolder? Holder { get; } = holder;
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>What /health and /metrics show about the arbitration.</summary>
public sealed record KvCacheState(bool Holding, string? Model, DateTimeOffset? Since, long Acquired, long HandedOver, long Refused, string? LastHolder, string Bus);

/// <summary>
/// The Hailo-10H has one KV cache: one LLM or VLM at a time. This arbiter turns the D-Bus name
/// <see cref="BusName"/> into its lock. Owning the name is holding the cache; the bus frees it when the holder's
/// process ends, so a holder that dies never blocks the others. The holder exports <see cref="ObjectPath"/>
/// (<see cref="Interface"/>): <c>Holder()</c> says who holds it, since when and how busy it is, and
/// <c>Release(s requester)</c> asks it to give the cache up at its next idle point (after its running generation,
/// and not before <see cref="KvCacheOptions.MinHold"/> has passed since it took it).
/// </summary>
/// <remarks>
/// A service calls <see cref="AcquireAsync"/> before it loads a model onto the NPU and <see cref="ReleaseAsync"/>
/// once that model is unloaded; the holder's side calls back <c>unload</c> when asked to release. Waiting for a
/// holder is bounded by <see cref="KvCacheOptions.Wait"/>; then <see cref="KvCacheBusyException"/> names the holder.
/// </remarks>
public sealed class KvCacheArbiter : IAsyncDisposable
{
    public const string BusName = "org.hailo.KvCache";
    public const string ObjectPath = "/org/hailo/KvCache";
    public const string Interface = "org.hailo.KvCache1";

    private readonly DBusConnection _bus;
    private readonly KvCacheOptions _options;
    private readonly Func<CancellationToken, Task> _unload;
    private readonly Func<uint> _active;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _acquire = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly string _busLabel;
    private readonly Lock _lock = new();
    private bool _holding;
    private string? _model;
    private DateTimeOffset _since;
    private Task? _releasing;
    private DateTimeOffset _yieldUntil;
    private long _acquired, _handedOver, _refused;
    private string? _lastHolder;
    // Completed (and replaced) at every NameOwnerChanged of BusName: a waiter learns of a hand-off the moment the bus
    // announces it, instead of asking the bus for the owner over and over.
    private TaskCompletionSource _ownerChanged = NewSignal();

    private KvCacheArbiter(DBusConnection bus, string busLabel, KvCacheOptions options, Func<CancellationToken, Task> unload, Func<uint> active, ILogger log)
    {
        _bus = bus;
        _busLabel = busLabel;
        _options = options;
        _unload = unload;
        _active = active;
        _log = log;
    }

    /// <summary>
    /// Connects to the bus at <paramref name="address"/> ("system" for the system bus) and exports the holder's
    /// interface. <paramref name="unload"/> unloads this service's NPU model (waiting for its running generation);
    /// <paramref name="active"/> counts the requests using it.
    /// </summary>
    public static async Task<KvCacheArbiter> ConnectAsync(string address, KvCacheOptions options, Func<CancellationToken, Task> unload, Func<uint> active, ILogger log)
    {
        var bus = address == "system" ? new DBusConnection(DBusAddress.System!) : new DBusConnection(address);
        try
        {
            await bus.ConnectAsync();
        }
        catch
        {
            bus.Dispose();
            throw;
        }
        var arbiter = new KvCacheArbiter(bus, address == "system" ? "system bus" : address, options, unload, active, log);
        bus.AddMethodHandler(new Handler(arbiter));
        try
        {
            var rule = new MatchRule
            {
                Type = MessageType.Signal, Sender = "org.freedesktop.DBus", Path = "/org/freedesktop/DBus",
                Interface = "org.freedesktop.DBus", Member = "NameOwnerChanged", Arg0 = BusName,
            };
            await bus.AddMatchAsync(rule, (Notification _) => arbiter.SignalOwnerChanged(), false, ObserverFlags.None, null);
        }
        catch
        {
            bus.Dispose();
            throw;
        }
        return arbiter;
    }

    public KvCacheState State
    {
        get
        {
            lock (_lock)
                return new KvCacheState(_holding, _holding ? _model : null, _holding ? _since : null,
                    Interlocked.Read(ref _acquired), Interlocked.Read(ref _handedOver), Interlocked.Read(ref _refused), _lastHolder, _busLabel);
        }
    }

    /// <summary>
    /// Takes the cache for <paramref name="model"/>: at once when nobody holds it, otherwise after asking the holder
    /// to release it and waiting at most <see cref="KvCacheOptions.Wait"/>.
    /// </summary>
    /// <exception cref="KvCacheBusyException">The holder did not hand it over in time.</exception>
    public async Task AcquireAsync(string model, CancellationToken ct)
    {
        await _acquire.WaitAsync(ct);
        try
        {
            lock (_lock)
                if (_holding)
                {
                    _model = model;
                    return;
                }
            var start = Stopwatch.GetTimestamp();
            var deadline = start + (long)(_options.Wait.TotalSeconds * Stopwatch.Frequency);
            // Having just handed the cache over, give the requester its turn first.
            DateTimeOffset yieldUntil;
            lock (_lock) yieldUntil = _yieldUntil;
            var yieldFor = yieldUntil - DateTimeOffset.UtcNow;
            if (yieldFor > TimeSpan.Zero) await WaitForOwnerChange(null, Min(yieldFor, Remaining(deadline)), ct);
            string? askedOwner = null;
            KvCacheHolder? holder = null;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (await RequestNameAsync())
                {
                    lock (_lock)
                    {
                        _holding = true;
                        _model = model;
                        _since = DateTimeOffset.UtcNow;
                    }
                    Interlocked.Increment(ref _acquired);
                    var waited = Stopwatch.GetElapsedTime(start);
                    if (holder is not null || askedOwner is not null)
                        _log.LogInformation("KV cache: taken over from {Holder} for {Model} after {Ms:0} ms", holder?.Service ?? askedOwner, model, waited.TotalMilliseconds);
                    else
                        _log.LogInformation("KV cache: taken for {Model} (it was free)", model);
                    return;
                }
                var owner = await GetOwnerAsync();
                if (owner is not null && owner != askedOwner)
                {
                    askedOwner = owner;
                    holder = await AskToReleaseAsync(owner) ?? holder;
                    lock (_lock) _lastHolder = holder?.Service ?? owner;
                }
                var left = Remaining(deadline);
                if (left <= TimeSpan.Zero)
                {
                    Interlocked.Increment(ref _refused);
                    var who = holder is null ? $"the holder ({askedOwner ?? "unknown"}) does not answer" : $"{holder.Service} holds it for {holder.Model} since {holder.Since:HH:mm:ss}Z";
                    // Retry once the holder said it would let go (at least a second; the wait again if it did not say).
                    var retry = holder is null ? _options.Wait : holder.NotBefore - DateTimeOffset.UtcNow;
                    throw new KvCacheBusyException(holder, retry < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : retry,
                        $"the NPU's KV cache is busy: {who}; no hand-off within {_options.Wait.TotalSeconds:0.#} s");
                }
                if (owner is not null) await WaitForOwnerChange(owner, Min(left, TimeSpan.FromMilliseconds(500)), ct);
            }
        }
        finally
        {
            _acquire.Release();
        }
    }

    /// <summary>Gives the cache up (the model is unloaded): the next requester in line takes it.</summary>
    public async Task ReleaseAsync()
    {
        bool was;
        lock (_lock)
        {
            was = _holding;
            _holding = false;
            _model = null;
        }
        if (!was) return;
        try
        {
            await _bus.CallMethodAsync(NameCall("ReleaseName", null), static (m, _) => m.GetBodyReader().ReadUInt32(), null);
        }
        catch (Exception e) when (e is DBusConnectionClosedException or ObjectDisposedException)
        {
            // The bus is gone: so is the name.
        }
        _log.LogInformation("KV cache: released");
    }

    /// <summary>
    /// org.freedesktop.DBus.RequestName with DO_NOT_QUEUE: true when this connection now owns the name. Called raw,
    /// not through the library's name tracking, which treats a refused request as a name still registered.
    /// </summary>
    private async Task<bool> RequestNameAsync()
    {
        const uint DoNotQueue = 4, PrimaryOwner = 1, AlreadyOwner = 4;
        var reply = await _bus.CallMethodAsync(NameCall("RequestName", DoNotQueue), static (m, _) => m.GetBodyReader().ReadUInt32(), null);
        return reply is PrimaryOwner or AlreadyOwner;
    }

    private MessageBuffer NameCall(string member, uint? flags)
    {
        using var writer = _bus.GetMessageWriter();
        writer.WriteMethodCallHeader("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", member, flags is null ? "s" : "su", MessageFlags.None);
        writer.WriteString(BusName);
        if (flags is { } f) writer.WriteUInt32(f);
        return writer.CreateMessage();
    }

    private async Task<string?> GetOwnerAsync()
    {
        try
        {
            var call = Message(_bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner", BusName);
            return await _bus.CallMethodAsync(call, static (m, _) => m.GetBodyReader().ReadString(), null);
        }
        catch (DBusErrorReplyException e) when (e.ErrorName == "org.freedesktop.DBus.Error.NameHasNoOwner")
        {
            return null;
        }
    }

    /// <summary>Asks <paramref name="owner"/> who it is and to release; null when it does not answer in time.</summary>
    private async Task<KvCacheHolder?> AskToReleaseAsync(string owner)
    {
        try
        {
            var holder = await Call(owner, "Holder", null, static (m, _) =>
            {
                var r = m.GetBodyReader();
                return (Service: r.ReadString(), Model: r.ReadString(), SinceMs: r.ReadInt64(), Active: r.ReadUInt32());
            });
            var info = new KvCacheHolder(holder.Service, holder.Model, DateTimeOffset.FromUnixTimeMilliseconds(holder.SinceMs), holder.Active, owner);
            var (accepted, notBeforeMs) = await Call(owner, "Release", _options.Service, static (m, _) =>
            {
                var r = m.GetBodyReader();
                return (r.ReadBool(), r.ReadInt64());
            });
            _log.LogInformation("KV cache: asked {Holder} ({Model}, {Active} running) to release it: {Answer}", info.Service, info.Model, info.Active,
                accepted ? $"it will after {DateTimeOffset.FromUnixTimeMilliseconds(notBeforeMs):HH:mm:ss.fff}Z" : "refused");
            return info with { NotBefore = DateTimeOffset.FromUnixTimeMilliseconds(notBeforeMs) };
        }
        catch (Exception e) when (e is TimeoutException or DBusErrorReplyException or DBusConnectionClosedException)
        {
            _log.LogWarning("KV cache: the holder {Owner} did not answer ({Error})", owner, e.Message);
            return null;
        }
    }

    private async Task<T> Call<T>(string destination, string member, string? arg, MessageValueReader<T> read)
    {
        var call = Message(_bus, destination, ObjectPath, Interface, member, arg);
        return await _bus.CallMethodAsync(call, read, null).WaitAsync(_options.CallTimeout);
    }

    /// <summary>A method call with no argument or one string argument.</summary>
    public static MessageBuffer Message(DBusConnection bus, string destination, string path, string iface, string member, string? arg)
    {
        using var writer = bus.GetMessageWriter();
        writer.WriteMethodCallHeader(destination, path, iface, member, arg is null ? null! : "s", MessageFlags.None);
        if (arg is not null) writer.WriteString(arg);
        return writer.CreateMessage();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void SignalOwnerChanged() => Interlocked.Exchange(ref _ownerChanged, NewSignal()).TrySetResult();

    /// <summary>
    /// Waits until the name's owner is no longer <paramref name="owner"/> (or, for null, has any owner), or the time
    /// is up: woken by the bus's NameOwnerChanged signal, with the owner read again after each one (and once first, as
    /// the signal may have come before the wait began).
    /// </summary>
    private async Task WaitForOwnerChange(string? owner, TimeSpan max, CancellationToken ct)
    {
        var until = Stopwatch.GetTimestamp() + (long)(max.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var changed = Volatile.Read(ref _ownerChanged).Task;
            var now = await GetOwnerAsync();
            if (owner is null ? now is not null : now != owner) return;
            var left = Remaining(until);
            if (left <= TimeSpan.Zero) return;
            try
            {
                await changed.WaitAsync(left, ct);
            }
            catch (TimeoutException)
            {
                return;
            }
        }
    }

    private static TimeSpan Remaining(long deadline) => TimeSpan.FromSeconds((deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>The holder's side of Release: not before MinHold has passed, then unload (after the running generation) and let go.</summary>
    private (bool Accepted, DateTimeOffset NotBefore) OnReleaseRequested(string requester)
    {
        lock (_lock)
        {
            if (!_holding) return (false, DateTimeOffset.UtcNow);
            var notBefore = _since + _options.MinHold;
            if (_releasing is null)
            {
                _log.LogInformation("KV cache: {Requester} asks for it; handing over after the running generation, not before {NotBefore:HH:mm:ss.fff}Z", requester, notBefore);
                _releasing = HandOverAsync(requester, notBefore);
            }
            return (true, notBefore);
        }
    }

    private async Task HandOverAsync(string requester, DateTimeOffset notBefore)
    {
        try
        {
            var wait = notBefore - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, _stopping.Token);
            lock (_lock) _yieldUntil = DateTimeOffset.UtcNow + _options.Yield;
            await _unload(_stopping.Token);
            await ReleaseAsync();
            Interlocked.Increment(ref _handedOver);
            _log.LogInformation("KV cache: handed over to {Requester}", requester);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _log.LogError(e, "KV cache: handing over to {Requester} failed", requester);
        }
        finally
        {
            lock (_lock) _releasing = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _bus.Dispose();
        _stopping.Dispose();
    }

    /// <summary>The exported object: Holder(), Release(s) and introspection.</summary>
    private sealed class Handler(KvCacheArbiter owner) : IPathMethodHandler
    {
        private static readonly ReadOnlyMemory<byte> Xml = """
            <interface name="org.hailo.KvCache1">
              <method name="Holder">
                <arg direction="out" type="s" name="service"/>
                <arg direction="out" type="s" name="model"/>
                <arg direction="out" type="x" name="since_unix_ms"/>
                <arg direction="out" type="u" name="active_requests"/>
              </method>
              <method name="Release">
                <arg direction="in" type="s" name="requester"/>
                <arg direction="out" type="b" name="accepted"/>
                <arg direction="out" type="x" name="not_before_unix_ms"/>
              </method>
            </interface>

            """u8.ToArray();

        public string Path => ObjectPath;
        public bool HandlesChildPaths => false;

        public ValueTask HandleMethodAsync(MethodContext context)
        {
            var request = context.Request;
            if (context.IsDBusIntrospectRequest)
            {
                context.ReplyIntrospectXml([Xml], Array.Empty<string>());
                return ValueTask.CompletedTask;
            }
            if (request.InterfaceAsString != Interface)
            {
                context.ReplyUnknownMethodError();
                return ValueTask.CompletedTask;
            }
            switch (request.MemberAsString, request.SignatureAsString)
            {
                case ("Holder", "" or null):
                {
                    var state = owner.State;
                    using var w = context.CreateReplyWriter("ssxu");
                    w.WriteString(owner._options.Service);
                    w.WriteString(state.Model ?? "");
                    w.WriteInt64(state.Since?.ToUnixTimeMilliseconds() ?? 0);
                    w.WriteUInt32(state.Holding ? owner._active() : 0);
                    context.Reply(w.CreateMessage());
                    break;
                }
                case ("Release", "s"):
                {
                    var requester = request.GetBodyReader().ReadString();
                    var (accepted, notBefore) = owner.OnReleaseRequested(requester);
                    using var w = context.CreateReplyWriter("bx");
                    w.WriteBool(accepted);
                    w.WriteInt64(notBefore.ToUnixTimeMilliseconds());
                    context.Reply(w.CreateMessage());
                    break;
                }
                default:
                    context.ReplyUnknownMethodError();
                    break;
            }
            return ValueTask.CompletedTask;
        }
    }
}
