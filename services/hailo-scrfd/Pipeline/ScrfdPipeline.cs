using Hailo.Face;
using Hailo.Hosting.Metrics;

namespace HailoScrfd.Pipeline;

/// <summary>The shared face pipeline (detector only) as the model slot holds it, with its warm-up and metrics.</summary>
internal sealed class ScrfdPipeline(FacePipeline face, ServiceMetrics? metrics = null) : IDisposable, Hailo.Hosting.IWarmUp
{
    public FacePipeline Face { get; } = face;
    public string ModelFile => Face.DetectorFile;

    public void WarmUp() => Face.WarmUp();

    /// <summary>The stage timings as a <see cref="StageTimer"/>, reported to /metrics under the model's name.</summary>
    public StageTimer Report(FaceTimings t)
    {
        var timer = new StageTimer();
        timer.Add(StageTimer.Preprocess, t.PreprocessMs);
        timer.Add(StageTimer.Model, t.ModelMs);
        timer.Add(StageTimer.Postprocess, t.PostprocessMs);
        timer.Report(metrics, Face.Name);
        return timer;
    }

    public void Dispose() => Face.Dispose();
}
