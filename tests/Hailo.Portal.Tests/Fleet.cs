using Hailo.TestSupport;
using HailoPortal;

namespace Hailo.Portal.Tests;

/// <summary>
/// What the portal manages in a test: a private dbus-daemon with the fake systemd on it, the installed units (six with
/// "try it" panels, all pointed by their unit Environment= at one <see cref="FakeApis"/>, and hailo-scrfd, stopped), an
/// empty config directory and a journalctl stand-in that prints its arguments.
/// </summary>
public sealed class Fleet : IAsyncDisposable
{
    public static readonly string[] TryServices = ["hailo-depth", "hailo-ocr", "hailo-ollama", "hailo-piper", "hailo-pose", "hailo-whisper"];

    public PrivateBus Bus { get; }
    public FakeSystemd Systemd { get; }
    public FakeApis Apis { get; }
    public string Dir { get; }
    public string Journalctl { get; }

    private Fleet(PrivateBus bus, FakeSystemd systemd, FakeApis apis, string dir, string journalctl)
    {
        Bus = bus;
        Systemd = systemd;
        Apis = apis;
        Dir = dir;
        Journalctl = journalctl;
    }

    public static async Task<Fleet> StartAsync()
    {
        var bus = new PrivateBus();
        var systemd = await FakeSystemd.StartAsync(bus.Address);
        var apis = await FakeApis.StartAsync();
        foreach (var s in TryServices)
        {
            var env = s.ToUpperInvariant().Replace('-', '_') + "_SERVER__PORT=" + apis.Port;
            systemd.Add(s + ".service", u =>
            {
                u.Environment = [env];
                u.StatusText = "ready (cpu): stand-in-model";
                u.NRestarts = 2;
                u.MemoryCurrent = 50 << 20;
                u.ActiveEnterTimestamp = (ulong)DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds() * 1000;
            });
        }
        systemd.Add("hailo-scrfd.service", u => (u.ActiveState, u.SubState) = ("inactive", "dead"));
        var dir = Directory.CreateTempSubdirectory("hailo-portal-fleet").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "etc"));
        var journalctl = Path.Combine(dir, "journalctl");
        await File.WriteAllTextAsync(journalctl, "#!/bin/sh\necho \"2026-01-01T00:00:00+0000 pi stand-in[1]: journalctl $*\"\necho \"2026-01-01T00:00:01+0000 pi stand-in[1]: second line\"\n");
        File.SetUnixFileMode(journalctl, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return new Fleet(bus, systemd, apis, dir, journalctl);
    }

    /// <summary>A portal config pointed at this fleet (loopback, no token).</summary>
    public PortalConfig Config()
    {
        var c = new PortalConfig();
        c.Logging.Level = "warning";
        c.Portal.BusAddress = Bus.Address;
        c.Portal.ConfigDir = Path.Combine(Dir, "etc");
        c.Portal.Journalctl = Journalctl;
        c.Portal.StateDir = Path.Combine(Dir, "state");
        return c;
    }

    /// <summary>The same as command-line options of the binary.</summary>
    public string[] Args() =>
    [
        "--portal.bus_address", Bus.Address, "--portal.config_dir", Path.Combine(Dir, "etc"), "--portal.journalctl", Journalctl,
        "--portal.state_dir", Path.Combine(Dir, "state"),
    ];

    public async ValueTask DisposeAsync()
    {
        await Apis.DisposeAsync();
        await Systemd.DisposeAsync();
        Bus.Dispose();
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
