using System.Diagnostics;
using System.Numerics;
using Hailo.Media;
using Hailo.Runtime.Onnx;
using Hailo.Vision;

namespace Hailo.Face;

/// <summary>
/// An optional CPU detector built from two ONNX models instead of SCRFD: an UltraFace-style (RFB-320) box detector
/// and a 68-point landmark model, whose points give the five ArcFace landmarks. No model of this kind is shipped as a
/// default; the tests run it with real weights to check the pipeline on real photographs.
/// <list type="bullet">
/// <item>Detector: input [1, 3, H, W] RGB, (pixel − 127) / 128, the whole image stretched to W×H; outputs
/// <c>scores</c> [1, N, 2] (background, face probabilities) and <c>boxes</c> [1, N, 4] as x1, y1, x2, y2 in
/// fractions of the image (already decoded: no anchors here).</item>
/// <item>Landmarks: input [1, 1, 64, 64] grey, pixel / 256, the detected box stretched to 64×64; output [1, 136]:
/// 68 (x, y) pairs in fractions of the box, in the usual 68-point order (jaw 0–16, brows, nose 27–35, eyes 36–41 and
/// 42–47, mouth 48–67).</item>
/// <item>Five points: each eye's centre is the mean of its six points, the nose is the tip (30), the mouth corners
/// are points 48 and 54. "left_eye" is the eye on the image's left, as for SCRFD.</item>
/// </list>
/// Boxes above the threshold are reduced by NMS here (IoU <see cref="PreNmsIou"/>, at most <see cref="MaxFaces"/>),
/// so the landmark model runs once per face; rows are written in source-image pixels (the returned transform is the
/// identity).
/// </summary>
public sealed class UltraFaceLandmarkDetector : IFaceDetector
{
    public const int LandmarkSize = 64;
    public const int LandmarkPoints = 68;
    public const float PreNmsIou = 0.4f;
    public const int MaxFaces = 64;
    /// <summary>(pixel − 127) / 128 for each channel.</summary>
    public static readonly Normalization Normalization = new(1f / 128, 1f / 128, 1f / 128, -127f / 128, -127f / 128, -127f / 128);

    private readonly OnnxModel _detector, _landmarks;
    private readonly int _width, _height;
    private readonly float[] _input;
    private readonly float[] _grey = new float[LandmarkSize * LandmarkSize];
    private readonly int _scoresIndex, _boxesIndex;

    public UltraFaceLandmarkDetector(OnnxModel detector, OnnxModel landmarks)
    {
        _detector = detector;
        _landmarks = landmarks;
        var shape = detector.InputShape(0);
        if (shape.Length != 4 || shape[1] is not (3 or -1) || shape[2] < 1 || shape[3] < 1)
            throw new InvalidDataException($"{ModelFile}: expected an input [1, 3, H, W] of fixed size, the model has [{string.Join(", ", shape)}]");
        _height = (int)shape[2];
        _width = (int)shape[3];
        _input = new float[3 * _width * _height];
        if (detector.OutputNames.Count != 2) throw new InvalidDataException($"{ModelFile}: expected two outputs (scores, boxes), the model has {detector.OutputNames.Count}");
        _scoresIndex = detector.OutputShape(0) is [_, _, 2] ? 0 : 1;
        _boxesIndex = 1 - _scoresIndex;
        if (detector.OutputShape(_scoresIndex) is not [_, _, 2] || detector.OutputShape(_boxesIndex) is not [_, _, 4])
            throw new InvalidDataException($"{ModelFile}: expected outputs [1, N, 2] scores and [1, N, 4] boxes");
        var ls = landmarks.InputShape(0);
        if (ls.Length != 4 || ls[1] is not (1 or -1) || ls[2] is not (64 or -1) || ls[3] is not (64 or -1))
            throw new InvalidDataException($"{Path.GetFileName(landmarks.Path)}: expected an input [1, 1, 64, 64], the model has [{string.Join(", ", ls)}]");
        if (landmarks.OutputShape(0) is not [_, 2 * LandmarkPoints])
            throw new InvalidDataException($"{Path.GetFileName(landmarks.Path)}: expected an output [1, 136] (68 points)");
    }

    public string ModelFile => Path.GetFileName(_detector.Path);
    public string LandmarkFile => Path.GetFileName(_landmarks.Path);
    public (int Width, int Height) InputSize => (_width, _height);

