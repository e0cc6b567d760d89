using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HailoCtl;

/// <summary>What hailoctl reads from its environment; tests point it at a private bus and a temporary config directory.</summary>
internal sealed record CtlSettings(string BusAddress, string ConfigDir, string Journalctl, string? Token)
{
    public static CtlSettings FromEnvironment() => new(
        NonEmpty(Environment.GetEnvironmentVariable("DBUS_SYSTEM_BUS_ADDRESS")) ?? SystemdClient.DefaultAddress,
        NonEmpty(Environment.GetEnvironmentVariable("HAILOCTL_CONFIG_DIR")) ?? "/etc/hailo",
        NonEmpty(Environment.GetEnvironmentVariable("HAILOCTL_JOURNALCTL")) ?? "journalctl",
        NonEmpty(Environment.GetEnvironmentVariable("HAILO_TOKEN")));

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}

/// <summary>The parsed command line.</summary>
internal sealed class Invocation
{
    public required CommandSpec Command { get; init; }
    public List<string> Args { get; } = [];
    public bool Json { get; set; }
    public bool Help { get; set; }
    public bool Follow { get; set; }
    public int? Lines { get; set; }
    public double? Timeout { get; set; }
    public required CtlSettings Settings { get; set; }
}

internal static partial class Cli
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CtlSettings settings)
    {
        try
        {
            if (args.Length == 0)
            {
                stderr.Write(Commands.Usage());
                return ExitCodes.Usage;
            }
            switch (args[0])
            {
                case "--help" or "-h":
                    stdout.Write(Commands.Usage());
                    return ExitCodes.Ok;
                case "--version" or "-V":
                    stdout.WriteLine("hailoctl " + Commands.Version);
                    return ExitCodes.Ok;
                case "--help-man":
                    stdout.Write(Commands.Man());
                    return ExitCodes.Ok;
                case "--help-completion":
                    stdout.Write(Commands.BashCompletion());
                    return ExitCodes.Ok;
            }
            var inv = Parse(args, settings);
            if (inv.Help)
            {
                stdout.Write(Commands.Help(inv.Command));
                return ExitCodes.Ok;
            }
            return inv.Command.Name switch
            {
                "help" => HelpCommand(inv, stdout),
                "status" => await StatusAsync(inv, stdout, stderr),
                "start" or "stop" or "restart" => await JobsAsync(inv, stdout, stderr),
                "enable" or "disable" => await UnitFilesAsync(inv, stdout, stderr),
                "models" => await ServiceApi.ModelsAsync(inv, stdout, stderr),
                "pull" => await ServiceApi.PullAsync(inv, stdout, stderr),
                "logs" => await LogsAsync(inv, stderr),
                "doctor" => await Doctor.RunAsync(inv, stdout, stderr),
                _ => throw new CtlException($"unknown command '{inv.Command.Name}'"),
            };
        }
        catch (CtlException e)
        {
            stderr.WriteLine("hailoctl: " + e.Message);
            if (e.ExitCode == ExitCodes.Usage) stderr.WriteLine("Try 'hailoctl --help'.");
            return e.ExitCode;
        }
        catch (SystemdException e) when (e.IsAccessDenied)
        {
            stderr.WriteLine(RefusedMessage(e));
            return ExitCodes.Refused;
        }
        catch (SystemdException e)
        {
            stderr.WriteLine($"hailoctl: systemd: {e.Message} ({e.ErrorName})");
            return ExitCodes.Failure;
        }
        catch (Exception e)
        {
            // Whatever else goes wrong (the bus went away, an I/O error): one line, never a stack trace.
            stderr.WriteLine($"hailoctl: {e.Message} ({e.GetType().Name})");
            return ExitCodes.Failure;
        }
    }

    public static string RefusedMessage(SystemdException e) =>
        $"hailoctl: not allowed: {e.Message}\n" +
        $"Only members of the group {Commands.Group} (or root) may start, stop and restart the Hailo services. Either add yourself to it and log in again:\n" +
        $"    sudo usermod -aG {Commands.Group} $USER\n" +
        "or run the command with sudo.";

    private static Invocation Parse(string[] args, CtlSettings settings)
    {
        var spec = Commands.Find(args[0]) ?? throw new CtlException(
            args[0].StartsWith('-') ? $"unknown option '{Clean(args[0])}'" : $"unknown command '{Clean(args[0])}' (commands: {string.Join(", ", Commands.All.Select(c => c.Name))})");
        var inv = new Invocation { Command = spec, Settings = settings };
        var allowed = spec.Options.Concat(Commands.Global).Select(o => o.Flag).ToHashSet();
        for (var i = 1; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "--")
            {
                inv.Args.AddRange(args[(i + 1)..]);
                break;
            }
            if (!a.StartsWith('-') || a == "-")
            {
                inv.Args.Add(a);
                continue;
            }
            string flag = a;
            string? inline = null;
            var eq = a.IndexOf('=');
            if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0) (flag, inline) = (a[..eq], a[(eq + 1)..]);
            if (flag is "-h") flag = "--help";
            if (!allowed.Contains(flag)) throw new CtlException($"unknown option '{Clean(flag)}' for {spec.Name}");
            string Value()
            {
                if (inline is not null) return inline;
                if (i + 1 >= args.Length) throw new CtlException($"option {flag} needs a value");
                return args[++i];
            }
            switch (flag)
            {
                case "--help": inv.Help = true; break;
                case "--json": inv.Json = true; break;
                case "-f": inv.Follow = true; break;
                case "-n":
                    inv.Lines = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 1_000_000 ? n
                        : throw new CtlException("-n takes a number of lines (0 to 1000000)");
                    break;
                case "--timeout":
                    inv.Timeout = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var t) && t > 0 && t <= 86400 ? t
                        : throw new CtlException("--timeout takes a number of seconds (more than 0, at most 86400)");
                    break;
                case "--token": inv.Settings = inv.Settings with { Token = Value() }; break;
                case "--bus": inv.Settings = inv.Settings with { BusAddress = Value() }; break;
                case "--config-dir": inv.Settings = inv.Settings with { ConfigDir = Value() }; break;
            }
        }
        return inv;
    }

    /// <summary>User text echoed in a message: control characters shown escaped, length bounded.</summary>
    public static string Clean(string s)
    {
        var t = new string(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return t.Length > 80 ? t[..80] + "…" : t;
    }

    private static int HelpCommand(Invocation inv, TextWriter stdout)
    {
        if (inv.Args.Count == 0)
        {
            stdout.Write(Commands.Usage());
            return ExitCodes.Ok;
        }
        var c = Commands.Find(inv.Args[0]) ?? throw new CtlException($"no command '{Clean(inv.Args[0])}'");
        stdout.Write(Commands.Help(c));
        return ExitCodes.Ok;
    }

    /// <summary>pose, hailo-pose, hailo-pose.service → hailo-pose; null when it cannot be a service's name.</summary>
    public static string? Normalise(string name) => ServiceNames.Normalise(name);

    /// <summary>The installed services (hailo-*.service unit files), without the .service suffix.</summary>
    public static Task<List<string>> InstalledAsync(SystemdClient systemd) => ServiceNames.InstalledAsync(systemd);

    /// <summary>The system bus's systemd, or the one-line reason it cannot be reached.</summary>
    public static async Task<SystemdClient> ConnectAsync(string address)
    {
        try
        {
            return await SystemdClient.ConnectAsync(address);
        }
        catch (BusUnavailableException e)
        {
            throw new CtlException(e.Message, ExitCodes.Failure);
        }
    }

    /// <summary>The services the arguments name: all, or each normalised name, which must be installed.</summary>
    public static List<string> Select(IReadOnlyList<string> args, IReadOnlyList<string> installed, bool noneMeansAll)
    {
        if (args.Count == 0)
        {
            if (noneMeansAll) return installed.ToList();
            throw new CtlException("name a service, or all");
        }
        var result = new List<string>();
        foreach (var a in args)
        {
            if (a == "all")
            {
                result.AddRange(installed);
                continue;
            }
            var n = Normalise(a) ?? throw new CtlException($"'{Clean(a)}' is not a service name (e.g. pose, hailo-pose or hailo-pose.service)");
            if (!installed.Contains(n))
                throw new CtlException($"no service {n} is installed" + (installed.Count == 0 ? " (no hailo-*.service is installed)" : $" (installed: {string.Join(", ", installed.Select(s => s["hailo-".Length..]))})"));
            result.Add(n);
        }
        return result.Distinct().ToList();
    }

    private static async Task<int> StatusAsync(Invocation inv, TextWriter stdout, TextWriter stderr)
    {
        await using var systemd = await ConnectAsync(inv.Settings.BusAddress);
        var installed = await InstalledAsync(systemd);
        var services = Select(inv.Args, installed, noneMeansAll: true);
        if (services.Count == 0)
        {
            stderr.WriteLine("hailoctl: no hailo-*.service is installed");
            return ExitCodes.Failure;
        }
        var timeout = TimeSpan.FromSeconds(inv.Timeout ?? 5);
        using var http = ServiceApi.Client(timeout, null);
        var now = DateTimeOffset.UtcNow;
        var rows = await Task.WhenAll(services.Select(async s =>
        {
            var unit = await systemd.GetUnitAsync(s + ".service");
            var endpoint = Ports.Resolve(s, unit.Environment, inv.Settings.ConfigDir);
            int? code = null;
            HealthDoc? health = null;
            string? error = null;
            if (unit.ActiveState is "active" or "reloading" or "activating" or "deactivating")
            {
                if (endpoint is null) error = "no port known";
                else (code, health, error) = await ServiceApi.HealthAsync(http, endpoint);
            }
            var ready = unit.ActiveState == "active" && code == 200;
            return new ServiceStatus(s, unit.Name, unit.LoadState, unit.ActiveState, unit.SubState, unit.UnitFileState, unit.StatusText,
                endpoint?.Port, endpoint?.Source, unit.MemoryBytes, unit.Restarts, unit.ActiveSince,
                unit.ActiveState == "active" && unit.ActiveSince is { } since ? Math.Round((now - since).TotalSeconds, 0) : null,
                code, health, error, ready);
        }));
        var report = new StatusReport(rows.All(r => r.Ready), rows);
        if (inv.Json) stdout.WriteLine(JsonSerializer.Serialize(report, CtlJson.Out.StatusReport));
        else Table.Write(stdout, ["SERVICE", "STATE", "BACKEND", "MODELS", "PORT", "RSS", "RESTARTS", "UPTIME", "STATUS"],
            rows.Select(r => new[]
            {
                r.Service["hailo-".Length..],
                r.ActiveState + "/" + r.SubState,
                r.Health?.Backend ?? "-",
                r.Health?.Models is { Count: > 0 } m ? string.Join(",", m.Select(x => x.Name + ":" + x.State)) : "-",
                r.Port?.ToString(CultureInfo.InvariantCulture) ?? "?",
                r.MemoryBytes is { } b ? Table.Bytes(b) : "-",
                r.Restarts.ToString(CultureInfo.InvariantCulture),
                r.UptimeSeconds is { } u ? Table.Duration(u) : "-",
                r.StatusText.Length > 0 ? r.StatusText : r.HealthError ?? (r.HealthHttpStatus is { } c && c != 200 ? $"/health {c}: {r.Health?.Reason}" : ""),
            }));
        return report.Ready ? ExitCodes.Ok : ExitCodes.Failure;
    }

    private static async Task<int> JobsAsync(Invocation inv, TextWriter stdout, TextWriter stderr)
    {
        await using var systemd = await ConnectAsync(inv.Settings.BusAddress);
        var installed = await InstalledAsync(systemd);
        var services = Select(inv.Args, installed, noneMeansAll: false);
        if (services.Count == 0) throw new CtlException("no hailo-*.service is installed", ExitCodes.Failure);
        var method = inv.Command.Name switch { "start" => "StartUnit", "stop" => "StopUnit", _ => "RestartUnit" };
        var timeout = TimeSpan.FromSeconds(inv.Timeout ?? 300);
        await systemd.WatchJobsAsync();
        // Every job is queued first, so that they run in parallel (a refusal of the first stops before anything changed),
        // then each is awaited.
        var jobs = new List<(string Service, string Job)>();
        foreach (var s in services) jobs.Add((s, await systemd.UnitJobAsync(method, s + ".service")));
        var failed = 0;
        foreach (var (s, job) in jobs)
        {
            var result = await systemd.WaitJobAsync(job, timeout);
            var verb = inv.Command.Name switch { "start" => "started", "stop" => "stopped", _ => "restarted" };
            if (result is null)
            {
                failed++;
                stderr.WriteLine($"{s}: the {inv.Command.Name} job did not end within {timeout.TotalSeconds:0} s (it goes on in systemd; see hailoctl status {s[6..]})");
            }
            else if (result.Result == "done")
            {
                stdout.WriteLine($"{s}: {verb}");
            }
            else
            {
                failed++;
                stderr.WriteLine($"{s}: {inv.Command.Name} {result.Result}; see: hailoctl status {s[6..]}; hailoctl logs {s[6..]}");
            }
        }
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failure;
    }

    private static async Task<int> UnitFilesAsync(Invocation inv, TextWriter stdout, TextWriter stderr)
    {
        await using var systemd = await ConnectAsync(inv.Settings.BusAddress);
        var installed = await InstalledAsync(systemd);
        var services = Select(inv.Args, installed, noneMeansAll: false);
        if (services.Count == 0) throw new CtlException("no hailo-*.service is installed", ExitCodes.Failure);
        var enable = inv.Command.Name == "enable";
        List<(string Type, string File, string Destination)> changes;
        try
        {
            changes = await systemd.UnitFilesAsync(enable, services.Select(s => s + ".service").ToArray());
            await systemd.ReloadAsync();
        }
        catch (SystemdException e) when (e.IsAccessDenied)
        {
            // Not something hailo-admin can be given: polkit's manage-unit-files carries no unit name, and systemd's policy
            // makes it imply managing every unit.
            throw new CtlException(
                $"not allowed: {e.Message}\nEnabling and disabling services at boot is root's (polkit cannot limit it to the Hailo units); run:\n" +
                $"    sudo hailoctl {inv.Command.Name} {string.Join(' ', inv.Args.Select(Clean))}", ExitCodes.Refused);
        }
        foreach (var (type, file, dest) in changes)
            stdout.WriteLine(type == "symlink" ? $"created symlink {file} → {dest}" : type == "unlink" ? $"removed {file}" : $"{type} {file} {dest}".TrimEnd());
        foreach (var s in services) stdout.WriteLine($"{s}: {(enable ? "enabled" : "disabled")}");
        return ExitCodes.Ok;
    }

    private static async Task<int> LogsAsync(Invocation inv, TextWriter stderr)
    {
        if (inv.Args.Count != 1) throw new CtlException("logs takes one service");
        var n = Normalise(inv.Args[0]) ?? throw new CtlException($"'{Clean(inv.Args[0])}' is not a service name (e.g. pose, hailo-pose or hailo-pose.service)");
        var psi = Journal.Command(inv.Settings.Journalctl, n + ".service", inv.Lines, inv.Follow);
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new CtlException("could not start journalctl", ExitCodes.Failure);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new CtlException($"could not run {inv.Settings.Journalctl}: {e.Message}", ExitCodes.Failure);
        }
        using (p)
        {
            await p.WaitForExitAsync();
            if (p.ExitCode != 0) stderr.WriteLine($"hailoctl: journalctl exited with {p.ExitCode}; reading the system journal needs the group systemd-journal or adm (sudo usermod -aG systemd-journal $USER), or sudo");
            return p.ExitCode == 0 ? ExitCodes.Ok : ExitCodes.Failure;
        }
    }
}

/// <summary>Plain aligned columns for a terminal.</summary>
internal static class Table
{
    public static void Write(TextWriter w, string[] header, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { header };
        all.AddRange(rows);
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        foreach (var r in all)
            w.WriteLine(string.Join("  ", r.Select((c, i) => i == r.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd());
    }

    public static string Bytes(ulong b) => b >= 1 << 30 ? $"{b / 1073741824.0:0.0}G".Replace(',', '.') : $"{b / 1048576.0:0.0}M".Replace(',', '.');

    public static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalDays >= 1 ? $"{(int)t.TotalDays}d{t.Hours}h" : t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes}m" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m{t.Seconds}s" : $"{(int)t.TotalSeconds}s";
    }
}
