using System.Collections.Concurrent;
using Tmds.DBus.Protocol;

namespace Hailo.TestSupport;

/// <summary>A unit as the fake systemd knows it; the job result says how its next start/stop/restart job ends.</summary>
public sealed class FakeUnit
{
    public required string Name { get; init; }
    public string ActiveState { get; set; } = "active";
    public string SubState { get; set; } = "running";
    public string UnitFileState { get; set; } = "enabled";
    public string StatusText { get; set; } = "";
    public ulong MemoryCurrent { get; set; } = ulong.MaxValue;
    public uint NRestarts { get; set; }
    public ulong ActiveEnterTimestamp { get; set; }
    public string[] Environment { get; set; } = [];
    public string[] SupplementaryGroups { get; set; } = ["hailo"];
    public string JobResult { get; set; } = "done";
}

/// <summary>
/// systemd's Manager and Unit objects, served on a private bus under the name org.freedesktop.systemd1: the calls hailoctl
/// makes, each recorded; jobs end with a JobRemoved signal; Refuse answers every change with polkit's AccessDenied.
/// </summary>
public sealed class FakeSystemd : IPathMethodHandler, IAsyncDisposable
{
    private const string ManagerIface = "org.freedesktop.systemd1.Manager";
    private readonly DBusConnection connection;
    private uint nextJob = 100;

    public ConcurrentDictionary<string, FakeUnit> Units { get; } = new();
    public ConcurrentQueue<string> Calls { get; } = new();
    public bool Refuse { get; set; }
    /// <summary>One unit whose start/stop/restart polkit refuses (the others are allowed).</summary>
    public string? RefuseUnit { get; set; }
    public bool InteractiveRefusal { get; set; }
    public bool SignalBeforeReply { get; set; }

    public string Path => "/org/freedesktop/systemd1";
    public bool HandlesChildPaths => true;

    private FakeSystemd(DBusConnection connection) => this.connection = connection;

    public static async Task<FakeSystemd> StartAsync(string address)
    {
        var c = new DBusConnection(address);
        await c.ConnectAsync();
        var fake = new FakeSystemd(c);
        c.AddMethodHandler(fake);
        await c.RequestNameAsync("org.freedesktop.systemd1", RequestNameOptions.Default);
        return fake;
    }

    public FakeUnit Add(string name, Action<FakeUnit>? configure = null)
    {
        var u = new FakeUnit { Name = name };
        configure?.Invoke(u);
        Units[name] = u;
        return u;
    }

