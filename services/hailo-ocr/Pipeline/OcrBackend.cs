using Hailo.Hosting.Metrics;
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
    ProbabilityMap Run(RgbaImage image, StageTimer timer);
}

/// <summary>Adapter for a CTC text recognition model; crops are upright line images of any size.</summary>
internal interface ITextRecognizer : IDisposable
{
    string ModelName { get; }
    (string Text, float Confidence)[] Run(IReadOnlyList<RgbaImage> lines, StageTimer timer);
}

/// <summary>Adapter for the 0°/180° text direction classifier: true where a line is upside down.</summary>
internal interface ITextDirectionClassifier : IDisposable
{
    bool[] Run(IReadOnlyList<RgbaImage> lines, StageTimer timer);
}

/// <summary>The stages of one request, by their label in /metrics (hailo_inference_duration_seconds).</summary>
internal static class OcrStages
{
    public const string DetectionModel = "detection_model";
    /// <summary>Detection minus its model: resize or letterbox, map read-out, DB post-processing.</summary>
    public const string DetectionPost = "detection_post";
    public const string ClassifierModel = "classifier_model";
    public const string RecognitionModel = "recognition_model";
    /// <summary>Recognition minus its models: crops, turns, line preparation, CTC decoding.</summary>
    public const string RecognitionOther = "recognition_other";

    public static StageTimer NewTimer() => new(DetectionModel, DetectionPost, ClassifierModel, RecognitionModel, RecognitionOther);
}

/// <summary>Time spent inside the models during one request, for the response and for benchmarks.</summary>
internal sealed record OcrModelTimes(double DetectionMs, double ClassifierMs, double RecognitionMs)
{
    public double TotalMs => DetectionMs + ClassifierMs + RecognitionMs;
}
