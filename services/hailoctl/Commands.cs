using System.Text;

namespace HailoCtl;

/// <summary>Exit statuses, the same for every command (listed by --help and the man page).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Refused = 4;

    public static readonly (int Code, string Meaning)[] All =
    [
        (Ok, "success; for status: every service named is active and its /health answers 200"),
        (Failure, "something is not ready or did not work: a unit not active, /health not 200, a job that failed, a service that did not answer"),
        (Usage, "usage error: an unknown command, option or service"),
        (Refused, "polkit refused the request: the user is not in the group hailo-admin, or asked to enable or disable (root's), without sudo"),
    ];
}

/// <summary>A usage error (exit 2) or a failure with a message and no stack trace.</summary>
internal sealed class CtlException(string message, int exitCode = ExitCodes.Usage) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>One option: its flag, the name of its value (null for a switch) and what it does.</summary>
internal sealed record OptionSpec(string Flag, string? Value, string Help);

/// <summary>One command: the single source of --help, `hailoctl help COMMAND`, the man page and the bash completion.</summary>
internal sealed record CommandSpec(string Name, string Args, string Summary, string Description, OptionSpec[] Options, bool CompletesServices);

internal static class Commands
{
    public const string Group = ServiceNames.AdminGroup;
    public const string UnitPattern = ServiceNames.UnitPattern;

    public static readonly OptionSpec Json = new("--json", null, "print JSON for scripts instead of the table");
    public static readonly OptionSpec Timeout = new("--timeout", "SECONDS", "how long to wait for each job or HTTP answer (default: 300 for jobs, 5 for HTTP)");
    public static readonly OptionSpec Token = new("--token", "TOKEN", "bearer token for a service with server.auth_token set (default: $HAILO_TOKEN)");

    /// <summary>Options every command takes.</summary>
    public static readonly OptionSpec[] Global =
    [
        new("--bus", "ADDRESS", "D-Bus address of the system bus (default: $DBUS_SYSTEM_BUS_ADDRESS, else unix:path=/run/dbus/system_bus_socket)"),
        new("--config-dir", "DIR", "where the services' configuration files are (default: /etc/hailo); a service's port is read from DIR/<service>.yaml"),
        new("--help", null, "help for the command"),
    ];

    public static readonly CommandSpec[] All =
    [
        new("status", "[SERVICE...]", "show each service's state, backend, models, port, memory, restarts and uptime",
            "One line per service (every installed hailo-*.service when none is named): the unit's ActiveState/SubState, the " +
            "STATUS= text the service reports to systemd, its backend and models with their state (from its /health), the port, " +
            "the resident memory of its cgroup (MemoryCurrent), how often systemd restarted it (NRestarts) and how long it has run. " +
            "The port comes from the service's configuration file when it is readable, else from the default the service ships with. " +
            "Exits 1 when a service is not active or its /health does not answer 200.",
            [Json, Timeout], true),
        new("start", "SERVICE...|all", "start services and wait until each is ready or failed",
            "StartUnit through systemd, then waits for each job to end (a Type=notify service ends its job when it reports READY=1, " +
            "i.e. after its model loaded). SERVICE is pose, hailo-pose or hailo-pose.service; all is every installed hailo-*.service. " +
            "Members of the group hailo-admin may do this without sudo (a polkit rule).",
            [Timeout], true),
        new("stop", "SERVICE...|all", "stop services", "StopUnit through systemd and waits for each job to end.", [Timeout], true),
        new("restart", "SERVICE...|all", "restart services and wait until each is ready or failed",
            "RestartUnit through systemd and waits for each job to end.", [Timeout], true),
        new("enable", "SERVICE...|all", "start services at boot (as root: sudo)",
            "EnableUnitFiles, then a daemon reload; prints the links systemd made. Does not start the service now: use start. " +
            "Needs root even for members of " + Group + ": polkit cannot limit enabling to the Hailo units.", [], true),
        new("disable", "SERVICE...|all", "do not start services at boot (as root: sudo)",
            "DisableUnitFiles, then a daemon reload; prints the links systemd removed. Does not stop the service now: use stop. " +
            "Needs root even for members of " + Group + ".", [], true),
        new("models", "[SERVICE]", "list each service's models and their state",
            "GET /v1/models of each running service (every installed one when none is named): the model names, their backend and " +
            "whether they are ready, loaded, available on disk or missing.",
            [Json, Timeout, Token], true),
        new("pull", "SERVICE [MODEL]", "download a model through the service, with a progress bar",
            "Uses the service's own pull endpoint (hailo-ollama: POST /api/pull); without MODEL, the service's default model. " +
            "The other services download models with their own command (sudo -u hailo-NAME hailo-NAME pull), which hailoctl names.",
            [Token], true),
        new("logs", "SERVICE [-f] [-n N]", "show a service's journal (journalctl -u)",
            "Runs journalctl -u hailo-NAME.service; reading the system journal needs the group systemd-journal or adm, or sudo.",
            [new("-f", null, "follow: print new entries as they come"), new("-n", "N", "the last N entries (default: journalctl's)")], true),
        new("doctor", "", "check the NPU device, driver, firmware, HailoRT and the services' access to the device",
            "Checks /dev/hailo0 (or /dev/h1x-0) and who may open it, the kernel module hailo1x_pci and its version, the Hailo-10H " +
            "firmware files, the HailoRT library and the version the installed libhailo_shim was built against, and whether each " +
            "service's unit puts it in the group that owns the device node. Prints each problem with the command that fixes it; " +
            "what it cannot determine it reports as unknown. Exits 1 when a problem was found.",
            [Json], false),
        new("help", "[COMMAND]", "help for hailoctl or for one command", "The same text as hailoctl COMMAND --help.", [], false),
    ];

