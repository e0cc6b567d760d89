using Hailo.Hosting.Metrics;
using Hailo.Media;
using Hailo.Runtime.Onnx;

namespace HailoOcr.Pipeline;

// PaddleOCR trains on OpenCV images, so every PP-OCR model takes its planes in B, G, R order.

/// <summary>PP-OCR DB detection on ONNX Runtime: longer side limited, both sides rounded to multiples of 32.</summary>
internal sealed class OnnxTextDetector(OnnxModel model, int limitSide) : ITextDetector
{
    public string ModelName => Path.GetFileName(model.Path);
    /// <summary>The input size PaddleOCR's "max" resize policy picks for an image.</summary>
    public static (int Width, int Height) InputSize(int width, int height, int limitSide)
    {
        var ratio = Math.Max(width, height) > limitSide ? limitSide / (double)Math.Max(width, height) : 1.0;
        static int Round32(double v) => Math.Max(32, (int)Math.Round(v / 32) * 32);
        return (Round32(width * ratio), Round32(height * ratio));
    }

    public ProbabilityMap Run(RgbaImage image, StageTimer timer)
    {
        var (w, h) = InputSize(image.Width, image.Height, limitSide);
        var input = new float[3 * w * h];
        using (var resized = image.Resize(w, h))
            TensorPrep.ToChw(resized, input, w, h, Normalization.ImageNet, bgr: true);
        var output = timer.Time(OcrStages.DetectionModel, () => model.Run(input, [1, 3, h, w]));
        if (output.Shape.Length != 4 || output.Dim(2) != h || output.Dim(3) != w)
            throw new InvalidDataException($"{ModelName}: expected a 1×1×{h}×{w} probability map, got {string.Join('×', output.Shape)}");
        return new ProbabilityMap(output.Data, w, h, image.Width / (float)w, image.Height / (float)h);
    }

    public void Dispose() => model.Dispose();
}

/// <summary>
/// PP-OCR CTC recognition on ONNX Runtime: lines resized to height 48 keeping their aspect, batched by
/// similar width (padding is 0 after normalisation, as PaddleOCR pads), decoded greedily.
/// </summary>
internal sealed class OnnxTextRecognizer(OnnxModel model, CtcDecoder decoder, int batchSize) : ITextRecognizer
{
    public const int LineHeight = 48;
    private const int MinWidth = 320;
    private const int MaxWidth = 3200;

    public string ModelName => Path.GetFileName(model.Path);
    public (string Text, float Confidence)[] Run(IReadOnlyList<RgbaImage> lines, StageTimer timer)
    {
        var results = new (string, float)[lines.Count];
        var order = Enumerable.Range(0, lines.Count).OrderBy(i => lines[i].Width / (double)lines[i].Height).ToArray();
        for (var start = 0; start < order.Length; start += batchSize)
        {
            var batch = order.AsSpan(start, Math.Min(batchSize, order.Length - start)).ToArray();
            var maxRatio = batch.Max(i => lines[i].Width / (double)lines[i].Height);
            var width = Math.Clamp((int)Math.Ceiling(LineHeight * Math.Max(maxRatio, MinWidth / (double)LineHeight)), MinWidth, MaxWidth);
            var plane = 3 * LineHeight * width;
            var input = new float[batch.Length * plane];
            for (var k = 0; k < batch.Length; k++)
            {
                var line = lines[batch[k]];
                var w = Math.Clamp((int)Math.Ceiling(LineHeight * line.Width / (double)line.Height), 1, width);
                using var resized = line.Resize(w, LineHeight);
                TensorPrep.ToChw(resized, input.AsSpan(k * plane, plane), width, LineHeight, Normalization.SymmetricUnit, bgr: true);
            }
            var output = timer.Time(OcrStages.RecognitionModel, () => model.Run(input, [batch.Length, 3, LineHeight, width]));
            if (output.Shape.Length != 3 || output.Dim(0) != batch.Length)
                throw new InvalidDataException($"{ModelName}: expected N×T×C output, got {string.Join('×', output.Shape)}");
            int steps = output.Dim(1), classes = output.Dim(2);
            for (var k = 0; k < batch.Length; k++)
                results[batch[k]] = decoder.Decode(output.Data.AsSpan(k * steps * classes, steps * classes), steps, classes);
        }
        return results;
    }

    public void Dispose() => model.Dispose();
}

/// <summary>PP-OCR 0°/180° direction classifier on ONNX Runtime (48×192 input).</summary>
internal sealed class OnnxDirectionClassifier(OnnxModel model) : ITextDirectionClassifier
{
    private const int Height = 48, Width = 192;
    /// <summary>PaddleOCR's default: only turn a line when the classifier is this sure.</summary>
    public const float Threshold = 0.9f;

    public bool[] Run(IReadOnlyList<RgbaImage> lines, StageTimer timer)
    {
        var flags = new bool[lines.Count];
        if (lines.Count == 0) return flags;
        var plane = 3 * Height * Width;
        var input = new float[lines.Count * plane];
        for (var k = 0; k < lines.Count; k++)
        {
            var line = lines[k];
            var w = Math.Clamp((int)Math.Ceiling(Height * line.Width / (double)line.Height), 1, Width);
            using var resized = line.Resize(w, Height);
            TensorPrep.ToChw(resized, input.AsSpan(k * plane, plane), Width, Height, Normalization.SymmetricUnit, bgr: true);
        }
        var output = timer.Time(OcrStages.ClassifierModel, () => model.Run(input, [lines.Count, 3, Height, Width]));
        for (var k = 0; k < lines.Count; k++)
            flags[k] = output.Data[k * 2 + 1] > output.Data[k * 2] && output.Data[k * 2 + 1] >= Threshold;
        return flags;
    }

    public void Dispose() => model.Dispose();
}
