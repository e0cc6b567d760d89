using System.Diagnostics;
using Hailo.Media;
using Hailo.Runtime.Onnx;
using Hailo.Vision;

namespace Hailo.Face;

/// <summary>
/// A SCRFD ONNX export (insightface's scrfd_*_bnkps / det_*g exports) on ONNX Runtime: input [1, 3, 640, 640] float
/// RGB, (pixel − 127.5) / 128, the image resized keeping its aspect ratio into the top-left corner and black beyond;
/// nine outputs, per stride 8, 16, 32 a score [1, N, 1], distances [1, N, 4] and landmarks [1, N, 10] with N = two
/// anchors per grid cell (12800, 3200, 800 at 640). Outputs are told apart by their last dimension (1, 4, 10) and
/// their anchor count, not their names (the exports number them) or order.
/// </summary>
public sealed class OnnxScrfdDetector : IFaceDetector
{
    public const int DefaultSize = 640;
    public static readonly Normalization Normalization = Normalization.MeanStd(0.5f, 0.5f, 0.5f, 128f / 255, 128f / 255, 128f / 255);
    public static readonly (byte R, byte G, byte B) PadColour = (0, 0, 0);

    private readonly OnnxModel _model;
    private readonly int _width, _height;
    private readonly float[] _input;
    private readonly ScrfdLevel[] _levels;

    public OnnxScrfdDetector(OnnxModel model)
    {
        _model = model;
        var shape = model.InputShape(0);
        if (shape.Length != 4 || shape[1] is not (3 or -1))
            throw new InvalidDataException($"{ModelFile}: expected an input [1, 3, H, W], the model has [{string.Join(", ", shape)}]");
        _height = shape[2] > 0 ? (int)shape[2] : DefaultSize;
        _width = shape[3] > 0 ? (int)shape[3] : DefaultSize;
        if (_width % 32 != 0 || _height % 32 != 0) throw new InvalidDataException($"{ModelFile}: input {_width}×{_height} is not a multiple of 32");
        if (model.OutputNames.Count != 9)
            throw new InvalidDataException($"{ModelFile}: expected nine outputs (score, box, landmarks for strides 8, 16, 32), the model has {model.OutputNames.Count}");
        _input = new float[3 * _width * _height];
        _levels = ScrfdDecoder.Levels(_width, _height);
    }

    public string ModelFile => Path.GetFileName(_model.Path);
    public (int Width, int Height) InputSize => (_width, _height);

    public LetterboxTransform Detect(RgbaImage image, float threshold, FaceCandidates into, FaceTimings timings)
    {
        var start = Stopwatch.GetTimestamp();
        var fit = TensorPrep.LetterboxChw(image, _input, _width, _height, PadColour, Normalization, centre: false);
        timings.PreprocessMs += FaceTimings.Since(start);
        start = Stopwatch.GetTimestamp();
        var outputs = _model.Run([(_model.InputNames[0], _input, [1, 3, _height, _width])], _model.OutputNames);
        timings.ModelMs += FaceTimings.Since(start);
        start = Stopwatch.GetTimestamp();
        Assign(outputs, _levels, ModelFile);
        ScrfdDecoder.Decode(_levels, threshold, into);
        timings.PostprocessMs += FaceTimings.Since(start);
        return fit;
    }

    /// <summary>Copies each output into the level whose anchor count and channel count it has.</summary>
    internal static void Assign(IReadOnlyList<FloatTensor> outputs, ScrfdLevel[] levels, string file)
    {
        var seen = new bool[levels.Length * 3];
        foreach (var o in outputs)
        {
            var channels = o.Shape.Length >= 2 ? (int)o.Shape[^1] : -1;
            var kind = channels switch { 1 => 0, ScrfdDecoder.DistanceChannels => 1, ScrfdDecoder.LandmarkChannels => 2, _ => -1 };
            var anchors = channels > 0 ? o.Data.Length / channels : -1;
            var level = Array.FindIndex(levels, l => l.Anchors == anchors);
            if (kind < 0 || level < 0 || seen[level * 3 + kind])
                throw new InvalidDataException($"{file}: an output of shape [{string.Join(", ", o.Shape)}] is no SCRFD head of a {levels.Length}-stride, 2-anchor model");
            seen[level * 3 + kind] = true;
            var target = kind switch { 0 => levels[level].Scores, 1 => levels[level].Distances, _ => levels[level].Landmarks };
            o.Data.AsSpan().CopyTo(target);
        }
        if (seen.Any(s => !s)) throw new InvalidDataException($"{file}: the outputs do not cover score, box and landmarks of every stride");
    }

    public void Dispose() => _model.Dispose();
}
