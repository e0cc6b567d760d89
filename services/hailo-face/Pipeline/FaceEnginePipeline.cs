using Hailo.Face;
using Hailo.Hosting.Metrics;

namespace HailoFace.Pipeline;

/// <summary>The shared face pipeline (detector + embedder) as the model slot holds it, with its warm-up and metrics.</summary>
internal sealed class FaceEnginePipeline(FacePipeline face, ServiceMetrics? metrics = null) : IDisposable, Hailo.Hosting.IWarmUp
{
    public FacePipeline Face { get; } = face;

    public void WarmUp() => Face.WarmUp();

    public void Report(FaceTimings t)
    {
        var timer = new StageTimer();
        timer.Add(StageTimer.Preprocess, t.PreprocessMs);
        timer.Add(StageTimer.Model, t.ModelMs);
        timer.Add(StageTimer.Postprocess, t.PostprocessMs);
        timer.Report(metrics, Face.Name);
    }

    public void Dispose() => Face.Dispose();
}
