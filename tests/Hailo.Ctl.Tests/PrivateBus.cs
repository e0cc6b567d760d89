using System.Diagnostics;

namespace Hailo.Ctl.Tests;

/// <summary>A private dbus-daemon (Debian's dbus-daemon package) on a unix socket in a temporary directory.</summary>
public sealed class PrivateBus : IDisposable
{
    private readonly Process daemon;
    public string Directory { get; }
    public string Address { get; }

    public PrivateBus()
    {
        Directory = Path.Combine(Path.GetTempPath(), "hailoctl-test-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        var config = Path.Combine(Directory, "bus.conf");
        File.WriteAllText(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>custom</type>
              <listen>unix:path={Directory}/bus</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <allow own="*"/>
                <allow send_type="method_call"/>
                <allow send_type="signal"/>
                <allow send_requested_reply="true" send_type="method_return"/>
                <allow send_requested_reply="true" send_type="error"/>
                <allow receive_type="method_call"/>
                <allow receive_type="method_return"/>
                <allow receive_type="error"/>
                <allow receive_type="signal"/>
              </policy>
            </busconfig>
            """);
        var exe = File.Exists("/usr/bin/dbus-daemon") ? "/usr/bin/dbus-daemon" : "dbus-daemon";
        var psi = new ProcessStartInfo(exe, ["--config-file=" + config, "--print-address", "--nofork"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        try
        {
            daemon = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("dbus-daemon is not installed (Debian package dbus-daemon; .ci/install-deps installs it)", e);
        }
        var line = daemon.StandardOutput.ReadLine();
        if (string.IsNullOrWhiteSpace(line))
            throw new InvalidOperationException("dbus-daemon did not print its address: " + daemon.StandardError.ReadToEnd());
        Address = line.Trim();
    }

    public void Dispose()
    {
        try
        {
            if (!daemon.HasExited) daemon.Kill();
            daemon.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        daemon.Dispose();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}
