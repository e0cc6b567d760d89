using System.Diagnostics;
using Hailo.Hosting.Metrics;
using Hailo.Media;

namespace HailoPose.Pipeline;

/// <summary>Per-request knobs; the service fills unset ones from its config.</summary>
internal sealed record PoseOptions(float Confidence, float Iou, int MaxDetections);

/// <summary>Milliseconds spent in each stage of one request.</summary>
internal sealed class PoseTimer
{
    public double PreprocessMs;
    public double ModelMs;
    public double PostprocessMs;
}

/// <summary>The people found in one image (image pixels, best score first) and the stage timings.</summary>
internal sealed record PoseOutcome(IReadOnlyList<Person> People, PoseTimer Timer, LetterboxTransform Letterbox);

/// <summary>
/// A YOLOv8-pose model on one backend: letterboxes the image into its input, runs it and decodes every candidate
/// scoring at least the threshold into <see cref="PoseCandidates"/> (input pixels).
/// </summary>
internal interface IPoseModel : IDisposable
{
    string ModelFile { get; }
    (int Width, int Height) InputSize { get; }
    LetterboxTransform Run(RgbaImage image, float threshold, PoseCandidates into, PoseTimer timer);
}

/// <summary>
/// Letterbox → model → decoder (per backend) → class-agnostic NMS → letterbox undo. Everything after the decoder is
/// shared by both backends.
/// </summary>
internal sealed class PosePipeline(IPoseModel model, string name, ServiceMetrics? metrics = null, IDisposable? owned = null) : IDisposable, Hailo.Hosting.IWarmUp
{
    /// <summary>Ultralytics' letterbox colour (also what the Hailo pose examples pad with).</summary>
    public static readonly (byte R, byte G, byte B) PadColour = (114, 114, 114);

    private readonly PoseCandidates _candidates = new();

    public string Name { get; } = name;
    public string ModelFile => model.ModelFile;
    /// <summary>The size an image of <paramref name="width"/>×<paramref name="height"/> is resized to inside the model input.</summary>
    public (int Width, int Height) FittedSize(int width, int height)
    {
        var fit = LetterboxTransform.Fit(width, height, model.InputSize.Width, model.InputSize.Height);
        return (fit.ScaledWidth, fit.ScaledHeight);
    }

    public PoseOutcome Run(RgbaImage image, PoseOptions options)
    {
        var timer = new PoseTimer();
        _candidates.Clear();
        var fit = model.Run(image, options.Confidence, _candidates, timer);
        var start = Stopwatch.GetTimestamp();
        var kept = PoseNms.Run(_candidates, options.Iou, options.MaxDetections);
        var people = new Person[kept.Length];
        for (var i = 0; i < kept.Length; i++) people[i] = ToImage(_candidates.Row(kept[i]), fit, image.SourceWidth, image.SourceHeight);
        timer.PostprocessMs += Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (metrics is not null)
        {
            metrics.ObserveInference(Name, "preprocess", timer.PreprocessMs / 1000);
            metrics.ObserveInference(Name, "model", timer.ModelMs / 1000);
            metrics.ObserveInference(Name, "postprocess", timer.PostprocessMs / 1000);
        }
        return new PoseOutcome(people, timer, fit);
    }

    /// <summary>One model run on a grey frame of the input's size (not counted in /metrics).</summary>
    public void WarmUp()
    {
        using var grey = RgbaImage.Filled(model.InputSize.Width, model.InputSize.Height, PadColour.R, PadColour.G, PadColour.B);
        _candidates.Clear();
        model.Run(grey, 1f, _candidates, new PoseTimer());
        _candidates.Clear();
    }

    /// <summary>A candidate row mapped from input pixels back to the image, clipped to it.</summary>
    internal static Person ToImage(ReadOnlySpan<float> row, LetterboxTransform fit, int width, int height)
    {
        var (x1, y1) = fit.ToOriginal(row[0], row[1]);
        var (x2, y2) = fit.ToOriginal(row[2], row[3]);
        var keypoints = new Keypoint[CocoKeypoints.Count];
        for (var k = 0; k < keypoints.Length; k++)
        {
            var (x, y) = fit.ToOriginal(row[5 + 3 * k], row[6 + 3 * k]);
            keypoints[k] = new Keypoint(Math.Clamp(x, 0, width), Math.Clamp(y, 0, height), row[7 + 3 * k]);
        }
        return new Person(Math.Clamp(x1, 0, width), Math.Clamp(y1, 0, height), Math.Clamp(x2, 0, width), Math.Clamp(y2, 0, height), row[4], keypoints);
    }

    internal static double Elapsed(long start) => Stopwatch.GetElapsedTime(start).TotalMilliseconds;

    public void Dispose()
    {
        model.Dispose();
        owned?.Dispose();
    }
}
