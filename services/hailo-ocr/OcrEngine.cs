using Hailo.Hosting;
using Hailo.Hosting.Metrics;
using Hailo.Hosting.Models;
using Hailo.Media;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using Hailo.Runtime.Onnx;
using HailoOcr.Pipeline;
using Microsoft.Extensions.Logging;

namespace HailoOcr;

/// <summary>
/// Owns the OCR pipeline: picks the backend (`device: auto | npu | cpu`), loads the models (at start or on
/// first use), runs requests, and drops the NPU pipeline on a device fault so it reloads once the device answers.
/// </summary>
internal sealed class OcrEngine : IPreloadable, IDisposable
{
    private readonly ModelSlot<OcrPipeline> _slot;
    private readonly OcrConfig _config;
    private readonly ModelStore _store;
    private readonly ServiceMetrics _metrics;

    public ModelManifest Manifest { get; }
    public BackendChoice Choice { get; }
    public string Backend => Choice.Backend;
    public ModelSlot<OcrPipeline> Slot => _slot;

    public OcrEngine(OcrConfig config, ServiceState state, ServiceMetrics metrics, ModelStore store, ILogger<OcrEngine> log,
        Func<string, string> pullCommand, Func<NpuProbe>? probe = null)
    {
        _config = config;
        _store = store;
        _metrics = metrics;
        var cpu = store.Get(config.Ocr.CpuModel) ?? throw new InvalidOperationException($"unknown model {config.Ocr.CpuModel}");
        var npu = store.Get(config.Ocr.NpuModel) ?? throw new InvalidOperationException($"unknown model {config.Ocr.NpuModel}");
        Choice = BackendSelector.Choose(config.Device, probe ?? NpuProbe.Run, store.Locate(npu));
        Manifest = Choice.IsNpu ? npu : cpu;
        state.SetBackend(Choice.Backend, Choice.Reason);
        log.LogInformation("backend {Backend} ({Reason})", Choice.Backend, Choice.Reason);

        var fix = pullCommand(Manifest.Name);
        _slot = new ModelSlot<OcrPipeline>(Manifest.Name, _ => Choice.IsNpu ? LoadNpu(fix) : LoadCpu(fix), state,
            concurrency: 1, maxQueued: config.Server.MaxQueuedRequests, metrics, log,
            probe: () =>
            {
                var loc = store.Locate(Manifest);
                return loc.Complete
                    ? new ModelStatus(Manifest.Name, ModelState.Idle)
                    : new ModelStatus(Manifest.Name, ModelState.Missing, MissingDetail(loc), fix);
            })
        {
            // A lost or unresponsive NPU fails requests with 503 until the pipeline reloads on a live device.
            BackendFault = e => e is HailoException { IsDeviceFault: true } h ? $"NPU fault: {h.Message}" : null,
        };
    }

    /// <summary>True when the loaded (or to-be-loaded) pipeline reads Chinese; the NPU HEF is English only.</summary>
    public bool ReadsChinese => !Choice.IsNpu;

    private string MissingDetail(ModelLocation loc) =>
        $"{string.Join(", ", loc.Missing)} not found in {_store.ModelsDir}" + (_store.SearchPaths.Count > 0 ? $" or {string.Join(", ", _store.SearchPaths)}" : "");

    private ModelLocation Require(ModelManifest manifest, string fix)
    {
        var loc = _store.Locate(manifest);
        if (!loc.Complete) throw new ModelMissingException(manifest.Name, MissingDetail(loc), fix);
        return loc;
    }

    private OcrPipeline LoadCpu(string fix)
    {
        var loc = Require(Manifest, fix);
        var threads = _config.Cpu.EffectiveThreads;
        var owned = new List<IDisposable>();
        try
        {
            var det = Own(owned, new OnnxModel(loc[OcrModels.DetFile], threads));
            var rec = Own(owned, new OnnxModel(loc[OcrModels.RecFile], threads));
            var cls = Own(owned, new OnnxModel(loc[OcrModels.ClsFile], threads));
            var decoder = CtcDecoder.FromDictionaryFile(loc[OcrModels.DictFile], appendSpace: true);
            return new OcrPipeline(new OnnxTextDetector(det, _config.Ocr.DetLimitSide), new OnnxTextRecognizer(rec, decoder, _config.Ocr.RecBatchSize),
                new OnnxDirectionClassifier(cls), Manifest.Name, _metrics);
        }
        catch
        {
            foreach (var d in owned) d.Dispose();
            throw;
        }
    }

    private OcrPipeline LoadNpu(string fix)
    {
        var loc = Require(Manifest, fix);
        if (_config.Device == "npu" && NpuProbe.Run() is { Available: false })
            throw new InvalidOperationException(Choice.Reason);
        var owned = new List<IDisposable>();
        try
        {
            var vdevice = Own(owned, VDevice.Open());
            var det = Own(owned, VisionModel.Load(vdevice, loc[OcrModels.NpuDetFile]));
            var rec = Own(owned, VisionModel.Load(vdevice, loc[OcrModels.NpuRecFile]));
            // No direction classifier HEF exists; the small ONNX one runs on the CPU when its file is there.
            ITextDirectionClassifier? cls = null;
            if (_store.Get(_config.Ocr.CpuModel) is { } cpu && _store.Locate(cpu).Paths.TryGetValue(OcrModels.ClsFile, out var clsPath))
                cls = new OnnxDirectionClassifier(Own(owned, new OnnxModel(clsPath, 1)));
            owned.Remove(vdevice);
            return new OcrPipeline(new NpuTextDetector(det), new NpuTextRecognizer(rec), cls, Manifest.Name, _metrics, owned: vdevice);
        }
        catch
        {
            foreach (var d in Enumerable.Reverse(owned)) d.Dispose();
            throw;
        }
    }

    private static T Own<T>(List<IDisposable> owned, T d) where T : IDisposable
    {
        owned.Add(d);
        return d;
    }

    public Task PreloadAsync(CancellationToken ct) => _slot.PreloadAsync(ct);

    /// <summary>Runs the pipeline on an image decoded under <paramref name="admission"/> (see <see cref="ModelSlot{T}.AdmitAsync"/>).</summary>
    public Task<OcrOutcome> RunAsync(ModelSlot<OcrPipeline>.Admission admission, RgbaImage image, OcrOptions options, CancellationToken ct) =>
        admission.RunAsync(p =>
        {
            if (options.UseAngleClassifier && !p.HasClassifier)
                throw Hailo.Hosting.Http.ApiException.BadRequest("classifier_unavailable",
                    $"use_angle_cls needs the direction classifier of {_config.Ocr.CpuModel}; run: hailo-ocr pull {_config.Ocr.CpuModel}", "use_angle_cls");
            return p.Run(image, options);
        }, ct);

    public void Dispose() => _slot.Dispose();
}
