using Tmds.DBus.Protocol;

namespace Hailo.Management;

/// <summary>A unit's state as systemd's D-Bus properties give it (org.freedesktop.systemd1.Unit and .Service).</summary>
public sealed record UnitInfo(
    string Name, string LoadState, string ActiveState, string SubState, string UnitFileState, string StatusText,
    ulong? MemoryBytes, uint Restarts, DateTimeOffset? ActiveSince, uint MainPid,
    IReadOnlyList<string> Environment, IReadOnlyList<string> SupplementaryGroups, string User);

/// <summary>The end of a job: its unit and systemd's result word (done, failed, canceled, timeout, dependency, skipped).</summary>
public sealed record JobResult(string Unit, string Result);

/// <summary>A D-Bus error reply from systemd or from the bus (polkit's refusal, an unknown unit, ...).</summary>
public sealed class SystemdException(string errorName, string message) : Exception(message)
{
    public string ErrorName { get; } = errorName;

    /// <summary>polkit said no, or would have asked for a password (these tools never ask).</summary>
    public bool IsAccessDenied => ErrorName is "org.freedesktop.DBus.Error.AccessDenied" or "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired";
}

/// <summary>
/// systemd's Manager over the system bus: the calls hailoctl and hailo-portal make, written with Tmds.DBus.Protocol (no reflection).
/// The bus address comes from DBUS_SYSTEM_BUS_ADDRESS (or --bus), else the standard system socket.
/// </summary>
public sealed class SystemdClient : IAsyncDisposable
{
    public const string DefaultAddress = "unix:path=/run/dbus/system_bus_socket";
    private const string Dest = "org.freedesktop.systemd1";
    private const string ManagerPath = "/org/freedesktop/systemd1";
    private const string ManagerIface = "org.freedesktop.systemd1.Manager";

    private readonly DBusConnection connection;
    private readonly object gate = new();
    private readonly Dictionary<string, JobResult> finished = new();
    private readonly Queue<string> finishedOrder = new();
    /// <summary>
    /// While subscribed, systemd signals the end of every job on the machine (timers, other services): the results
    /// nobody waits for yet are kept for a reply that may come after its signal, but only the latest this many.
    /// </summary>
    private const int KeptResults = 256;
    private readonly Dictionary<string, TaskCompletionSource<JobResult>> waiting = new();
    private IDisposable? jobWatch;

    private SystemdClient(DBusConnection connection) => this.connection = connection;

    public static async Task<SystemdClient> ConnectAsync(string address)
    {
        var c = new DBusConnection(address);
        try
        {
            await c.ConnectAsync();
        }
        catch (Exception e)
        {
            c.Dispose();
            throw new BusUnavailableException($"cannot reach the system bus at {address}: {e.Message}", e);
        }
        return new SystemdClient(c);
    }

