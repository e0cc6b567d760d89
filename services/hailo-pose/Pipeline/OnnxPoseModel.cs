using System.Diagnostics;
using Hailo.Hosting.Metrics;
using Hailo.Media;
using Hailo.Runtime.Onnx;
using Hailo.Vision;

namespace HailoPose.Pipeline;

/// <summary>
/// A YOLOv8-pose ONNX export on ONNX Runtime: input `images` [1, 3, H, W] float RGB in [0, 1] (640×640 unless the
/// model fixes another size), letterboxed and centred with grey 114 as Ultralytics does; output [1, 56, N] decoded by
/// <see cref="YoloPoseExport"/>.
/// </summary>
internal sealed class OnnxPoseModel : IPoseModel
{
    public const int DefaultSize = 640;

    private readonly OnnxModel _model;
    private readonly int _width, _height;
    private readonly float[] _input;

    public OnnxPoseModel(OnnxModel model)
    {
        _model = model;
        var shape = model.InputShape(0);
        if (shape.Length != 4 || shape[1] is not (3 or -1))
            throw new InvalidDataException($"{ModelFile}: expected an input [1, 3, H, W], the model has [{string.Join(", ", shape)}]");
        _height = shape[2] > 0 ? (int)shape[2] : DefaultSize;
        _width = shape[3] > 0 ? (int)shape[3] : DefaultSize;
        if (_width % 32 != 0 || _height % 32 != 0) throw new InvalidDataException($"{ModelFile}: input {_width}×{_height} is not a multiple of 32");
        var output = model.OutputShape(0);
        if (output.Length != 3 || (output[1] != YoloPoseExport.Rows && output[1] != -1))
            throw new InvalidDataException(
                $"{ModelFile}: expected an output [1, {YoloPoseExport.Rows}, N] (a YOLOv8-pose export without NMS), the model has [{string.Join(", ", output)}]");
        _input = new float[3 * _width * _height];
    }

    public string ModelFile => Path.GetFileName(_model.Path);
    public (int Width, int Height) InputSize => (_width, _height);

    public LetterboxTransform Run(RgbaImage image, float threshold, PoseCandidates into, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        var fit = TensorPrep.LetterboxChw(image, _input, _width, _height, PosePipeline.PadColour, Normalization.Unit);
        timer.AddSince(StageTimer.Preprocess, start);
        start = Stopwatch.GetTimestamp();
        var output = _model.Run(_input, [1, 3, _height, _width]);
        timer.AddSince(StageTimer.Model, start);
        start = Stopwatch.GetTimestamp();
        if (output.Shape.Length != 3 || output.Dim(1) != YoloPoseExport.Rows)
            throw new InvalidDataException($"{ModelFile}: expected an output [1, {YoloPoseExport.Rows}, N], got [{string.Join(", ", output.Shape)}]");
        YoloPoseExport.Decode(output.Data, output.Dim(2), threshold, into);
        timer.AddSince(StageTimer.Postprocess, start);
        return fit;
    }

    public void Dispose() => _model.Dispose();
}
