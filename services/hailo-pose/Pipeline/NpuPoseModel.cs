using System.Diagnostics;
using Hailo.Hosting.Metrics;
using Hailo.Media;
using Hailo.Runtime.Npu;
using Hailo.Vision;

namespace HailoPose.Pipeline;

/// <summary>
/// A YOLOv8-pose HEF (Hailo model zoo yolov8s_pose / yolov8m_pose) on the NPU: uint8 RGB NHWC input, letterboxed and
/// centred with grey 114; nine outputs found by their shape, not their names or order: per stride a 64-channel DFL box
/// head, a 1-channel score head and a 51-channel keypoint head (uint16 in Hailo's HEFs). Every output is de-quantised
/// with its own scale and zero point and handed to <see cref="YoloPoseHeads"/>.
/// </summary>
internal sealed class NpuPoseModel : IPoseModel
{
    private readonly VisionModel _model;
    private readonly bool _ownsModel;
    private readonly int _width, _height;
    private readonly byte[] _frame;
    private readonly NpuTensor[] _outputs;
    private readonly Memory<byte>[] _outputMemory;
    private readonly (int Box, int Score, int Keypoints)[] _streams;
    private readonly PoseHeadLevel[] _levels;

    public NpuPoseModel(VisionModel model, bool ownsModel = true)
    {
        _model = model;
        _ownsModel = ownsModel;
        var name = ModelFile;
        if (model.Inputs.Count != 1) throw new InvalidDataException($"{name}: expected one input, the HEF has {model.Inputs.Count}");
        var input = model.Inputs[0];
        if (input.Features != 3 || input.FormatType != NpuFormatType.UInt8 || input.IsNms
            || input.FormatOrder is not (NpuFormatOrder.Nhwc or NpuFormatOrder.Rgb888 or NpuFormatOrder.Auto))
            throw new InvalidDataException($"{name}: expected a uint8 H×W×3 NHWC image input, got {input}");
        (_width, _height) = (input.Width, input.Height);
        _frame = new byte[input.FrameSize];

        var groups = model.Outputs.Select((o, i) => (o, i)).Where(x => !x.o.IsNms).GroupBy(x => (x.o.Height, x.o.Width));
        var levels = new List<(int Stride, int W, int H, int Box, int Score, int Kpt)>();
        foreach (var g in groups)
        {
            int Find(int channels) => g.Where(x => x.o.Features == channels).Select(x => x.i).ToArray() is [var only] ? only : -1;
            int box = Find(YoloPoseHeads.BoxChannels), score = Find(1), kpt = Find(YoloPoseHeads.KeypointChannels);
            if (box < 0 || score < 0 || kpt < 0)
                throw new InvalidDataException($"{name}: the {g.Key.Width}×{g.Key.Height} outputs are not a 64-channel box, 1-channel score and 51-channel keypoint head ({Describe(model)})");
            var (h, w) = g.Key;
            if (_height % h != 0 || _width % w != 0 || _height / h != _width / w)
                throw new InvalidDataException($"{name}: a {w}×{h} head does not divide the {_width}×{_height} input into square cells");
            levels.Add((_height / h, w, h, box, score, kpt));
        }
        if (levels.Count == 0) throw new InvalidDataException($"{name}: no YOLOv8-pose head among the outputs ({Describe(model)})");
        levels.Sort((a, b) => a.Stride.CompareTo(b.Stride));
        _streams = levels.Select(l => (l.Box, l.Score, l.Kpt)).ToArray();
        _levels = levels.Select(l => new PoseHeadLevel(l.Stride, l.W, l.H,
            new float[l.W * l.H * YoloPoseHeads.BoxChannels], new float[l.W * l.H], new float[l.W * l.H * YoloPoseHeads.KeypointChannels])).ToArray();
        _outputs = model.Outputs.Select(o => new NpuTensor(o, new byte[o.FrameSize])).ToArray();
        _outputMemory = _outputs.Select(t => new Memory<byte>(t.Data)).ToArray();
        // A score head whose float range reaches below zero carries logits, not probabilities.
        ScoresAreLogits = _streams.Any(s => model.Outputs[s.Score].Quant.Any(q => q.Min < -1e-3f));
    }

    private static string Describe(VisionModel model) => string.Join("; ", model.Outputs);

    public string ModelFile => Path.GetFileName(_model.HefPath);
    public (int Width, int Height) InputSize => (_width, _height);
    /// <summary>Strides of the heads found, smallest first.</summary>
    public IReadOnlyList<int> Strides => _levels.Select(l => l.Stride).ToArray();
    /// <summary>True when the score head is not already a probability (the Hailo HEFs apply the sigmoid on the chip).</summary>
    public bool ScoresAreLogits { get; }

    public LetterboxTransform Run(RgbaImage image, float threshold, PoseCandidates into, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        var fit = TensorPrep.LetterboxHwcBytes(image, _frame, _width, _height, PosePipeline.PadColour);
        timer.AddSince(StageTimer.Preprocess, start);
        start = Stopwatch.GetTimestamp();
        _model.Infer([_frame], _outputMemory);
        timer.AddSince(StageTimer.Model, start);
        start = Stopwatch.GetTimestamp();
        for (var l = 0; l < _levels.Length; l++)
        {
            var (box, score, kpt) = _streams[l];
            _outputs[box].ToFloat(_levels[l].Boxes);
            _outputs[score].ToFloat(_levels[l].Scores);
            _outputs[kpt].ToFloat(_levels[l].Keypoints);
        }
        YoloPoseHeads.Decode(_levels, threshold, ScoresAreLogits, into);
        timer.AddSince(StageTimer.Postprocess, start);
        return fit;
    }

    public void Dispose()
    {
        if (_ownsModel) _model.Dispose();
    }
}
