using System.Runtime.InteropServices;

namespace Hailo.Management;

/// <summary>One check of the NPU set-up: ok, problem or unknown, what was found, and the command that fixes a problem.</summary>
public sealed record NpuCheck(string Check, string Result, string Detail, string? Fix);

/// <summary>
/// The NPU set-up as far as this machine shows it (hailoctl doctor, hailo-portal's NPU card): the device node and who may
/// open it, the driver, the firmware files, HailoRT, the installed shim and the HailoRT it was built for, and each
/// installed unit's access to the device. What cannot be determined is reported as unknown, never guessed: the running
/// firmware's version, for one, needs a query of the device that is not made here.
/// </summary>
public static partial class NpuDoctor
{
    public const string Ok = "ok", Problem = "problem", Unknown = "unknown";

    /// <summary>
    /// Every check; <paramref name="systemd"/> gives the installed units' groups (null: <paramref name="busError"/> says
    /// why the bus could not be reached, and the unit checks are unknown).
    /// </summary>
    public static async Task<List<NpuCheck>> CheckAsync(SystemdClient? systemd, string? busError)
    {
        var checks = new List<NpuCheck>();
        var nodes = new[] { "/dev" }.Where(Directory.Exists)
            .SelectMany(d => Directory.GetFiles(d, "hailo*").Concat(Directory.GetFiles(d, "h1x-*")))
            .Where(f => !f.EndsWith(".rules", StringComparison.Ordinal)).Order().ToArray();
        string? deviceGroup = null;
        if (nodes.Length == 0)
        {
            checks.Add(new("device node", Problem, "no /dev/hailo0 or /dev/h1x-0: no Hailo device, or its driver is not loaded",
                "sudo modprobe hailo1x_pci   (driver package: h10-hailort-pcie-driver; check that the AI HAT+ 2 is seated: lspci | grep -i hailo)"));
        }
        foreach (var node in nodes)
        {
            var (group, mode) = Owner(node);
            deviceGroup ??= group;
            var rw = access(node, 6) == 0;
            checks.Add(new("device node", rw ? Ok : Problem,
                $"{node}: group {group ?? "?"}, mode {mode}; {(rw ? "this user may open it" : "this user may not open it (the services reach it through their unit)")}",
                rw ? null : group is null ? null : $"sudo usermod -aG {group} $USER   (only for using the NPU yourself, e.g. hailortcli; log in again)"));
        }

        const string module = "/sys/module/hailo1x_pci";
        if (Directory.Exists(module))
        {
            var version = ReadTrim(Path.Combine(module, "version"));
            checks.Add(new("driver", Ok, $"hailo1x_pci loaded, version {version ?? "unknown (the module exports none)"}", null));
        }
        else
        {
            checks.Add(new("driver", Problem, "the kernel module hailo1x_pci is not loaded", "sudo modprobe hailo1x_pci   (package h10-hailort-pcie-driver)"));
        }

        const string firmware = "/lib/firmware/hailo/hailo10h";
        if (Directory.Exists(firmware))
        {
            var files = Directory.GetFiles(firmware).Select(Path.GetFileName).Order().ToArray();
            checks.Add(new("firmware files", Ok, $"{firmware}: {string.Join(", ", files)}", null));
        }
        else
        {
            checks.Add(new("firmware files", Problem, $"{firmware} is missing", "sudo apt install h10-hailort-pcie-driver"));
        }
        checks.Add(new("firmware version", Unknown, "the running firmware's version needs a query of the device; hailortcli fw-control identify shows it", null));

        var hailort = new[] { "/usr/lib", "/usr/local/lib", "/usr/lib/aarch64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/usr/local/lib/aarch64-linux-gnu" }
            .Where(Directory.Exists).SelectMany(d => Directory.GetFiles(d, "libhailort.so.*")).Distinct().Order().ToArray();
        checks.Add(hailort.Length > 0
            ? new("HailoRT library", Ok, string.Join(", ", hailort), null)
            : new("HailoRT library", Problem, "no libhailort.so.* in the library directories", "sudo apt install h10-hailort"));
        checks.Add(ShimCheck());

        if (systemd is null)
        {
            checks.Add(new("services", Unknown, busError ?? "systemd is not reachable", null));
            return checks;
        }
        try
        {
            foreach (var s in await ServiceNames.InstalledAsync(systemd))
            {
                var unit = await systemd.GetUnitAsync(s + ".service");
                var want = deviceGroup ?? "hailo";
                var has = unit.SupplementaryGroups.Contains(want);
                checks.Add(new($"{s} device access", has ? Ok : Problem,
                    $"SupplementaryGroups={string.Join(' ', unit.SupplementaryGroups)}{(deviceGroup is null ? " (no device node; the packaged group is hailo)" : $" (the device's group: {deviceGroup})")}",
                    has ? null : $"sudo systemctl edit {s}   ([Service] SupplementaryGroups={want}), then hailoctl restart {s[6..]}"));
            }
        }
        catch (Exception e) when (e is SystemdException or BusUnavailableException or Tmds.DBus.Protocol.DBusConnectionClosedException)
        {
            checks.Add(new("services", Unknown, e.Message, null));
        }
        return checks;
    }

    private static string? ReadTrim(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private static (string? Group, string Mode) Owner(string path)
    {
        if (OperatingSystem.IsWindows()) return (null, "?");
        try
        {
            var mode = File.GetUnixFileMode(path);
            var gid = GetGid(path);
            return (gid < 0 ? null : GroupName(gid), Convert.ToString((int)mode, 8).PadLeft(4, '0'));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, "?");
        }
    }

    /// <summary>The node's group id, from stat(1): no stat struct layout to get wrong per architecture.</summary>
    private static long GetGid(string path)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%g", path]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = System.Diagnostics.Process.Start(psi);
        if (p is null) return -1;
        var text = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return long.TryParse(text, out var gid) ? gid : -1;
    }