    public static CommandSpec? Find(string name) => All.FirstOrDefault(c => c.Name == name);

    public static string Version => typeof(Commands).Assembly.GetName().Version is { } v ? $"{v.Major}.{v.Minor}.{v.Build}" : "unknown";

    public static string Usage()
    {
        var b = new StringBuilder();
        b.Append("hailoctl ").Append(Version).AppendLine(": manage the Hailo AI system services through systemd (start/stop/restart without sudo for members of " + Group + ")");
        b.AppendLine();
        b.AppendLine("usage: hailoctl COMMAND [ARGS] [OPTIONS]");
        b.AppendLine();
        b.AppendLine("commands:");
        foreach (var c in All) b.Append("  ").Append((c.Name + " " + c.Args).PadRight(30)).AppendLine(c.Summary);
        b.AppendLine();
        b.AppendLine("options of every command:");
        foreach (var o in Global) b.Append("  ").Append(OptionText(o).PadRight(30)).AppendLine(o.Help);
        b.Append("  ").Append("--version".PadRight(30)).AppendLine("print the version");
        b.AppendLine();
        b.AppendLine("SERVICE is pose, hailo-pose or hailo-pose.service; all means every installed hailo-*.service.");
        b.AppendLine("hailoctl COMMAND --help tells more about a command.");
        b.AppendLine();
        b.AppendLine("exit status:");
        foreach (var (code, meaning) in ExitCodes.All) b.Append("  ").Append(code).Append("  ").AppendLine(meaning);
        return b.ToString();
    }

    public static string Help(CommandSpec c)
    {
        var b = new StringBuilder();
        b.Append("usage: hailoctl ").Append(c.Name).Append(c.Args.Length > 0 ? " " + c.Args : "").AppendLine(" [OPTIONS]");
        b.AppendLine();
        b.AppendLine(c.Summary + ".");
        b.AppendLine();
        foreach (var line in Wrap(c.Description, 100)) b.AppendLine(line);
        b.AppendLine();
        b.AppendLine("options:");
        foreach (var o in c.Options.Concat(Global)) b.Append("  ").Append(OptionText(o).PadRight(22)).AppendLine(o.Help);
        return b.ToString();
    }

    private static string OptionText(OptionSpec o) => o.Value is null ? o.Flag : o.Flag + " " + o.Value;