    public ValueTask DisposeAsync()
    {
        jobWatch?.Dispose();
        connection.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<T> CallAsync<T>(MessageBuffer message, MessageValueReader<T> reader)
    {
        try
        {
            return await connection.CallMethodAsync(message, reader);
        }
        catch (DBusErrorReplyException e)
        {
            throw new SystemdException(e.ErrorName, e.ErrorMessage);
        }
    }

    private async Task CallAsync(MessageBuffer message)
    {
        try
        {
            await connection.CallMethodAsync(message);
        }
        catch (DBusErrorReplyException e)
        {
            throw new SystemdException(e.ErrorName, e.ErrorMessage);
        }
    }

    /// <summary>Unit files matching the patterns (e.g. hailo-*.service) with their enablement state, sorted by name.</summary>
    public async Task<IReadOnlyList<(string Name, string State)>> ListUnitFilesAsync(params string[] patterns)
    {
        MessageBuffer msg;
        using (var w = connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader(Dest, ManagerPath, ManagerIface, "ListUnitFilesByPatterns", "asas", MessageFlags.None);
            w.WriteArray(Array.Empty<string>());
            w.WriteArray(patterns);
            msg = w.CreateMessage();
        }
        var list = await CallAsync(msg, static (Message m, object? _) =>
        {
            var r = m.GetBodyReader();
            var result = new List<(string, string)>();
            var end = r.ReadArrayStart(DBusType.Struct);
            while (r.HasNext(end))
            {
                r.AlignStruct();
                var path = r.ReadString();
                var state = r.ReadString();
                result.Add((Path.GetFileName(path), state));
            }
            return result;
        });
        return list.DistinctBy(u => u.Item1).OrderBy(u => u.Item1, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The unit's object path; LoadUnit also answers for units that are not loaded (LoadState not-found).</summary>
    public Task<string> LoadUnitAsync(string unit)
    {
        MessageBuffer msg;
        using (var w = connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader(Dest, ManagerPath, ManagerIface, "LoadUnit", "s", MessageFlags.None);
            w.WriteString(unit);
            msg = w.CreateMessage();
        }
        return CallAsync(msg, static (Message m, object? _) => m.GetBodyReader().ReadObjectPathAsString());
    }

    private Task<Dictionary<string, VariantValue>> GetAllAsync(string path, string iface)
    {
        MessageBuffer msg;
        using (var w = connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader(Dest, path, "org.freedesktop.DBus.Properties", "GetAll", "s", MessageFlags.None);
            w.WriteString(iface);
            msg = w.CreateMessage();
        }
        return CallAsync(msg, static (Message m, object? _) => m.GetBodyReader().ReadDictionaryOfStringToVariantValue());
    }

    public async Task<UnitInfo> GetUnitAsync(string unit)
    {
        var path = await LoadUnitAsync(unit);
        var u = await GetAllAsync(path, "org.freedesktop.systemd1.Unit");
        var s = unit.EndsWith(".service", StringComparison.Ordinal)
            ? await GetAllAsync(path, "org.freedesktop.systemd1.Service")
            : new Dictionary<string, VariantValue>();
        var since = U64(u, "ActiveEnterTimestamp");
        var memory = U64(s, "MemoryCurrent");
        return new UnitInfo(unit, Str(u, "LoadState"), Str(u, "ActiveState"), Str(u, "SubState"), Str(u, "UnitFileState"),
            Str(s, "StatusText"),
            memory is null or ulong.MaxValue ? null : memory,
            s.TryGetValue("NRestarts", out var n) && n.Type == VariantValueType.UInt32 ? n.GetUInt32() : 0,
            since is null or 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)(since.Value / 1000)),
            s.TryGetValue("MainPID", out var pid) && pid.Type == VariantValueType.UInt32 ? pid.GetUInt32() : 0,
            Strings(s, "Environment"), Strings(s, "SupplementaryGroups"), Str(s, "User"));
    }

    private static string Str(Dictionary<string, VariantValue> d, string key) =>
        d.TryGetValue(key, out var v) && v.Type == VariantValueType.String ? v.GetString() : "";

    private static ulong? U64(Dictionary<string, VariantValue> d, string key) =>
        d.TryGetValue(key, out var v) && v.Type == VariantValueType.UInt64 ? v.GetUInt64() : null;

    private static string[] Strings(Dictionary<string, VariantValue> d, string key) =>
        d.TryGetValue(key, out var v) && v.Type == VariantValueType.Array && v.ItemType == VariantValueType.String ? v.GetArray<string>() : [];

    /// <summary>Asks systemd to send JobRemoved (it signals only while some client is subscribed); then listens for it.</summary>
    public async Task WatchJobsAsync()
    {
        if (jobWatch is not null) return;
        var rule = new MatchRule { Type = MessageType.Signal, Interface = ManagerIface, Member = "JobRemoved", Path = ManagerPath };
        jobWatch = await connection.AddMatchAsync(rule,
            static (Message m, object? _) =>
            {
                var r = m.GetBodyReader();
                r.ReadUInt32();
                var job = r.ReadObjectPathAsString();
                var unit = r.ReadString();
                var result = r.ReadString();
                return (job, new JobResult(unit, result));
            },
            static (Notification<(string Job, JobResult Result)> n) =>
            {
                if (n.HasValue) ((SystemdClient)n.State!).OnJobRemoved(n.Value.Job, n.Value.Result);
            }, false, ObserverFlags.None, this);
        MessageBuffer msg;
        using (var w = connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader(Dest, ManagerPath, ManagerIface, "Subscribe", null, MessageFlags.None);
            msg = w.CreateMessage();
        }
        try
        {
            await CallAsync(msg);
        }
        catch (SystemdException e) when (e.ErrorName == "org.freedesktop.systemd1.AlreadySubscribed")
        {
        }
    }

    private void OnJobRemoved(string job, JobResult result)
    {
        lock (gate)
        {
            if (waiting.Remove(job, out var tcs)) tcs.TrySetResult(result);
            else
            {
                finished[job] = result;
                finishedOrder.Enqueue(job);
                while (finishedOrder.Count > KeptResults) finished.Remove(finishedOrder.Dequeue());
            }
        }
    }

    /// <summary>StartUnit/StopUnit/RestartUnit with mode "replace"; returns the job's object path.</summary>
    public Task<string> UnitJobAsync(string method, string unit)
    {
        MessageBuffer msg;
        using (var w = connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader(Dest, ManagerPath, ManagerIface, method, "ss", MessageFlags.None);
            w.WriteString(unit);
            w.WriteString("replace");
            msg = w.CreateMessage();
        }
        return CallAsync(msg, static (Message m, object? _) => m.GetBodyReader().ReadObjectPathAsString());
    }

    /// <summary>Waits for the job's JobRemoved signal (WatchJobsAsync first); null on timeout.</summary>
    public async Task<JobResult?> WaitJobAsync(string job, TimeSpan timeout)
    {
        TaskCompletionSource<JobResult> tcs;
        lock (gate)
        {
            if (finished.Remove(job, out var done)) return done;
            tcs = new TaskCompletionSource<JobResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting[job] = tcs;
        }
        try
        {
            return await tcs.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            lock (gate) waiting.Remove(job);
            return null;
        }
    }

    /// <summary>EnableUnitFiles or DisableUnitFiles (not runtime, not forced); the changes as (type, file, destination).</summary>
    public Task<List<(string Type, string File, string Destination)>> UnitFilesAsync(bool enable, IReadOnlyList<string> units)
    {
        MessageBuffer msg;
        using (var w = connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader(Dest, ManagerPath, ManagerIface, enable ? "EnableUnitFiles" : "DisableUnitFiles", enable ? "asbb" : "asb", MessageFlags.None);
            w.WriteArray(units.ToArray());
            w.WriteBool(false);
            if (enable) w.WriteBool(false);
            msg = w.CreateMessage();
        }
        return CallAsync<List<(string, string, string)>>(msg, enable
            ? static (Message m, object? _) =>
            {
                var r = m.GetBodyReader();
                r.ReadBool();
                return ReadChanges(ref r);
            }
            : static (Message m, object? _) =>
            {
                var r = m.GetBodyReader();
                return ReadChanges(ref r);
            });
    }

    private static List<(string, string, string)> ReadChanges(ref Reader r)
    {
        var changes = new List<(string, string, string)>();
        var end = r.ReadArrayStart(DBusType.Struct);
        while (r.HasNext(end))
        {
            r.AlignStruct();
            changes.Add((r.ReadString(), r.ReadString(), r.ReadString()));
        }
        return changes;
    }

    /// <summary>Manager.Reload (daemon-reload), after enabling or disabling.</summary>
    public Task ReloadAsync()
    {
        MessageBuffer msg;
        using (var w = connection.GetMessageWriter())
        {
            w.WriteMethodCallHeader(Dest, ManagerPath, ManagerIface, "Reload", null, MessageFlags.None);
            msg = w.CreateMessage();
        }
        return CallAsync(msg);
    }
}

/// <summary>The system bus could not be reached (no socket, refused, not a D-Bus daemon).</summary>
public sealed class BusUnavailableException(string message, Exception inner) : Exception(message, inner);
