using Hailo.Media;

namespace HailoOcr.Pipeline;

/// <summary>
/// A text probability map from a detection model, in map pixels, and how map pixels relate to the
/// original image: original = (map − Offset) · Scale.
/// </summary>
internal sealed record ProbabilityMap(float[] Data, int Width, int Height, float ScaleX, float ScaleY, float OffsetX = 0, float OffsetY = 0);

/// <summary>Adapter for a DB text detection model (ONNX on the CPU, a HEF on the NPU).</summary>
internal interface ITextDetector : IDisposable
{
    string ModelName { get; }
    ProbabilityMap Run(RgbaImage image, ModelTimer timer);
}

/// <summary>Adapter for a CTC text recognition model; crops are upright line images of any size.</summary>
internal interface ITextRecognizer : IDisposable
{
    string ModelName { get; }
    (string Text, float Confidence)[] Run(IReadOnlyList<RgbaImage> lines, ModelTimer timer);
}

/// <summary>Adapter for the 0°/180° text direction classifier: true where a line is upside down.</summary>
internal interface ITextDirectionClassifier : IDisposable
{
    bool[] Run(IReadOnlyList<RgbaImage> lines, ModelTimer timer);
}

/// <summary>Time spent inside the models during one request, for the response and for benchmarks.</summary>
internal sealed class ModelTimer
{
    public double DetectionMs;
    public double ClassifierMs;
    public double RecognitionMs;
    public double TotalMs => DetectionMs + ClassifierMs + RecognitionMs;

    public static T Time<T>(ref double accumulator, Func<T> f)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        try { return f(); }
        finally { accumulator += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds; }
    }
}
