using System.Diagnostics;
using Hailo.Hosting.Metrics;
using Hailo.Media;
using Hailo.Vision;

namespace HailoPose.Pipeline;

/// <summary>Per-request knobs; the service fills unset ones from its config.</summary>
internal sealed record PoseOptions(float Confidence, float Iou, int MaxDetections);

/// <summary>The people found in one image (image pixels, best score first) and the stage timings.</summary>
internal sealed record PoseOutcome(IReadOnlyList<Person> People, StageTimer Timer, LetterboxTransform Letterbox);

/// <summary>
/// A YOLOv8-pose model on one backend: letterboxes the image into its input, runs it and decodes every candidate
/// scoring at least the threshold into <see cref="PoseCandidates"/> (input pixels).
/// </summary>
internal interface IPoseModel : IDisposable
{
    string ModelFile { get; }
    (int Width, int Height) InputSize { get; }
    LetterboxTransform Run(RgbaImage image, float threshold, PoseCandidates into, StageTimer timer);
}

/// <summary>
/// Letterbox → model → decoder (per backend) → class-agnostic NMS → letterbox undo (both from Hailo.Vision).
/// Everything after the decoder is shared by both backends.
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
        var timer = new StageTimer();
        _candidates.Clear();
        var fit = model.Run(image, options.Confidence, _candidates, timer);
        var start = Stopwatch.GetTimestamp();
        var kept = Nms.ClassAgnostic(_candidates.Rows, PoseCandidates.RowLength, options.Iou, options.MaxDetections);
        var people = new Person[kept.Length];
        for (var i = 0; i < kept.Length; i++) people[i] = ToImage(_candidates.Row(kept[i]), fit, image.SourceWidth, image.SourceHeight);
        timer.AddSince(StageTimer.Postprocess, start);
        timer.Report(metrics, Name);
        return new PoseOutcome(people, timer, fit);
    }

    /// <summary>One model run on a grey frame of the input's size (not counted in /metrics).</summary>
    public void WarmUp()
    {
        using var grey = RgbaImage.Filled(model.InputSize.Width, model.InputSize.Height, PadColour.R, PadColour.G, PadColour.B);
        _candidates.Clear();
        model.Run(grey, 1f, _candidates, new StageTimer());
        _candidates.Clear();
    }

    /// <summary>A candidate row mapped from input pixels back to the image, clipped to it.</summary>
    internal static Person ToImage(ReadOnlySpan<float> row, LetterboxTransform fit, int width, int height)
    {
        var box = fit.ToOriginal(new Box(row[0], row[1], row[2], row[3])).Clip(width, height);
        var keypoints = new Keypoint[CocoKeypoints.Count];
        for (var k = 0; k < keypoints.Length; k++)
            keypoints[k] = fit.ToOriginal(new Keypoint(row[5 + 3 * k], row[6 + 3 * k], row[7 + 3 * k])).Clip(width, height);
        return new Person(box.X1, box.Y1, box.X2, box.Y2, row[4], keypoints);
    }

    public void Dispose()
    {
        model.Dispose();
        owned?.Dispose();
    }
}
