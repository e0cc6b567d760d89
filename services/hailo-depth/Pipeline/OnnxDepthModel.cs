using System.Diagnostics;
using Hailo.Hosting.Metrics;
using Hailo.Media;
using Hailo.Runtime.Onnx;

namespace HailoDepth.Pipeline;

/// <summary>
/// A depth network on ONNX Runtime: input [1, 3, H, W] float RGB with the model's normalisation (its fixed size, or
/// the manifest's when dynamic), output [1, H', W'] or [1, 1, H', W'] floats.
/// </summary>
internal sealed class OnnxDepthModel : IDepthModel
{
    private readonly OnnxModel _model;
    private readonly Normalization _normalization;
    private readonly int _width, _height;
    private readonly float[] _input;

    public OnnxDepthModel(OnnxModel model, DepthModel spec)
    {
        _model = model;
        _normalization = spec.Normalization;
        var shape = model.InputShape(0);
        if (shape.Length != 4 || shape[1] is not (3 or -1))
            throw new InvalidDataException($"{ModelFile}: expected an input [1, 3, H, W], the model has [{string.Join(", ", shape)}]");
        _height = shape[2] > 0 ? (int)shape[2] : spec.InputHeight;
        _width = shape[3] > 0 ? (int)shape[3] : spec.InputWidth;
        var output = model.OutputShape(0);
        if (output.Length is not (3 or 4) || (output.Length == 4 && output[1] is not (1 or -1)))
            throw new InvalidDataException($"{ModelFile}: expected an output [1, H, W] or [1, 1, H, W], the model has [{string.Join(", ", output)}]");
        _input = new float[3 * _width * _height];
    }

    public string ModelFile => Path.GetFileName(_model.Path);
    public (int Width, int Height) InputSize => (_width, _height);

    public DepthGrid Run(RgbaImage image, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        TensorPrep.ResizeToChw(image, _input, _width, _height, _normalization);
        timer.AddSince(StageTimer.Preprocess, start);
        start = Stopwatch.GetTimestamp();
        var output = _model.Run(_input, [1, 3, _height, _width]);
        timer.AddSince(StageTimer.Model, start);
        var s = output.Shape;
        if (!(s.Length == 3 || (s.Length == 4 && s[1] == 1)) || s[0] != 1)
            throw new InvalidDataException($"{ModelFile}: expected an output [1, H, W] or [1, 1, H, W], got [{string.Join(", ", s)}]");
        return new DepthGrid(output.Data, (int)s[^1], (int)s[^2]);
    }

    public void Dispose() => _model.Dispose();
}