    private static IEnumerable<string> Wrap(string text, int width)
    {
        var line = new StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) yield return line.ToString();
    }

    /// <summary>hailoctl(1) in roff, from the same table as --help (the package build writes it with --help-man).</summary>
    public static string Man()
    {
        static string R(string s) => s.Replace("\\", "\\e").Replace("-", "\\-").Replace("'", "\\(aq");
        static string Line(string s) => s.StartsWith('.') || s.StartsWith('\'') ? "\\&" + s : s;
        var b = new StringBuilder();
        b.AppendLine(".TH HAILOCTL 1 \"\" \"hailoctl " + Version + "\" \"Hailo AI system services\"");
        b.AppendLine(".SH NAME");
        b.AppendLine("hailoctl \\- manage the Hailo AI system services through systemd");
        b.AppendLine(".SH SYNOPSIS");
        b.AppendLine(".B hailoctl");
        b.AppendLine(".I COMMAND");
        b.AppendLine("[\\fIARGS\\fR] [\\fIOPTIONS\\fR]");
        b.AppendLine(".SH DESCRIPTION");
        b.AppendLine(Line(R("hailoctl shows the state of every Hailo AI system service (the systemd units hailo-*.service) and starts, stops, " +
                            "restarts, enables and disables them through systemd's D-Bus API. Members of the group " + Group +
                            " may start, stop and restart these units without sudo: a polkit rule allows it (enabling and disabling stay root's). It also lists and pulls models, shows the " +
                            "journal and checks the NPU set-up.")));
        b.AppendLine(".PP");
        b.AppendLine(Line(R("SERVICE is pose, hailo-pose or hailo-pose.service; all means every installed hailo-*.service.")));
        b.AppendLine(".SH COMMANDS");
        foreach (var c in All)
        {
            b.AppendLine(".TP");
            b.Append("\\fB").Append(R(c.Name)).Append("\\fR");
            if (c.Args.Length > 0) b.Append(" \\fI").Append(R(c.Args)).Append("\\fR");
            b.AppendLine();
            b.AppendLine(Line(R(char.ToUpperInvariant(c.Summary[0]) + c.Summary[1..] + ". " + c.Description)));
            foreach (var o in c.Options)
            {
                b.AppendLine(".RS");
                b.AppendLine(".TP");
                b.Append("\\fB").Append(R(o.Flag)).Append("\\fR").AppendLine(o.Value is null ? "" : " \\fI" + R(o.Value) + "\\fR");
                b.AppendLine(Line(R(o.Help)));
                b.AppendLine(".RE");
            }
        }
        b.AppendLine(".SH OPTIONS");
        foreach (var o in Global)
        {
            b.AppendLine(".TP");
            b.Append("\\fB").Append(R(o.Flag)).Append("\\fR").AppendLine(o.Value is null ? "" : " \\fI" + R(o.Value) + "\\fR");
            b.AppendLine(Line(R(o.Help)));
        }
        b.AppendLine(".TP");
        b.AppendLine("\\fB\\-\\-version\\fR");
        b.AppendLine("Print the version.");
        b.AppendLine(".SH EXIT STATUS");
        foreach (var (code, meaning) in ExitCodes.All)
        {
            b.AppendLine(".TP");
            b.AppendLine(code.ToString(System.Globalization.CultureInfo.InvariantCulture));
            b.AppendLine(Line(R(meaning)));
        }
        b.AppendLine(".SH ENVIRONMENT");
        b.AppendLine(".TP");
        b.AppendLine("\\fBDBUS_SYSTEM_BUS_ADDRESS\\fR");
        b.AppendLine(R("The system bus, when not the standard socket."));
        b.AppendLine(".TP");
        b.AppendLine("\\fBHAILO_TOKEN\\fR");
        b.AppendLine(R("Bearer token for services that require one (server.auth_token)."));
        b.AppendLine(".SH FILES");
        b.AppendLine(".TP");
        b.AppendLine(R("/usr/share/polkit-1/rules.d/50-hailo-admin.rules"));
        b.AppendLine(R("Lets members of " + Group + " start, stop and restart hailo-*.service and hailo-ai.target, and nothing else."));
        b.AppendLine(".TP");
        b.AppendLine(R("/etc/hailo/hailo-NAME.yaml"));
        b.AppendLine(R("Each service's configuration; hailoctl reads server.port and server.host from it when it may read it."));
        b.AppendLine(".SH EXAMPLES");
        b.AppendLine(".nf");
        foreach (var e in new[] { "hailoctl status", "hailoctl status --json pose ocr", "sudo usermod \\-aG " + Group + " $USER   # then log in again",
                                   "hailoctl restart pose", "hailoctl stop all", "hailoctl logs ollama \\-f", "hailoctl pull ollama qwen2.5:1.5b", "hailoctl doctor" })
            b.AppendLine(e.Replace("\\-", "\\-"));
        b.AppendLine(".fi");
        b.AppendLine(".SH SEE ALSO");
        b.AppendLine("\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), \\fBpolkit\\fR(8)");
        return b.ToString();
    }

    /// <summary>The bash completion script (the package build writes it with --help-completion), from the same table.</summary>
    public static string BashCompletion()
    {
        var b = new StringBuilder();
        b.AppendLine("# bash completion for hailoctl (generated by hailoctl --help-completion)");
        b.AppendLine("_hailoctl_services() {");
        b.AppendLine("    systemctl list-unit-files --no-legend --no-pager 'hailo-*.service' 2>/dev/null | awk '{ sub(/\\.service$/, \"\", $1); sub(/^hailo-/, \"\", $1); print $1 }'");
        b.AppendLine("}");
        b.AppendLine("_hailoctl() {");
        b.AppendLine("    local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}");
        b.AppendLine("    if [ \"$COMP_CWORD\" -eq 1 ]; then");
        b.Append("        COMPREPLY=($(compgen -W '").Append(string.Join(' ', All.Select(c => c.Name))).AppendLine(" --help --version' -- \"$cur\"))");
        b.AppendLine("        return");
        b.AppendLine("    fi");
        b.AppendLine("    case $cmd in");
        foreach (var c in All)
        {
            var options = string.Join(' ', c.Options.Concat(Global).Select(o => o.Flag));
            var words = c.Name == "help" ? string.Join(' ', All.Select(x => x.Name)) : options;
            b.Append("        ").Append(c.Name).AppendLine(")");
            b.AppendLine("            if [[ $cur == -* ]] || [ " + (c.CompletesServices ? "0" : "1") + " -eq 1 ]; then");
            b.Append("                COMPREPLY=($(compgen -W '").Append(words).AppendLine("' -- \"$cur\"))");
            b.AppendLine("            else");
            b.Append("                COMPREPLY=($(compgen -W \"$(_hailoctl_services)").Append(c.Args.Contains("all") ? " all" : "").AppendLine("\" -- \"$cur\"))");
            b.AppendLine("            fi ;;");
        }
        b.AppendLine("    esac");
        b.AppendLine("}");
        b.AppendLine("complete -F _hailoctl hailoctl");
        return b.ToString();
    }
}
