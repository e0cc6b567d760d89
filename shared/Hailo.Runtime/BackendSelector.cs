using Hailo.Core;
using Hailo.Hosting.Models;
using Hailo.Runtime.Npu;

namespace Hailo.Runtime;

/// <summary>What start-up found of the NPU: whether it can be used and, either way, a sentence saying why.</summary>
public sealed record NpuProbe(bool Available, string Description)
{
    /// <summary>Loads the shim, scans for a device and identifies it. Never throws.</summary>
    public static NpuProbe Run()
    {
        if (!NpuRuntime.TryLoad(out var runtime, out var reason)) return new NpuProbe(false, $"no NPU runtime: {reason}");
        // A shim built without HailoRT only has the test backend; never serve canned tensors unless asked to.
        if (runtime.IsFake && Environment.GetEnvironmentVariable("HS_BACKEND") != "fake")
            return new NpuProbe(false, $"{runtime.LibraryPath} was built without HailoRT (test backend only); build it on the Pi as native-shim/README.md says");
        try
        {
            var ids = NpuDevice.Scan();
            if (ids.Count == 0) return new NpuProbe(false, $"no Hailo device found ({runtime.BackendName} backend)");
            using var device = NpuDevice.Open(ids[0]);
            var id = device.Identify();
            var what = id.ProductName.Length > 0 ? id.ProductName : id.ArchitectureName;
            return new NpuProbe(true, $"{what} {ids[0]} (firmware {id.FirmwareVersion}, HailoRT {runtime.RuntimeVersion}, {runtime.BackendName} backend)");
        }
        catch (HailoException e)
        {
            return new NpuProbe(false, $"the Hailo device does not answer: {e.Message}");
        }
    }
}

/// <summary>The backend a service runs on (npu or cpu), and the reason, for the log, STATUS= and /health.</summary>
public sealed record BackendChoice(Backend Backend, string Reason)
{
    public bool IsNpu => Backend == Backend.Npu;
    /// <summary>The backend's wire name: "npu" or "cpu".</summary>
    public string Name => Backend.Name();
}

/// <summary>
/// Applies `device: auto | npu | cpu`. auto takes the NPU when the shim loads, a device answers and the model's
/// HEFs are present, else the CPU. npu insists on the NPU (the service then reports why it cannot serve).
/// </summary>
public static class BackendSelector
{
    public static BackendChoice Choose(Backend device, Func<NpuProbe> probe, ModelLocation? npuModel)
    {
        if (device == Backend.Cpu) return new BackendChoice(Backend.Cpu, "device: cpu");
        if (npuModel is null)
            return new BackendChoice(device == Backend.Npu ? Backend.Npu : Backend.Cpu, $"device: {device.Name()}; this service has no NPU model");
        var npu = probe();
        if (device == Backend.Npu)
            return new BackendChoice(Backend.Npu, npu.Available ? $"device: npu; {npu.Description}" : $"device: npu, but {npu.Description}");
        if (!npu.Available) return new BackendChoice(Backend.Cpu, $"device: auto; {npu.Description}; using the CPU");
        if (!npuModel.Complete)
            return new BackendChoice(Backend.Cpu, $"device: auto; {npu.Description} is present but {string.Join(", ", npuModel.Missing)} of {npuModel.Manifest.Name} not found; using the CPU");
        return new BackendChoice(Backend.Npu, $"device: auto; {npu.Description}");
    }
}
