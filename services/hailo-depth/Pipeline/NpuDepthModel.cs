using System.Diagnostics;
using Hailo.Hosting.Metrics;
using Hailo.Media;
using Hailo.Runtime.Npu;

namespace HailoDepth.Pipeline;

/// <summary>
/// scdepthv3 (or any one-input, one-map depth HEF) on the NPU: the image stretched to the uint8 NHWC input (the HEF
/// normalises inside), the single 1-channel output (uint16 in Hailo's HEF) de-quantised with its scale and zero point.
/// </summary>
internal sealed class NpuDepthModel : IDepthModel
{
    private readonly VisionModel _model;
    private readonly bool _ownsModel;
    private readonly int _width, _height, _output;
    private readonly byte[] _frame;
    private readonly NpuTensor[] _outputs;
    private readonly Memory<byte>[] _outputMemory;

    public NpuDepthModel(VisionModel model, bool ownsModel = true)
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
        var maps = model.Outputs.Select((o, i) => (o, i)).Where(x => x.o.Features == 1 && !x.o.IsNms && x.o.Width > 1 && x.o.Height > 1).ToArray();
        if (maps.Length != 1)
            throw new InvalidDataException($"{name}: expected exactly one 1-channel depth map among the outputs ({string.Join("; ", model.Outputs)})");
        _output = maps[0].i;
        _frame = new byte[input.FrameSize];
        _outputs = model.Outputs.Select(o => new NpuTensor(o, new byte[o.FrameSize])).ToArray();
        _outputMemory = _outputs.Select(t => new Memory<byte>(t.Data)).ToArray();
    }

    public string ModelFile => Path.GetFileName(_model.HefPath);
    public (int Width, int Height) InputSize => (_width, _height);
    /// <summary>Size of the depth map the HEF returns.</summary>
    public (int Width, int Height) OutputSize => (_outputs[_output].Width, _outputs[_output].Height);

    public DepthGrid Run(RgbaImage image, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        TensorPrep.ResizeToHwcBytes(image, _frame, _width, _height);
        timer.AddSince(StageTimer.Preprocess, start);
        start = Stopwatch.GetTimestamp();
        _model.Infer([_frame], _outputMemory);
        timer.AddSince(StageTimer.Model, start);
        start = Stopwatch.GetTimestamp();
        var map = _outputs[_output];
        var values = new float[map.ElementCount];
        map.ToFloat(values);
        timer.AddSince(StageTimer.Postprocess, start);
        return new DepthGrid(values, map.Width, map.Height);
    }

    public void Dispose()
    {
        if (_ownsModel) _model.Dispose();
    }
}
