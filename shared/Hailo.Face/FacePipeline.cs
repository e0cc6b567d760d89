using System.Diagnostics;
using System.Numerics;
using Hailo.Media;
using Hailo.Vision;

namespace Hailo.Face;

/// <summary>Milliseconds spent per stage of one request (the services hand them to their metrics).</summary>
public sealed class FaceTimings
{
    public double PreprocessMs { get; set; }
    public double ModelMs { get; set; }
    public double PostprocessMs { get; set; }

    public static double Since(long start) => Stopwatch.GetElapsedTime(start).TotalMilliseconds;
}

/// <summary>A SCRFD detector on one backend: letterboxes the image, runs the model and decodes every candidate at or above the threshold.</summary>
public interface IFaceDetector : IDisposable
{
    string ModelFile { get; }
    (int Width, int Height) InputSize { get; }
    LetterboxTransform Detect(RgbaImage image, float threshold, FaceCandidates into, FaceTimings timings);
}

/// <summary>An ArcFace embedder on one backend: a 112×112 aligned face in, an L2-normalised embedding out.</summary>
public interface IFaceEmbedder : IDisposable
{
    string ModelFile { get; }
    int Dimension { get; }
    float[] Embed(RgbaImage aligned, FaceTimings timings);
}

/// <summary>Per-request detection knobs.</summary>
public sealed record FaceDetectOptions(float Confidence, float Iou, int MaxFaces, int MinFaceSize = 0);

/// <summary>
/// Detection → NMS → letterbox undo, alignment and embedding: the one face pipeline both services run. The embedder
/// is optional (hailo-scrfd has none).
/// </summary>
public sealed class FacePipeline(IFaceDetector detector, IFaceEmbedder? embedder, string name) : IDisposable
{
    private readonly FaceCandidates _candidates = new();

    public string Name { get; } = name;
    public string DetectorFile => detector.ModelFile;
    public string? EmbedderFile => embedder?.ModelFile;
    public int EmbeddingDimension => embedder?.Dimension ?? 0;

    /// <summary>
    /// The size a letterboxing detector (SCRFD) scales a width×height image to: what a reduced JPEG decode may stop at
    /// when only detection follows (alignment and embedding want the full resolution).
    /// </summary>
    public (int Width, int Height) DetectorFittedSize(int width, int height)
    {
        var fit = LetterboxTransform.Fit(width, height, detector.InputSize.Width, detector.InputSize.Height);
        return (fit.ScaledWidth, fit.ScaledHeight);
    }

    /// <summary>Faces in image pixels, best first.</summary>
    public IReadOnlyList<DetectedFace> Detect(RgbaImage image, FaceDetectOptions options, FaceTimings timings)
    {
        _candidates.Clear();
        var fit = detector.Detect(image, options.Confidence, _candidates, timings);
        var start = Stopwatch.GetTimestamp();
        var kept = Nms.ClassAgnostic(_candidates.Rows, FaceCandidates.RowLength, options.Iou, options.MaxFaces);
        var faces = new List<DetectedFace>(kept.Length);
        foreach (var k in kept)
        {
            var face = ToImage(_candidates.Row(k), fit, image.SourceWidth, image.SourceHeight);
            if (face.Width < options.MinFaceSize || face.Height < options.MinFaceSize) continue;
            faces.Add(face);
        }
        timings.PostprocessMs += FaceTimings.Since(start);
        return faces;
    }

    /// <summary>The 112×112 aligned crop of a face.</summary>
    public static RgbaImage Align(RgbaImage image, DetectedFace face) => FaceAligner.Align(image, face.Landmarks);

    /// <summary>The face's unit-length embedding (detection must have found it first).</summary>
    public float[] Embed(RgbaImage image, DetectedFace face, FaceTimings timings)
    {
        if (embedder is null) throw new InvalidOperationException("this pipeline has no embedding model");
        var start = Stopwatch.GetTimestamp();
        using var aligned = Align(image, face);
        timings.PreprocessMs += FaceTimings.Since(start);
        return embedder.Embed(aligned, timings);
    }

    /// <summary>One run of each model on a blank input (not counted anywhere).</summary>
    public void WarmUp()
    {
        var (w, h) = detector.InputSize;
        using var grey = RgbaImage.Filled(w, h, 0, 0, 0);
        _candidates.Clear();
        detector.Detect(grey, 1f, _candidates, new FaceTimings());
        _candidates.Clear();
        if (embedder is null) return;
        using var face = RgbaImage.Filled(FaceLandmarks.AlignedSize, FaceLandmarks.AlignedSize, 0, 0, 0);
        embedder.Embed(face, new FaceTimings());
    }

    internal static DetectedFace ToImage(ReadOnlySpan<float> row, LetterboxTransform fit, int width, int height)
    {
        var box = fit.ToOriginal(new Box(row[0], row[1], row[2], row[3])).Clip(width, height);
        var landmarks = new Vector2[FaceLandmarks.Count];
        for (var j = 0; j < landmarks.Length; j++)
        {
            var (x, y) = fit.ToOriginal(row[5 + 2 * j], row[6 + 2 * j]);
            landmarks[j] = new Vector2(x, y);
        }
        return new DetectedFace(box.X1, box.Y1, box.X2, box.Y2, row[4], landmarks);
    }

    public void Dispose()
    {
        detector.Dispose();
        embedder?.Dispose();
    }
}
