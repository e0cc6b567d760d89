using System.Diagnostics;
using Hailo.Media;
using Hailo.Runtime.Npu;
using Hailo.Vision;

namespace Hailo.Face;

/// <summary>
/// A SCRFD HEF (Hailo model zoo scrfd_10g / scrfd_2.5g) on the NPU: uint8 RGB NHWC input (the normalisation is
/// compiled into the HEF), the image resized into the top-left corner as for the ONNX export; nine outputs, per
/// stride a grid of 2 score, 8 distance (2 anchors × l, t, r, b) and 20 landmark (2 anchors × 5 × x, y) channels,
/// found by grid size and channel count, not names or order, and de-quantised each with its own parameters.
/// </summary>
public sealed class NpuScrfdDetector : IFaceDetector
{
    private const int Anchors = 2;
    private readonly VisionModel _model;
    private readonly int _width, _height;
    private readonly byte[] _frame;
    private readonly NpuTensor[] _outputs;
    private readonly Memory<byte>[] _outputMemory;
    private readonly (int Score, int Box, int Landmarks)[] _streams;
    private readonly ScrfdLevel[] _levels;

    public NpuScrfdDetector(VisionModel model)
    {
        _model = model;
        var name = ModelFile;
        if (model.Inputs.Count != 1) throw new InvalidDataException($"{name}: expected one input, the HEF has {model.Inputs.Count}");
        var input = model.Inputs[0];
        if (input.Features != 3 || input.FormatType != NpuFormatType.UInt8 || input.IsNms)
            throw new InvalidDataException($"{name}: expected a uint8 H×W×3 image input, got {input}");
        (_width, _height) = (input.Width, input.Height);
        _frame = new byte[input.FrameSize];
        var levels = new List<(int Stride, int W, int H, int Score, int Box, int Kps)>();
        foreach (var g in model.Outputs.Select((o, i) => (o, i)).Where(x => !x.o.IsNms).GroupBy(x => (x.o.Height, x.o.Width)))
        {
            int Find(int channels) => g.Where(x => x.o.Features == channels).Select(x => x.i).ToArray() is [var only] ? only : -1;
            int score = Find(Anchors), box = Find(Anchors * ScrfdDecoder.DistanceChannels), kps = Find(Anchors * ScrfdDecoder.LandmarkChannels);
            var (h, w) = g.Key;
            if (score < 0 || box < 0 || kps < 0)
                throw new InvalidDataException($"{name}: the {w}×{h} outputs are not a 2-channel score, 8-channel box and 20-channel landmark head ({string.Join("; ", model.Outputs)})");
            if (_height % h != 0 || _width % w != 0 || _height / h != _width / w)
                throw new InvalidDataException($"{name}: a {w}×{h} head does not divide the {_width}×{_height} input into square cells");
            levels.Add((_height / h, w, h, score, box, kps));
        }
        if (levels.Count == 0) throw new InvalidDataException($"{name}: no SCRFD head among the outputs");
        levels.Sort((a, b) => a.Stride.CompareTo(b.Stride));
        _streams = levels.Select(l => (l.Score, l.Box, l.Kps)).ToArray();
        _levels = levels.Select(l => new ScrfdLevel(l.Stride, l.W, l.H, Anchors, new float[l.W * l.H * Anchors],
            new float[l.W * l.H * Anchors * ScrfdDecoder.DistanceChannels], new float[l.W * l.H * Anchors * ScrfdDecoder.LandmarkChannels])).ToArray();
        _outputs = model.Outputs.Select(o => new NpuTensor(o, new byte[o.FrameSize])).ToArray();
        _outputMemory = _outputs.Select(t => new Memory<byte>(t.Data)).ToArray();
    }

    public string ModelFile => Path.GetFileName(_model.HefPath);
    public (int Width, int Height) InputSize => (_width, _height);
    /// <summary>Strides of the heads found, smallest first.</summary>
    public IReadOnlyList<int> Strides => _levels.Select(l => l.Stride).ToArray();

    public LetterboxTransform Detect(RgbaImage image, float threshold, FaceCandidates into, FaceTimings timings)
    {
        var start = Stopwatch.GetTimestamp();
        var fit = TensorPrep.LetterboxHwcBytes(image, _frame, _width, _height, OnnxScrfdDetector.PadColour, centre: false);
        timings.PreprocessMs += FaceTimings.Since(start);
        start = Stopwatch.GetTimestamp();
        _model.Infer([_frame], _outputMemory);
        timings.ModelMs += FaceTimings.Since(start);
        start = Stopwatch.GetTimestamp();
        for (var l = 0; l < _levels.Length; l++)
        {
            var (score, box, kps) = _streams[l];
            _outputs[score].ToFloat(_levels[l].Scores);
            _outputs[box].ToFloat(_levels[l].Distances);
            _outputs[kps].ToFloat(_levels[l].Landmarks);
        }
        ScrfdDecoder.Decode(_levels, threshold, into);
        timings.PostprocessMs += FaceTimings.Since(start);
        return fit;
    }

    public void Dispose() => _model.Dispose();
}

/// <summary>
/// An ArcFace HEF (Hailo model zoo arcface_mobilefacenet / arcface_r50) on the NPU: uint8 RGB 112×112×3 input (the
/// normalisation compiled in), one output of D features (512), de-quantised and L2-normalised.
/// </summary>
public sealed class NpuArcFaceEmbedder : IFaceEmbedder
{
    private readonly VisionModel _model;
    private readonly byte[] _frame;
    private readonly NpuTensor _output;
    private readonly Memory<byte>[] _outputMemory;

    public NpuArcFaceEmbedder(VisionModel model)
    {
        _model = model;
        if (model.Inputs.Count != 1 || model.Inputs[0] is not { Width: FaceLandmarks.AlignedSize, Height: FaceLandmarks.AlignedSize, Features: 3, FormatType: NpuFormatType.UInt8 })
            throw new InvalidDataException($"{ModelFile}: expected one uint8 112×112×3 input, the HEF has {string.Join("; ", model.Inputs)}");
        if (model.Outputs.Count != 1 || model.Outputs[0].IsNms)
            throw new InvalidDataException($"{ModelFile}: expected one embedding output, the HEF has {string.Join("; ", model.Outputs)}");
        _frame = new byte[model.Inputs[0].FrameSize];
        _output = new NpuTensor(model.Outputs[0], new byte[model.Outputs[0].FrameSize]);
        _outputMemory = [_output.Data];
        Dimension = _output.ElementCount;
    }

    public string ModelFile => Path.GetFileName(_model.HefPath);
    public int Dimension { get; }

    public float[] Embed(RgbaImage aligned, FaceTimings timings)
    {
        var start = Stopwatch.GetTimestamp();
        TensorPrep.ToHwcBytes(aligned, _frame, FaceLandmarks.AlignedSize);
        timings.PreprocessMs += FaceTimings.Since(start);
        start = Stopwatch.GetTimestamp();
        _model.Infer([_frame], _outputMemory);
        timings.ModelMs += FaceTimings.Since(start);
        var v = _output.ToFloat();
        if (!Embeddings.Normalize(v)) throw new InvalidDataException($"{ModelFile}: the embedding is zero or not finite");
        return v;
    }

    public void Dispose() => _model.Dispose();
}
