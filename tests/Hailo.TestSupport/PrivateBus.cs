using System.Diagnostics;

namespace Hailo.TestSupport;

/// <summary>
/// A private D-Bus daemon (Debian's dbus-daemon) on a unix socket in a temporary directory, with a policy that lets
/// every connection own any name and call anything: the bus the D-Bus tests talk to instead of the system bus.
/// </summary>
public sealed class PrivateBus : IDisposable
{
    private readonly Process _daemon;
    private readonly DirectoryInfo _dir;

    /// <summary>The address to connect to, e.g. unix:path=/tmp/…/bus,guid=….</summary>
    public string Address { get; }

    /// <summary>The bus's temporary directory (its socket and config), removed on dispose: room for a test's own files.</summary>
    public string Directory => _dir.FullName;

    public PrivateBus()
    {
        _dir = System.IO.Directory.CreateTempSubdirectory("hailo-bus");
        var config = Path.Combine(_dir.FullName, "bus.conf");
        File.WriteAllText(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:path={Path.Combine(_dir.FullName, "bus")}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/>
                <allow own="*"/>
                <allow send_destination="*"/>
                <allow receive_sender="*"/>
              </policy>
            </busconfig>
            """);
        var psi = new ProcessStartInfo("dbus-daemon", $"--config-file={config} --nofork --nopidfile --print-address")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _daemon = Process.Start(psi) ?? throw new InvalidOperationException("dbus-daemon did not start (apt install dbus)");
        var line = _daemon.StandardOutput.ReadLine();
        if (string.IsNullOrWhiteSpace(line))
            throw new InvalidOperationException($"dbus-daemon printed no address: {_daemon.StandardError.ReadToEnd()}");
        Address = line.Trim();
    }

    public void Dispose()
    {
        try
        {
            if (!_daemon.HasExited) _daemon.Kill();
            _daemon.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }
        _daemon.Dispose();
        try { _dir.Delete(true); } catch (IOException) { }
    }
}