    private static string? GroupName(long gid)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/group"))
            {
                var f = line.Split(':');
                if (f.Length >= 3 && long.TryParse(f[2], out var g) && g == gid) return f[0];
            }
        }
        catch (IOException)
        {
        }
        return gid.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int access(string path, int mode);

    [StructLayout(LayoutKind.Sequential)]
    private struct HsVersion
    {
        public uint Major, Minor, Revision;
        public override readonly string ToString() => $"{Major}.{Minor}.{Revision}";
    }

    /// <summary>The installed libhailo_shim: its ABI, release, backend and the HailoRT it was built for against the one loaded.</summary>
    private static unsafe NpuCheck ShimCheck()
    {
        if (!NativeLibrary.TryLoad("libhailo_shim.so", out var lib))
            return new("shim", Problem, "libhailo_shim.so does not load (hailo-common installs it)", "sudo apt install --reinstall hailo-common");
        try
        {
            if (!NativeLibrary.TryGetExport(lib, "hs_abi_version", out var abiP) || !NativeLibrary.TryGetExport(lib, "hs_shim_version", out var verP) ||
                !NativeLibrary.TryGetExport(lib, "hs_backend_name", out var backP) || !NativeLibrary.TryGetExport(lib, "hs_runtime_version", out var rtP) ||
                !NativeLibrary.TryGetExport(lib, "hs_last_error", out var errP))
                return new("shim", Problem, "libhailo_shim.so lacks the expected functions (not this product's shim?)", "sudo apt install --reinstall hailo-common");
            var abi = ((delegate* unmanaged<int>)abiP)();
            var version = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)verP)()) ?? "?";
            var backend = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)backP)()) ?? "?";
            HsVersion runtime = default, built = default;
            var status = ((delegate* unmanaged<HsVersion*, HsVersion*, int>)rtP)(&runtime, &built);
            var error = Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)errP)()) ?? "";
            var detail = $"shim {version} (ABI {abi}), backend {backend}";
            if (backend != "hailort")
                return new("shim", Problem, $"{detail}: this build has no HailoRT (the packaged shim never has), so the services use the CPU; HailoRT version: unknown",
                    "build the shim on the Pi against its HailoRT and install it in /usr/local/lib (/usr/share/doc/hailo-common/README.Debian)");
            if (status == 0) return new("shim", Ok, $"{detail}; HailoRT {runtime} loaded, built against {built}", null);
            return new("shim", Problem,
                $"{detail}; HailoRT version: {(error.Length > 0 ? error : "status " + status)}",
                "build the shim on the Pi against its HailoRT (/usr/share/doc/hailo-common/README.Debian)");
        }
        finally
        {
            NativeLibrary.Free(lib);
        }
    }
}
