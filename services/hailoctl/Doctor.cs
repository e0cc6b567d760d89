using System.Text.Json;
using Hailo.Management;

namespace HailoCtl;

/// <summary>hailoctl doctor: the NPU set-up as far as this machine shows it (<see cref="NpuDoctor"/>), each problem with its fix.</summary>
internal static class Doctor
{
    public static async Task<int> RunAsync(Invocation inv, TextWriter stdout, TextWriter stderr)
    {
        if (inv.Args.Count > 0) throw new CtlException("doctor takes no arguments");
        List<NpuCheck> checks;
        SystemdClient? systemd = null;
        string? busError = null;
        try
        {
            systemd = await Cli.ConnectAsync(inv.Settings.BusAddress);
        }
        catch (CtlException e)
        {
            busError = e.Message;
        }
        try
        {
            checks = await NpuDoctor.CheckAsync(systemd, busError);
        }
        finally
        {
            if (systemd is not null) await systemd.DisposeAsync();
        }

        var report = new DoctorReport(checks.All(c => c.Result != NpuDoctor.Problem), checks);
        if (inv.Json) stdout.WriteLine(JsonSerializer.Serialize(report, CtlJson.Out.DoctorReport));
        else
        {
            foreach (var c in checks)
            {
                stdout.WriteLine($"[{c.Result}] {c.Check}: {c.Detail}");
                if (c.Fix is not null) stdout.WriteLine("    fix: " + c.Fix);
            }
        }
        return report.Ok ? ExitCodes.Ok : ExitCodes.Failure;
    }
}