    public ValueTask DisposeAsync()
    {
        connection.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string UnitPath(string unit) => "/org/freedesktop/systemd1/unit/" + unit.Replace("-", "_2d").Replace(".", "_2e");

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        var req = context.Request;
        var member = req.MemberAsString ?? "";
        var iface = req.InterfaceAsString ?? "";
        var path = req.PathAsString ?? "";
        var reader = req.GetBodyReader();
        if (iface == "org.freedesktop.DBus.Properties" && member == "GetAll")
        {
            var which = reader.ReadString();
            var unit = Units.Values.FirstOrDefault(u => UnitPath(u.Name) == path);
            Calls.Enqueue($"GetAll {unit?.Name} {which}");
            if (unit is null)
            {
                context.ReplyError("org.freedesktop.DBus.Error.UnknownObject", "no such object " + path);
                return ValueTask.CompletedTask;
            }
            var props = new Dictionary<string, VariantValue>();
            if (which == "org.freedesktop.systemd1.Unit")
            {
                props["Id"] = unit.Name;
                props["LoadState"] = "loaded";
                props["ActiveState"] = unit.ActiveState;
                props["SubState"] = unit.SubState;
                props["UnitFileState"] = unit.UnitFileState;
                props["ActiveEnterTimestamp"] = VariantValue.UInt64(unit.ActiveEnterTimestamp);
            }
            else if (which == "org.freedesktop.systemd1.Service")
            {
                props["StatusText"] = unit.StatusText;
                props["MemoryCurrent"] = VariantValue.UInt64(unit.MemoryCurrent);
                props["NRestarts"] = VariantValue.UInt32(unit.NRestarts);
                props["MainPID"] = VariantValue.UInt32(unit.ActiveState == "active" ? 4242u : 0u);
                props["User"] = unit.Name.Replace(".service", "");
                props["Environment"] = VariantValue.Array(unit.Environment);
                props["SupplementaryGroups"] = VariantValue.Array(unit.SupplementaryGroups);
            }
            using var w = context.CreateReplyWriter("a{sv}");
            w.WriteDictionary(props);
            context.Reply(w.CreateMessage());
            return ValueTask.CompletedTask;
        }
        if (iface != ManagerIface || path != Path)
        {
            context.ReplyUnknownMethodError();
            return ValueTask.CompletedTask;
        }
        switch (member)
        {
            case "Subscribe":
            case "Reload" when !Refuse:
            {
                Calls.Enqueue(member);
                using var w = context.CreateReplyWriter(null);
                context.Reply(w.CreateMessage());
                break;
            }
            case "ListUnitFilesByPatterns":
            {
                var states = reader.ReadArrayOfString();
                var patterns = reader.ReadArrayOfString();
                Calls.Enqueue($"ListUnitFilesByPatterns {string.Join(',', patterns)}");
                using var w = context.CreateReplyWriter("a(ss)");
                var start = w.WriteArrayStart(DBusType.Struct);
                foreach (var u in Units.Values.Where(u => patterns.Any(p => Matches(p, u.Name))).OrderBy(u => u.Name))
                {
                    w.WriteStructureStart();
                    w.WriteString("/usr/lib/systemd/system/" + u.Name);
                    w.WriteString(u.UnitFileState);
                }
                w.WriteArrayEnd(start);
                context.Reply(w.CreateMessage());
                break;
            }
            case "LoadUnit" or "GetUnit":
            {
                var name = reader.ReadString();
                Calls.Enqueue($"{member} {name}");
                if (!Units.ContainsKey(name))
                {
                    context.ReplyError("org.freedesktop.systemd1.NoSuchUnit", $"Unit {name} not loaded.");
                    break;
                }
                using var w = context.CreateReplyWriter("o");
                w.WriteObjectPath(UnitPath(name));
                context.Reply(w.CreateMessage());
                break;
            }
            case "StartUnit" or "StopUnit" or "RestartUnit":
            {
                var name = reader.ReadString();
                var mode = reader.ReadString();
                Calls.Enqueue($"{member} {name} {mode}");
                if (Refuse || name == RefuseUnit)
                {
                    Deny(context);
                    break;
                }
                if (!Units.TryGetValue(name, out var unit))
                {
                    context.ReplyError("org.freedesktop.systemd1.NoSuchUnit", $"Unit {name} not found.");
                    break;
                }
                var id = Interlocked.Increment(ref nextJob);
                var job = "/org/freedesktop/systemd1/job/" + id;
                if (unit.JobResult == "done")
                {
                    (unit.ActiveState, unit.SubState) = member == "StopUnit" ? ("inactive", "dead") : ("active", "running");
                }
                else if (member != "StopUnit")
                {
                    (unit.ActiveState, unit.SubState) = ("failed", "failed");
                }
                if (SignalBeforeReply) SendJobRemoved(id, job, name, unit.JobResult);
                using (var w = context.CreateReplyWriter("o"))
                {
                    w.WriteObjectPath(job);
                    context.Reply(w.CreateMessage());
                }
                if (!SignalBeforeReply) SendJobRemoved(id, job, name, unit.JobResult);
                break;
            }
            case "EnableUnitFiles" or "DisableUnitFiles":
            {
                var files = reader.ReadArrayOfString();
                Calls.Enqueue($"{member} {string.Join(',', files)}");
                if (Refuse)
                {
                    Deny(context);
                    break;
                }
                var enable = member == "EnableUnitFiles";
                using var w = context.CreateReplyWriter(enable ? "ba(sss)" : "a(sss)");
                if (enable) w.WriteBool(true);
                var start = w.WriteArrayStart(DBusType.Struct);
                foreach (var f in files)
                {
                    if (Units.TryGetValue(f, out var u)) u.UnitFileState = enable ? "enabled" : "disabled";
                    w.WriteStructureStart();
                    w.WriteString(enable ? "symlink" : "unlink");
                    w.WriteString("/etc/systemd/system/hailo-ai.target.wants/" + f);
                    w.WriteString(enable ? "/usr/lib/systemd/system/" + f : "");
                }
                w.WriteArrayEnd(start);
                context.Reply(w.CreateMessage());
                break;
            }
            case "Reload":
                Calls.Enqueue(member);
                Deny(context);
                break;
            default:
                context.ReplyUnknownMethodError();
                break;
        }
        return ValueTask.CompletedTask;
    }

    private void Deny(MethodContext context) =>
        context.ReplyError(InteractiveRefusal ? "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" : "org.freedesktop.DBus.Error.AccessDenied",
            InteractiveRefusal ? "Interactive authentication required." : "Access denied");

    private void SendJobRemoved(uint id, string job, string unit, string result)
    {
        using var w = connection.GetMessageWriter();
        w.WriteSignalHeader(null, Path, ManagerIface, "JobRemoved", "uoss");
        w.WriteUInt32(id);
        w.WriteObjectPath(job);
        w.WriteString(unit);
        w.WriteString(result);
        connection.TrySendMessage(w.CreateMessage());
    }

    private static bool Matches(string pattern, string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$");
}
