using System.Text.Json;
using HailoCtl;
using Hailo.Management;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Ctl.Tests;

/// <summary>
/// hailoctl in-process against a private dbus-daemon with a fake systemd Manager (FakeSystemd) and tiny HTTP stand-ins for the
/// services' /health. What this proves: the D-Bus calls, their arguments and signatures, the parsing of systemd's replies and
/// signals, the port lookup, the table/JSON and the exit codes. What it does not: real systemd's and polkit's behaviour (the
/// package end-to-end test in a systemd-nspawn container covers those).
/// </summary>
public sealed class CtlTests : IAsyncLifetime
{
    private PrivateBus bus = null!;
    private FakeSystemd systemd = null!;
    private string configDir = null!;

    public async Task InitializeAsync()
    {
        bus = new PrivateBus();
        systemd = await FakeSystemd.StartAsync(bus.Address);
        configDir = Path.Combine(bus.Directory, "etc-hailo");
        Directory.CreateDirectory(configDir);
    }

    public async Task DisposeAsync()
    {
        await systemd.DisposeAsync();
        bus.Dispose();
    }

    private CtlSettings Settings => new(bus.Address, configDir, "/bin/false", null);

    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await Cli.RunAsync(args, o, e, Settings);
        var err = e.ToString();
        Assert.DoesNotContain("   at ", err); // never a stack trace
        return (code, o.ToString(), err);
    }

    private void WritePort(string service, int port) =>
        File.WriteAllText(Path.Combine(configDir, service + ".yaml"), $"# test\nserver:\n  host: 127.0.0.1   # loopback\n  port: {port}           # the stand-in\n\ndevice: auto\n");

    [Fact]
    public async Task Status_shows_every_installed_unit_and_exits_1_when_one_is_not_ready()
    {
        await using var pose = await FakeService.StartAsync("cpu", "yolov8s-pose", "ready");
        await using var ocr = await FakeService.StartAsync("npu", "paddleocr-v4", "missing");
        ocr.HealthStatus = 503;
        WritePort("hailo-pose", pose.Port);
        WritePort("hailo-ocr", ocr.Port);
        var since = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds() * 1000;
        systemd.Add("hailo-pose.service", u => { u.StatusText = "ready: yolov8s-pose on cpu"; u.MemoryCurrent = 50 * 1048576; u.NRestarts = 2; u.ActiveEnterTimestamp = (ulong)since; });
        systemd.Add("hailo-ocr.service", u => { u.StatusText = "degraded: model paddleocr-v4 is missing"; u.MemoryCurrent = 30 * 1048576; });
        systemd.Add("hailo-depth.service", u => { u.ActiveState = "inactive"; u.SubState = "dead"; u.UnitFileState = "disabled"; });
        systemd.Add("other.service");

        var (code, output, _) = await Run("status");
        Assert.Equal(1, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("SERVICE", lines[0]);
        Assert.Equal(4, lines.Length); // header + the three hailo-* units, not other.service
        var poseLine = lines.Single(l => l.StartsWith("pose ", StringComparison.Ordinal));
        Assert.Contains("active/running", poseLine);
        Assert.Contains("yolov8s-pose:ready", poseLine);
        Assert.Contains(pose.Port.ToString(), poseLine);
        Assert.Contains("50.0M", poseLine);
        Assert.Matches(@"\s2\s+[45]m\d+s\s", poseLine);
        Assert.Contains("ready: yolov8s-pose on cpu", poseLine);
        Assert.Contains("npu", lines.Single(l => l.StartsWith("ocr ", StringComparison.Ordinal)));
        Assert.Contains("inactive/dead", lines.Single(l => l.StartsWith("depth ", StringComparison.Ordinal)));
        Assert.Contains("ListUnitFilesByPatterns hailo-*.service", systemd.Calls);

        // Only the ready one: exit 0.
        Assert.Equal(0, (await Run("status", "pose")).Code);
        Assert.Equal(1, (await Run("status", "ocr")).Code);
        Assert.Equal(1, (await Run("status", "depth")).Code);
    }

    [Fact]
    public async Task Status_json_carries_systemd_properties_and_health()
    {
        await using var pose = await FakeService.StartAsync("cpu", "yolov8s-pose", "ready");
        WritePort("hailo-pose", pose.Port);
        systemd.Add("hailo-pose.service", u => { u.StatusText = "ready"; u.MemoryCurrent = 12345678; u.NRestarts = 3; u.ActiveEnterTimestamp = 1_700_000_000_000_000; });
        systemd.Add("hailo-ocr.service", u => { u.ActiveState = "failed"; u.SubState = "failed"; });

        var (code, output, _) = await Run("status", "--json");
        Assert.Equal(1, code);
        using var doc = JsonDocument.Parse(output);
        Assert.False(doc.RootElement.GetProperty("ready").GetBoolean());
        var services = doc.RootElement.GetProperty("services").EnumerateArray().ToArray();
        Assert.Equal(["hailo-ocr", "hailo-pose"], services.Select(s => s.GetProperty("service").GetString()));
        var p = services[1];
        Assert.Equal("active", p.GetProperty("active_state").GetString());
        Assert.Equal(12345678UL, p.GetProperty("memory_bytes").GetUInt64());
        Assert.Equal(3u, p.GetProperty("restarts").GetUInt32());
        Assert.Equal(pose.Port, p.GetProperty("port").GetInt32());
        Assert.Equal(200, p.GetProperty("health_http_status").GetInt32());
        Assert.Equal("cpu", p.GetProperty("health").GetProperty("backend").GetString());
        Assert.Equal("yolov8s-pose", p.GetProperty("health").GetProperty("models")[0].GetProperty("name").GetString());
        Assert.True(p.GetProperty("ready").GetBoolean());
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), p.GetProperty("active_since").GetDateTimeOffset());
        Assert.False(services[0].GetProperty("ready").GetBoolean());
        Assert.Equal("failed", services[0].GetProperty("active_state").GetString());

        var (okCode, okOut, _) = await Run("status", "pose", "--json");
        Assert.Equal(0, okCode);
        Assert.True(JsonDocument.Parse(okOut).RootElement.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Status_reports_a_service_that_does_not_answer_as_not_ready()
    {
        // An active unit whose port nobody listens on: /health has no answer.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        WritePort("hailo-pose", port);
        systemd.Add("hailo-pose.service");
        var (code, output, _) = await Run("status", "--json");
        Assert.Equal(1, code);
        var s = JsonDocument.Parse(output).RootElement.GetProperty("services")[0];
        Assert.False(s.GetProperty("ready").GetBoolean());
        Assert.Contains("no answer", s.GetProperty("health_error").GetString());
    }

    [Theory]
    [InlineData("start", "StartUnit", "started", "active")]
    [InlineData("stop", "StopUnit", "stopped", "inactive")]
    [InlineData("restart", "RestartUnit", "restarted", "active")]
    public async Task Jobs_call_systemd_with_replace_and_wait_for_JobRemoved(string command, string method, string verb, string state)
    {
        var unit = systemd.Add("hailo-pose.service", u => u.ActiveState = command == "start" ? "inactive" : "active");
        systemd.Add("hailo-ocr.service");
        var (code, output, _) = await Run(command, "pose");
        Assert.Equal(0, code);
        Assert.Equal($"hailo-pose: {verb}\n", output);
        Assert.Contains($"{method} hailo-pose.service replace", systemd.Calls);
        Assert.Contains("Subscribe", systemd.Calls);
        Assert.DoesNotContain(systemd.Calls, c => c.Contains("hailo-ocr.service replace"));
        Assert.Equal(state, unit.ActiveState);
    }

    [Fact]
    public async Task A_job_that_ends_before_its_reply_arrives_is_still_seen()
    {
        systemd.Add("hailo-pose.service");
        systemd.SignalBeforeReply = true;
        var (code, output, _) = await Run("restart", "pose");
        Assert.Equal(0, code);
        Assert.Contains("hailo-pose: restarted", output);
    }

    [Fact]
    public async Task A_failed_job_exits_1_and_says_where_to_look()
    {
        systemd.Add("hailo-pose.service", u => { u.ActiveState = "inactive"; u.JobResult = "failed"; });
        var (code, _, err) = await Run("start", "pose");
        Assert.Equal(1, code);
        Assert.Contains("hailo-pose: start failed", err);
        Assert.Contains("hailoctl logs pose", err);
    }

    [Theory]
    [InlineData("pose")]
    [InlineData("hailo-pose")]
    [InlineData("hailo-pose.service")]
    public async Task Names_are_normalised(string name)
    {
        systemd.Add("hailo-pose.service");
        var (code, _, _) = await Run("stop", name);
        Assert.Equal(0, code);
        Assert.Single(systemd.Calls, c => c == "StopUnit hailo-pose.service replace");
    }

    [Fact]
    public async Task All_means_every_installed_hailo_unit()
    {
        systemd.Add("hailo-pose.service");
        systemd.Add("hailo-ocr.service");
        systemd.Add("hailo-whisper.service");
        systemd.Add("unrelated.service");
        var (code, output, _) = await Run("stop", "all");
        Assert.Equal(0, code);
        Assert.Equal(["StopUnit hailo-ocr.service replace", "StopUnit hailo-pose.service replace", "StopUnit hailo-whisper.service replace"],
            systemd.Calls.Where(c => c.StartsWith("StopUnit", StringComparison.Ordinal)).Order());
        Assert.Equal(3, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_polkit_refusal_says_to_join_hailo_admin_or_use_sudo(bool interactive)
    {
        systemd.Add("hailo-pose.service");
        systemd.Add("hailo-ocr.service");
        systemd.Refuse = true;
        systemd.InteractiveRefusal = interactive;
        foreach (var command in new[] { "start", "stop", "restart" })
        {
            var (code, output, err) = await Run(command, "pose");
            Assert.Equal(4, code);
            Assert.Equal("", output);
            Assert.Contains("sudo usermod -aG hailo-admin $USER", err);
            Assert.Contains("or run the command with sudo", err);
            Assert.Contains("log in again", err);
        }
        // Enabling and disabling are root's even for hailo-admin: the message says sudo, not the group.
        foreach (var command in new[] { "enable", "disable" })
        {
            var (code, output, err) = await Run(command, "pose", "hailo-ocr.service");
            Assert.Equal(4, code);
            Assert.Equal("", output);
            Assert.Contains($"    sudo hailoctl {command} pose hailo-ocr.service", err);
            Assert.DoesNotContain("usermod", err);
        }
        Assert.Equal("active", systemd.Units["hailo-pose.service"].ActiveState);
        Assert.Equal("enabled", systemd.Units["hailo-pose.service"].UnitFileState);
    }

    [Fact]
    public async Task Enable_and_disable_change_unit_files_then_reload()
    {
        systemd.Add("hailo-pose.service", u => u.UnitFileState = "disabled");
        systemd.Add("hailo-ocr.service", u => u.UnitFileState = "disabled");
        var (code, output, _) = await Run("enable", "pose", "hailo-ocr.service");
        Assert.Equal(0, code);
        Assert.Contains("EnableUnitFiles hailo-pose.service,hailo-ocr.service", systemd.Calls);
        Assert.Contains("created symlink /etc/systemd/system/hailo-ai.target.wants/hailo-pose.service → /usr/lib/systemd/system/hailo-pose.service", output);
        Assert.Contains("hailo-ocr: enabled", output);
        Assert.Equal("enabled", systemd.Units["hailo-pose.service"].UnitFileState);
        var reloadsAfterEnable = systemd.Calls.Count(c => c == "Reload");
        Assert.Equal(1, reloadsAfterEnable);

        (code, output, _) = await Run("disable", "all");
        Assert.Equal(0, code);
        Assert.Contains("DisableUnitFiles hailo-ocr.service,hailo-pose.service", systemd.Calls);
        Assert.Contains("removed /etc/systemd/system/hailo-ai.target.wants/hailo-pose.service", output);
        Assert.Equal(2, systemd.Calls.Count(c => c == "Reload"));
        Assert.Equal("disabled", systemd.Units["hailo-ocr.service"].UnitFileState);
    }

    [Theory]
    [InlineData(new[] { "start", "bogus" }, "no service hailo-bogus is installed (installed: pose)")]
    [InlineData(new[] { "status", "bogus" }, "no service hailo-bogus is installed")]
    [InlineData(new[] { "stop", "../../etc/passwd" }, "is not a service name")]
    [InlineData(new[] { "restart", "Pose;rm -rf" }, "is not a service name")]
    [InlineData(new[] { "start" }, "name a service, or all")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [InlineData(new[] { "--frobnicate" }, "unknown option '--frobnicate'")]
    [InlineData(new[] { "status", "--follow" }, "unknown option '--follow' for status")]
    [InlineData(new[] { "start", "pose", "--timeout" }, "option --timeout needs a value")]
    [InlineData(new[] { "start", "pose", "--timeout", "-3" }, "--timeout takes a number of seconds")]
    [InlineData(new[] { "logs", "pose", "-n", "lots" }, "-n takes a number of lines")]
    [InlineData(new[] { "logs" }, "logs takes one service")]
    [InlineData(new[] { "help", "nothing" }, "no command 'nothing'")]
    public async Task Garbage_is_a_usage_error_with_exit_2(string[] args, string message)
    {
        systemd.Add("hailo-pose.service");
        var (code, output, err) = await Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, err);
        Assert.DoesNotContain(systemd.Calls, c => c.Contains("Unit ") && c.Contains("replace"));
    }

    [Fact]
    public async Task No_bus_is_a_failure_with_one_line()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await Cli.RunAsync(["status"], o, e, Settings with { BusAddress = "unix:path=" + Path.Combine(bus.Directory, "nothing") });
        Assert.Equal(1, code);
        Assert.StartsWith("hailoctl: cannot reach the system bus", e.ToString());
        Assert.DoesNotContain("   at ", e.ToString());
    }

    [Fact]
    public async Task Help_version_man_and_completion_come_from_one_table()
    {
        var (code, help, _) = await Run("--help");
        Assert.Equal(0, code);
        var (_, man, _) = await Run("--help-man");
        var (_, completion, _) = await Run("--help-completion");
        Assert.StartsWith(".TH HAILOCTL 1", man);
        foreach (var c in Commands.All)
        {
            Assert.Contains("  " + c.Name + " ", help);
            Assert.Contains("\\fB" + c.Name.Replace("-", "\\-") + "\\fR", man);
            Assert.Contains("        " + c.Name + ")", completion);
            var (hc, commandHelp, _) = await Run(c.Name, "--help");
            Assert.Equal(0, hc);
            Assert.StartsWith("usage: hailoctl " + c.Name, commandHelp);
            Assert.Equal(commandHelp, (await Run("help", c.Name)).Out);
        }
        var (vc, version, _) = await Run("--version");
        Assert.Equal(0, vc);
        Assert.Matches(@"^hailoctl \d+\.\d+\.\d+\n$", version);
        Assert.Equal(2, (await Run()).Code);
    }

    [Fact]
    public async Task Logs_runs_journalctl_for_the_unit()
    {
        var script = Path.Combine(bus.Directory, "journalctl");
        var argsFile = Path.Combine(bus.Directory, "args");
        File.WriteAllText(script, $"#!/bin/sh\nprintf '%s\\n' \"$@\" > {argsFile}\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await Cli.RunAsync(["logs", "hailo-pose.service", "-n", "5", "-f"], o, e, Settings with { Journalctl = script });
        Assert.Equal(0, code);
        Assert.Equal("-u\nhailo-pose.service\n--no-pager\n-f\n-n\n5\n", File.ReadAllText(argsFile));
    }

    [Fact]
    public async Task Models_lists_each_running_services_models()
    {
        await using var pose = await FakeService.StartAsync("cpu", "yolov8s-pose", "available");
        WritePort("hailo-pose", pose.Port);
        systemd.Add("hailo-pose.service");
        systemd.Add("hailo-ocr.service", u => { u.ActiveState = "inactive"; u.SubState = "dead"; });
        var (code, output, _) = await Run("models");
        Assert.Equal(1, code); // ocr is not running
        Assert.Matches(@"pose\s+yolov8s-pose\s+cpu\s+available", output);
        Assert.Contains("not running (inactive); hailoctl start ocr", output);
        var (c2, json, _) = await Run("models", "pose", "--json");
        Assert.Equal(0, c2);
        Assert.Equal("yolov8s-pose", JsonDocument.Parse(json).RootElement.GetProperty("services")[0].GetProperty("models")[0].GetProperty("id").GetString());
    }

    [Fact]
    public async Task Pull_streams_through_the_services_own_endpoint_or_names_the_command()
    {
        await using var ollama = await FakeService.StartAsync("cpu", "qwen2.5:1.5b", "missing");
        WritePort("hailo-ollama", ollama.Port);
        systemd.Add("hailo-ollama.service");
        systemd.Add("hailo-pose.service");
        var (code, output, err) = await Run("pull", "ollama");
        Assert.Equal(0, code);
        Assert.Contains("hailo-ollama: qwen2.5:1.5b pulled", output);
        Assert.Equal("""{"model":"qwen2.5:1.5b","stream":true}""", Assert.Single(ollama.PullRequests));
        Assert.Contains("pulling abc 50% (0.0/0.0 MB)", err);
        Assert.Contains("verifying sha256 digest", err);

        var (c2, _, e2) = await Run("pull", "pose", "yolov8s-pose");
        Assert.Equal(1, c2);
        Assert.Contains("sudo -u hailo-pose hailo-pose pull yolov8s-pose", e2);
    }

    [Fact]
    public void Ports_come_from_the_unit_environment_then_the_config_file_then_the_shipped_default()
    {
        File.WriteAllText(Path.Combine(configDir, "hailo-ocr.yaml"), "server:\n  port: 12000\n");
        Assert.Equal(12000, Ports.Resolve("hailo-ocr", [], configDir)!.Port);
        Assert.Equal(12001, Ports.Resolve("hailo-ocr", ["HAILO_OCR_SERVER__PORT=12001"], configDir)!.Port);
        var shipped = Ports.Resolve("hailo-pose", [], configDir)!;
        Assert.Equal(11440, shipped.Port);
        Assert.Contains("shipped default", shipped.Source);
        Assert.Equal("127.0.0.1", Ports.Resolve("hailo-pose", ["HAILO_POSE_SERVER__HOST=0.0.0.0"], configDir)!.Host);
        Assert.Null(Ports.Resolve("hailo-unknown", [], configDir));
        Assert.Equal(("8080", "::"), Ports.ReadServer("logging:\n  port: 1\nserver:   # the API\n  # port: 9\n  host: \"::\"\n  port: '8080'  # x\ndevice: auto\n"));
    }

    [Fact]
    public void Every_service_in_the_tree_has_its_shipped_config_built_in()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "hailo.slnx"))) root = Path.GetDirectoryName(root)!;
        var files = Directory.GetDirectories(Path.Combine(root, "services"), "hailo-*").Select(d => Path.Combine(d, Path.GetFileName(d) + ".yaml")).Where(File.Exists).ToArray();
        Assert.NotEmpty(files);
        foreach (var f in files)
        {
            var name = Path.GetFileNameWithoutExtension(f);
            Assert.Equal(File.ReadAllText(f), Ports.ShippedDefault(name));
            Assert.NotNull(Ports.ReadServer(File.ReadAllText(f)).Port);
        }
    }

    [Fact]
    public async Task Doctor_reports_each_check_and_a_unit_outside_the_device_group_with_its_fix()
    {
        systemd.Add("hailo-pose.service", u => u.SupplementaryGroups = []);
        systemd.Add("hailo-ocr.service");
        var (code, output, _) = await Run("doctor", "--json");
        using var doc = JsonDocument.Parse(output);
        var checks = doc.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("check").GetString()!);
        Assert.Equal(doc.RootElement.GetProperty("ok").GetBoolean() ? 0 : 1, code);
        foreach (var name in new[] { "device node", "driver", "firmware files", "firmware version", "HailoRT library", "shim" })
            Assert.Contains(checks[name].GetProperty("result").GetString(), new[] { "ok", "problem", "unknown" });
        Assert.Equal("unknown", checks["firmware version"].GetProperty("result").GetString());
        var pose = checks["hailo-pose device access"];
        Assert.Equal("problem", pose.GetProperty("result").GetString());
        Assert.Contains("sudo systemctl edit hailo-pose", pose.GetProperty("fix").GetString());
        Assert.False(doc.RootElement.GetProperty("ok").GetBoolean());
        Assert.Contains("+", output.Contains("AI HAT") ? output : "+"); // printed as is, not \u002B
        Assert.DoesNotContain("\\u0027", output);
        var (textCode, text, _) = await Run("doctor");
        Assert.Equal(1, textCode);
        Assert.Contains("[problem] hailo-pose device access", text);
        Assert.Contains("    fix: sudo systemctl edit hailo-pose", text);
    }

    [Theory]
    [InlineData("hailoctl st", "status start stop")]
    [InlineData("hailoctl status --j", "--json")]
    [InlineData("hailoctl help re", "restart")]
    [InlineData("hailoctl restart p", "pose")]
    [InlineData("hailoctl stop ''", "pose ocr all")]
    [InlineData("hailoctl doctor ''", "--json --bus --config-dir --help")]
    public async Task The_bash_completion_completes_commands_options_and_installed_services(string line, string expected)
    {
        var (_, script, _) = await Run("--help-completion");
        var file = Path.Combine(bus.Directory, "completion.bash");
        File.WriteAllText(file, script);
        // systemctl stands in for the installed unit files.
        var probe = $$"""
            source {{file}}
            systemctl() { printf 'hailo-pose.service enabled enabled\nhailo-ocr.service disabled enabled\n'; }
            eval "COMP_WORDS=({{line}})"; COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            _hailoctl; echo "${COMPREPLY[@]}"
            """;
        var psi = new System.Diagnostics.ProcessStartInfo("bash", ["-c", probe]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = (await p.StandardOutput.ReadToEndAsync()).Trim();
        await p.WaitForExitAsync();
        Assert.Equal(expected, output);
    }
}
