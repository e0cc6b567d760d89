using Hailo.Core;
using Hailo.Hosting;
using Hailo.Hosting.Config;
using Hailo.Hosting.Metrics;
using Hailo.Hosting.Models;
using Hailo.Runtime.Npu;
using Microsoft.Extensions.Logging;

namespace Hailo.Runtime;

/// <summary>
/// The model side of a one-model service: applies `device: auto | npu | cpu`, loads the chosen model (at start or
/// on first use) through a <see cref="ModelSlot{T}"/>, reports a missing model with the command that fetches it,
/// and drops an NPU model on a device fault so it reloads once the device answers again. The engine owns the NPU's
/// <see cref="VDevice"/>: it opens one for each NPU load, hands it to the service's loader, and releases it after the
/// model on it (when the load fails, the model is dropped, or the engine is disposed).
/// </summary>
public sealed class ModelEngine<T> : IPreloadable, IDisposable where T : class, IDisposable
{
    private readonly ModelStore _store;
    private readonly ModelSlot<T> _slot;
    private VDevice? _device;

    public ModelManifest Manifest { get; }
    public BackendChoice Choice { get; }
    /// <summary>The chosen backend (npu or cpu); responses and headers report it by <see cref="BackendNames.Name"/>.</summary>
    public Backend Backend => Choice.Backend;
    public ModelSlot<T> Slot => _slot;
    /// <inheritdoc cref="ModelSlot{T}.Loaded"/>
    public T? Loaded => _slot.Loaded;

    /// <param name="cpuModel">The ONNX model the CPU backend loads.</param>
    /// <param name="npuModel">The HEF model the NPU backend loads, or null when the service has none.</param>
    /// <param name="loadCpu">Builds the CPU pipeline from the located files.</param>
    /// <param name="loadNpu">Builds the NPU pipeline from the located files on the device the engine opened (and releases).</param>
    /// <param name="probe">Finds the NPU (tests pass their own).</param>
    /// <param name="device">The device this engine applies, when not the service's <c>device</c> (a second model with its own setting).</param>
    /// <param name="primary">
    /// Whether this engine's backend is the service's (reported on /health and STATUS=). A service's second engine
    /// passes false and reports its own choice where it sees fit.
    /// </param>
    public ModelEngine(ServiceConfig config, ServiceState state, ServiceMetrics metrics, ModelStore store, ILogger log, Func<string, string> pullCommand,
        ModelManifest cpuModel, ModelManifest? npuModel, Func<ModelLocation, T> loadCpu, Func<VDevice, ModelLocation, T> loadNpu, Func<NpuProbe>? probe = null,
        Backend? device = null, bool primary = true)
    {
        _store = store;
        probe ??= NpuProbe.Run;
        var wanted = device ?? config.Device;
        Choice = BackendSelector.Choose(wanted, probe, npuModel is null ? null : store.Locate(npuModel));
        Manifest = Choice.IsNpu && npuModel is not null ? npuModel : cpuModel;
        if (primary) state.SetBackend(Choice.Backend, Choice.Reason);
        log.LogInformation("{Model}: backend {Backend} ({Reason})", Manifest.Name, Choice.Name, Choice.Reason);

        var manifest = Manifest;
        var fix = Fix(store, manifest, pullCommand);
        var choice = Choice;
        _slot = new ModelSlot<T>(manifest.Name, _ =>
            {
                var loc = store.Locate(manifest);
                if (!loc.Complete) throw new ModelMissingException(manifest.Name, MissingDetail(loc), fix);
                if (!choice.IsNpu) return loadCpu(loc);
                if (wanted == Core.Backend.Npu && probe() is { Available: false } npu) throw new InvalidOperationException(npu.Description);
                return LoadOnDevice(loadNpu, loc);
            }, state, concurrency: 1, maxQueued: config.Server.MaxQueuedRequests, metrics, log,
            probe: () =>
            {
                var loc = store.Locate(manifest);
                return loc.Complete
                    ? new ModelStatus(manifest.Name, ModelState.Idle)
                    : new ModelStatus(manifest.Name, ModelState.Missing, MissingDetail(loc), fix);
            })
        {
            // A lost or unresponsive NPU fails requests with 503 until the model reloads on a live device.
            BackendFault = e => e is HailoException { IsDeviceFault: true } h ? $"NPU fault: {h.Message}" : null,
            // The device goes after the model that ran on it.
            Unloaded = _ => Interlocked.Exchange(ref _device, null)?.Dispose(),
        };
    }

    private T LoadOnDevice(Func<VDevice, ModelLocation, T> loadNpu, ModelLocation loc)
    {
        var device = VDevice.Open();
        try
        {
            var model = loadNpu(device, loc);
            Interlocked.Exchange(ref _device, device)?.Dispose();
            return model;
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The command that fetches the model, or for a model without a download address (an export the operator
    /// brings) where to put which file.
    /// </summary>
    public static string Fix(ModelStore store, ModelManifest manifest, Func<string, string> pullCommand) =>
        manifest.Files.All(f => f.Url is not null || f.ArchiveMember is not null)
            ? pullCommand(manifest.Name)
            : $"put {string.Join(", ", manifest.Files.Select(f => f.Name))} into {Path.Combine(store.ModelsDir, manifest.Name)}/ ({manifest.Description})";

    private string MissingDetail(ModelLocation loc) =>
        $"{string.Join(", ", loc.Missing)} not found in {_store.ModelsDir}" + (_store.SearchPaths.Count > 0 ? $" or {string.Join(", ", _store.SearchPaths)}" : "");

    public Task PreloadAsync(CancellationToken ct) => _slot.PreloadAsync(ct);

    /// <summary>Runs <paramref name="work"/> on the loaded model (loading it first if needed); queue and faults as <see cref="ModelSlot{T}"/>.</summary>
    public Task<TResult> RunAsync<TResult>(Func<T, TResult> work, CancellationToken ct) => _slot.RunAsync(work, ct);

    public void Dispose() => _slot.Dispose();
}