    public LetterboxTransform Detect(RgbaImage image, float threshold, FaceCandidates into, FaceTimings timings)
    {
        int sw = image.SourceWidth, sh = image.SourceHeight;
        var start = Stopwatch.GetTimestamp();
        using (var resized = image.Resize(_width, _height))
            TensorPrep.ToChw(resized, _input, _width, _height, Normalization);
        timings.PreprocessMs += FaceTimings.Since(start);

        start = Stopwatch.GetTimestamp();
        var outputs = _detector.Run([(_detector.InputNames[0], _input, [1, 3, _height, _width])], _detector.OutputNames);
        timings.ModelMs += FaceTimings.Since(start);

        start = Stopwatch.GetTimestamp();
        var scores = outputs[_scoresIndex].Data;
        var boxes = outputs[_boxesIndex].Data;
        var n = Math.Min(scores.Length / 2, boxes.Length / 4);
        var rows = new List<float>();
        for (var i = 0; i < n; i++)
        {
            var s = scores[2 * i + 1];
            if (!(s >= threshold)) continue;
            rows.Add(Math.Clamp(boxes[4 * i], 0, 1) * sw);
            rows.Add(Math.Clamp(boxes[4 * i + 1], 0, 1) * sh);
            rows.Add(Math.Clamp(boxes[4 * i + 2], 0, 1) * sw);
            rows.Add(Math.Clamp(boxes[4 * i + 3], 0, 1) * sh);
            rows.Add(s);
        }
        var flat = rows.ToArray();
        var kept = Nms.ClassAgnostic(flat, 5, PreNmsIou, MaxFaces);
        timings.PostprocessMs += FaceTimings.Since(start);

        Span<Vector2> five = stackalloc Vector2[FaceLandmarks.Count];
        foreach (var k in kept)
        {
            float x1 = flat[5 * k], y1 = flat[5 * k + 1], x2 = flat[5 * k + 2], y2 = flat[5 * k + 3];
            if (x2 - x1 < 2 || y2 - y1 < 2) continue;
            Landmarks(image, x1, y1, x2, y2, five, timings);
            var row = into.Add();
            row[0] = x1;
            row[1] = y1;
            row[2] = x2;
            row[3] = y2;
            row[4] = flat[5 * k + 4];
            for (var j = 0; j < five.Length; j++)
            {
                row[5 + 2 * j] = five[j].X;
                row[6 + 2 * j] = five[j].Y;
            }
        }
        return new LetterboxTransform(1, 0, 0, sw, sh, sw, sh) { SourceWidth = sw, SourceHeight = sh };
    }

    /// <summary>Runs the landmark model on the box and reduces its 68 points to the five, in source pixels.</summary>
    private void Landmarks(RgbaImage image, float x1, float y1, float x2, float y2, Span<Vector2> five, FaceTimings timings)
    {
        var start = Stopwatch.GetTimestamp();
        GreyCrop(image, x1, y1, x2, y2, _grey);
        timings.PreprocessMs += FaceTimings.Since(start);
        start = Stopwatch.GetTimestamp();
        var output = _landmarks.Run(_grey, [1, 1, LandmarkSize, LandmarkSize]).Data;
        timings.ModelMs += FaceTimings.Since(start);
        if (output.Length != 2 * LandmarkPoints) throw new InvalidDataException($"{LandmarkFile}: expected 136 values, got {output.Length}");
        FivePoints(output, x1, y1, x2 - x1, y2 - y1, five);
    }

    /// <summary>The five ArcFace points from 68 points given in fractions of the box (x, y, w, h).</summary>
    public static void FivePoints(ReadOnlySpan<float> points68, float x, float y, float w, float h, Span<Vector2> five)
    {
        if (points68.Length < 2 * LandmarkPoints) throw new ArgumentException("expected 68 points", nameof(points68));
        var box = new Vector4(x, y, w, h);
        five[0] = Mean(points68, 36, 6, box);
        five[1] = Mean(points68, 42, 6, box);
        five[2] = Mean(points68, 30, 1, box);
        five[3] = Mean(points68, 48, 1, box);
        five[4] = Mean(points68, 54, 1, box);
    }

    private static Vector2 Mean(ReadOnlySpan<float> points68, int from, int count, Vector4 box)
    {
        var sum = Vector2.Zero;
        for (var i = from; i < from + count; i++) sum += new Vector2(box.X + points68[2 * i] * box.Z, box.Y + points68[2 * i + 1] * box.W);
        return sum / count;
    }

    /// <summary>The box (source pixels) stretched to 64×64, bilinear, grey (ITU-R 601 luma) / 256.</summary>
    private static void GreyCrop(RgbaImage image, float x1, float y1, float x2, float y2, Span<float> grey)
    {
        double kx = image.Width / (double)image.SourceWidth, ky = image.Height / (double)image.SourceHeight;
        var src = image.Pixels;
        int stride = image.RowBytes, w = image.Width, h = image.Height;
        double bw = (x2 - x1) / LandmarkSize, bh = (y2 - y1) / LandmarkSize;
        for (var y = 0; y < LandmarkSize; y++)
            for (var x = 0; x < LandmarkSize; x++)
            {
                // Pixel centres of the output map to evenly spaced points across the box.
                var u = Math.Clamp((x1 + (x + 0.5) * bw) * kx - 0.5, 0, w - 1);
                var v = Math.Clamp((y1 + (y + 0.5) * bh) * ky - 0.5, 0, h - 1);
                int u0 = (int)u, v0 = (int)v, u1 = Math.Min(u0 + 1, w - 1), v1 = Math.Min(v0 + 1, h - 1);
                double fx = u - u0, fy = v - v0;
                var value = (Luma(src, stride, u0, v0) * (1 - fx) + Luma(src, stride, u1, v0) * fx) * (1 - fy)
                            + (Luma(src, stride, u0, v1) * (1 - fx) + Luma(src, stride, u1, v1) * fx) * fy;
                grey[y * LandmarkSize + x] = (float)(value / 256);
            }
    }

    private static double Luma(ReadOnlySpan<byte> src, int stride, int x, int y)
    {
        var o = y * stride + x * 4;
        return 0.299 * src[o] + 0.587 * src[o + 1] + 0.114 * src[o + 2];
    }

    public void Dispose()
    {
        _detector.Dispose();
        _landmarks.Dispose();
    }
}
