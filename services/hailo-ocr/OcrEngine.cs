using Hailo.Hosting;
using Hailo.Hosting.Metrics;
using Hailo.Hosting.Models;
using Hailo.Media;
using Hailo.Runtime.Onnx;
using HailoOcr.Pipeline;
using Microsoft.Extensions.Logging;

namespace HailoOcr;

/// <summary>Owns the OCR pipeline: picks the backend, loads the models (at start or on first use) and runs requests.</summary>
internal sealed class OcrEngine : IPreloadable, IDisposable
{
    private readonly ModelSlot<OcrPipeline> _slot;
    private readonly OcrConfig _config;

    public ModelManifest Manifest { get; }
    public string Backend => "cpu";
    public ModelSlot<OcrPipeline> Slot => _slot;

    public OcrEngine(OcrConfig config, ServiceState state, ServiceMetrics metrics, ModelStore store, ILogger<OcrEngine> log, string pullCommand)
    {
        _config = config;
        Manifest = store.Get(config.Ocr.CpuModel) ?? throw new InvalidOperationException($"unknown model {config.Ocr.CpuModel}");
        var reason = config.Device switch
        {
            "cpu" => "device: cpu",
            // The NPU adapter for OCR arrives with the native shim; until then every device setting runs here.
            _ => $"device: {config.Device}; the NPU path of hailo-ocr is not available in this build, using the CPU (ONNX Runtime)",
        };
        state.SetBackend("cpu", reason);
        log.LogInformation("backend cpu ({Reason})", reason);

        _slot = new ModelSlot<OcrPipeline>(Manifest.Name, _ => Load(store, metrics, pullCommand), state,
            concurrency: 1, maxQueued: config.Server.MaxQueuedRequests, metrics, log,
            probe: () =>
            {
                var loc = store.Locate(Manifest);
                return loc.Complete
                    ? new ModelStatus(Manifest.Name, ModelState.Idle)
                    : new ModelStatus(Manifest.Name, ModelState.Missing, MissingDetail(store, loc), pullCommand);
            });
    }

    private static string MissingDetail(ModelStore store, ModelLocation loc) =>
        $"{string.Join(", ", loc.Missing)} not found in {store.ModelsDir}" + (store.SearchPaths.Count > 0 ? $" or {string.Join(", ", store.SearchPaths)}" : "");

    private OcrPipeline Load(ModelStore store, ServiceMetrics metrics, string pullCommand)
    {
        var loc = store.Locate(Manifest);
        if (!loc.Complete) throw new ModelMissingException(Manifest.Name, MissingDetail(store, loc), pullCommand);
        var threads = _config.Cpu.EffectiveThreads;
        var disposables = new List<IDisposable>();
        try
        {
            var det = new OnnxModel(loc[OcrModels.DetFile], threads);
            disposables.Add(det);
            var rec = new OnnxModel(loc[OcrModels.RecFile], threads);
            disposables.Add(rec);
            var cls = new OnnxModel(loc[OcrModels.ClsFile], threads);
            disposables.Add(cls);
            var decoder = CtcDecoder.FromDictionaryFile(loc[OcrModels.DictFile], appendSpace: true);
            return new OcrPipeline(
                new OnnxTextDetector(det, _config.Ocr.DetLimitSide),
                new OnnxTextRecognizer(rec, decoder, _config.Ocr.RecBatchSize),
                new OnnxDirectionClassifier(cls),
                Manifest.Name, metrics);
        }
        catch
        {
            foreach (var d in disposables) d.Dispose();
            throw;
        }
    }

    public Task PreloadAsync(CancellationToken ct) => _slot.PreloadAsync(ct);

    public Task<OcrOutcome> RunAsync(RgbaImage image, OcrOptions options, CancellationToken ct) =>
        _slot.RunAsync(p => p.Run(image, options), ct);

    public void Dispose() => _slot.Dispose();
}
