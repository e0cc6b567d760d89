using System.Diagnostics;
using System.Numerics;
using Hailo.Hosting.Metrics;
using Hailo.Media;

namespace HailoOcr.Pipeline;

/// <summary>Per-request knobs; the service fills unset ones from its config.</summary>
internal sealed record OcrOptions(DbOptions Detection, float RecThreshold, bool UseAngleClassifier);

/// <summary>One recognised line: its quadrilateral in image pixels (TL, TR, BR, BL), text and confidences.</summary>
internal sealed record OcrLine(Vector2[] Quad, string Text, float Confidence, float DetectionScore, bool Rotated180, int Line);

/// <summary>Everything one request produced, with stage timings in milliseconds.</summary>
internal sealed record OcrOutcome(IReadOnlyList<OcrLine> Lines, double DetectionMs, double RecognitionMs, OcrModelTimes Models);

/// <summary>
/// Detection → DB post-processing → perspective crops → optional direction classifier → recognition.
/// Backend-neutral: the CPU and NPU differ only in the three model adapters.
/// </summary>
internal sealed class OcrPipeline(ITextDetector detector, ITextRecognizer recognizer, ITextDirectionClassifier? classifier,
    string name, ServiceMetrics? metrics = null, IDisposable? owned = null) : IDisposable, Hailo.Hosting.IWarmUp
{
    public string Name { get; } = name;
    public string DetectionModel => detector.ModelName;
    public string RecognitionModel => recognizer.ModelName;
    public bool HasClassifier => classifier is not null;

    public OcrOutcome Run(RgbaImage image, OcrOptions options)
    {
        var timer = OcrStages.NewTimer();
        var t0 = Stopwatch.GetTimestamp();
        var map = detector.Run(image, timer);
        var boxes = DbPostProcess.Detect(map.Data, map.Width, map.Height, options.Detection);
        var quads = new List<Vector2[]>(boxes.Count);
        var scores = new List<float>(boxes.Count);
        foreach (var box in boxes)
        {
            var q = new Vector2[4];
            for (var i = 0; i < 4; i++)
                q[i] = new Vector2(
                    Math.Clamp((box.Corners[i].X - map.OffsetX) * map.ScaleX, 0, image.Width),
                    Math.Clamp((box.Corners[i].Y - map.OffsetY) * map.ScaleY, 0, image.Height));
            if (Vector2.Distance(q[0], q[1]) < 1 || Vector2.Distance(q[0], q[3]) < 1) continue;
            quads.Add(q);
            scores.Add(box.Score);
        }
        var t1 = Stopwatch.GetTimestamp();

        var crops = new List<RgbaImage>(quads.Count);
        try
        {
            foreach (var q in quads) crops.Add(PerspectiveCrop.Crop(image, q));
            var rotated = new bool[crops.Count];
            if (options.UseAngleClassifier && classifier is not null && crops.Count > 0)
            {
                rotated = classifier.Run(crops, timer);
                for (var i = 0; i < crops.Count; i++)
                {
                    if (!rotated[i]) continue;
                    var turned = Orientation.Apply(crops[i], 3);
                    crops[i].Dispose();
                    crops[i] = turned;
                }
            }
            var texts = crops.Count > 0 ? recognizer.Run(crops, timer) : [];
            var t2 = Stopwatch.GetTimestamp();

            var lines = new List<OcrLine>(texts.Length);
            var lineNo = 0;
            float? lastCentre = null, lastHeight = null;
            for (var i = 0; i < texts.Length; i++)
            {
                var (text, conf) = texts[i];
                text = text.Trim();
                if (text.Length == 0 || conf < options.RecThreshold) continue;
                var q = quads[i];
                var centre = (q[0].Y + q[1].Y + q[2].Y + q[3].Y) / 4;
                var height = (Vector2.Distance(q[0], q[3]) + Vector2.Distance(q[1], q[2])) / 2;
                // Boxes arrive in reading order; a jump of more than half a line height starts a new line.
                if (lastCentre is { } c && MathF.Abs(centre - c) > 0.5f * MathF.Min(height, lastHeight!.Value)) lineNo++;
                (lastCentre, lastHeight) = (centre, height);
                lines.Add(new OcrLine(q, text, conf, scores[i], rotated[i], lineNo));
            }

            var detMs = Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds;
            var recMs = Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds;
            var models = new OcrModelTimes(timer[OcrStages.DetectionModel], timer[OcrStages.ClassifierModel], timer[OcrStages.RecognitionModel]);
            timer.Add(OcrStages.DetectionPost, detMs - models.DetectionMs);
            timer.Add(OcrStages.RecognitionModel, 0); // reported also when there was no line to read
            timer.Add(OcrStages.RecognitionOther, recMs - models.RecognitionMs - models.ClassifierMs);
            timer.Report(metrics, Name); // classifier_model only when the classifier ran
            return new OcrOutcome(lines, detMs, recMs, models);
        }
        finally
        {
            foreach (var c in crops) c.Dispose();
        }
    }

    /// <summary>
    /// Each model once on a blank input (not counted in /metrics): detection on a VGA page, the classifier and
    /// recognition on a blank line.
    /// </summary>
    public void WarmUp()
    {
        var timer = OcrStages.NewTimer();
        using (var page = RgbaImage.Filled(640, 480, 255, 255, 255)) detector.Run(page, timer);
        using var line = RgbaImage.Filled(320, 48, 255, 255, 255);
        classifier?.Run([line], timer);
        recognizer.Run([line], timer);
    }

    public void Dispose()
    {
        detector.Dispose();
        recognizer.Dispose();
        classifier?.Dispose();
        owned?.Dispose(); // e.g. the NPU's VDevice, released after the models on it
    }
}
