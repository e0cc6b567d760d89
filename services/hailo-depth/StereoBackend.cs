using Hailo.Core;
using Hailo.Hosting;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using HailoDepth.Pipeline.Stereo;
using Microsoft.Extensions.Logging;

namespace HailoDepth;

/// <summary>
/// Where stereo pairs are matched: semi-global matching on the CPU (no model), or the stereo network on the NPU
/// through its own <see cref="ModelEngine{T}"/> (a second engine beside the monocular one: its own queue, its own
/// device handle in the shared group, its model on /health). The choice is made once at start and shown on /health
/// under <c>details.stereo</c>.
/// </summary>
internal sealed class StereoBackend : IPreloadable, IDisposable
{
    /// <summary>The NPU engine, or null when pairs are matched on the CPU.</summary>
    public ModelEngine<NpuStereoModel>? Npu { get; }
    public string Description { get; }

    private StereoBackend(ModelEngine<NpuStereoModel>? npu, string description) => (Npu, Description) = (npu, description);

    public static StereoBackend Create(ServiceContext<DepthConfig> ctx, ILogger log, Func<NpuProbe>? probe)
    {
        var c = ctx.Config;
        BackendNames.TryParse(c.Stereo.Device, out var wanted);
        // `stereo.device: auto` follows a service told to use the CPU.
        var followsService = wanted == Backend.Auto && c.Device == Backend.Cpu;
        if (followsService) wanted = Backend.Cpu;
        var manifest = DepthModels.StereoNetHailo;
        // The choice is made before an engine exists, so that a CPU choice leaves no stereo model on /health.
        var choice = BackendSelector.Choose(wanted, probe ?? NpuProbe.Run, ctx.Models.Locate(manifest));
        var reason = followsService ? "device: cpu" : choice.Reason.Replace("device:", "stereo.device:");
        StereoBackend backend;
        if (!choice.IsNpu)
            backend = new StereoBackend(null, $"cpu: semi-global matching ({reason})");
        else
        {
            var engine = new ModelEngine<NpuStereoModel>(c, ctx.State, ctx.Metrics, ctx.Models, log, ctx.PullCommand, manifest, manifest,
                loadCpu: _ => throw new InvalidOperationException("the stereo network runs on the NPU only"),
                loadNpu: (vdevice, loc) => new NpuStereoModel(VisionModel.Load(vdevice, loc[manifest.Files[0].Name])),
                probe, device: Backend.Npu, primary: false);
            backend = new StereoBackend(engine, $"npu: {manifest.Name} ({reason})");
        }
        ctx.State.AddDetail("stereo", () => backend.Description);
        log.LogInformation("stereo pairs: {Stereo}", backend.Description);
        return backend;
    }

    public Task PreloadAsync(CancellationToken ct) => Npu?.PreloadAsync(ct) ?? Task.CompletedTask;

    public void Dispose() => Npu?.Dispose();
}
