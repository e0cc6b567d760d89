using Hailo.Media;
using Hailo.Runtime.Npu;

namespace HailoDepth.Pipeline.Stereo;

/// <summary>
/// A stereo network on the NPU: StereoNet as Hailo's model zoo compiles it for Hailo-10H (two uint8 368×1232×3
/// inputs, the left image into the one whose name ends in <c>input_layer1</c>, one 368×1232×1 disparity map), or any
/// HEF of that shape. Each image of the rectified pair is stretched to the network's input; the map is de-quantised
/// with its scale and zero point, stretched back to the pair's size, and its disparities scaled by the ratio of the
/// widths, so they are pixels of the pair that was sent.
/// </summary>
internal sealed class NpuStereoModel : IDisposable
{
    private readonly VisionModel _model;
    private readonly int _left, _right, _output;
    private readonly int _width, _height;
    private readonly byte[][] _frames;
    private readonly ReadOnlyMemory<byte>[] _inputMemory;
    private readonly NpuTensor[] _outputs;
    private readonly Memory<byte>[] _outputMemory;

    public NpuStereoModel(VisionModel model)
    {
        _model = model;
        var name = ModelFile;
        if (model.Inputs.Count != 2) throw new InvalidDataException($"{name}: a stereo network has two image inputs, the HEF has {model.Inputs.Count}");
        foreach (var input in model.Inputs)
            if (input.Features != 3 || input.FormatType != NpuFormatType.UInt8 || input.IsNms
                || input.FormatOrder is not (NpuFormatOrder.Nhwc or NpuFormatOrder.Rgb888 or NpuFormatOrder.Auto))
                throw new InvalidDataException($"{name}: expected uint8 H×W×3 NHWC image inputs, got {input}");
        var (a, b) = (model.Inputs[0], model.Inputs[1]);
        if (a.Width != b.Width || a.Height != b.Height)
            throw new InvalidDataException($"{name}: the two inputs differ in size ({a.Width}×{a.Height} and {b.Width}×{b.Height})");
        // Hailo names the left input `…/input_layer1` and the right `…/input_layer2`; without such a name the first is left.
        _left = b.Name.EndsWith("input_layer1", StringComparison.Ordinal) && !a.Name.EndsWith("input_layer1", StringComparison.Ordinal) ? 1 : 0;
        _right = 1 - _left;
        (_width, _height) = (a.Width, a.Height);
        var maps = model.Outputs.Select((o, i) => (o, i)).Where(x => x.o.Features == 1 && !x.o.IsNms && x.o.Width > 1 && x.o.Height > 1).ToArray();
        if (maps.Length != 1)
            throw new InvalidDataException($"{name}: expected exactly one 1-channel disparity map among the outputs ({string.Join("; ", model.Outputs)})");
        _output = maps[0].i;
        _frames = [new byte[a.FrameSize], new byte[b.FrameSize]];
        _inputMemory = [_frames[0], _frames[1]];
        _outputs = model.Outputs.Select(o => new NpuTensor(o, new byte[o.FrameSize])).ToArray();
        _outputMemory = _outputs.Select(t => new Memory<byte>(t.Data)).ToArray();
    }

    public string ModelFile => Path.GetFileName(_model.HefPath);
    public (int Width, int Height) InputSize => (_width, _height);
    /// <summary>Index of the input the left image goes into.</summary>
    public int LeftInput => _left;

    /// <summary>
    /// Disparity of a rectified pair of one size, in its pixels. The network answers every pixel; a disparity that is
    /// not positive has no match (no depth) and is flagged <see cref="StereoInvalid.NoMatch"/>.
    /// </summary>
    public DisparityMap Match(RgbaImage left, RgbaImage right)
    {
        if (left.Width != right.Width || left.Height != right.Height) throw new ArgumentException("the images of a pair have one size");
        TensorPrep.ResizeToHwcBytes(left, _frames[_left], _width, _height);
        TensorPrep.ResizeToHwcBytes(right, _frames[_right], _width, _height);
        _model.Infer(_inputMemory, _outputMemory);
        var map = _outputs[_output];
        var raw = new float[map.ElementCount];
        map.ToFloat(raw);
        int w = left.Width, h = left.Height;
        var disparity = map.Width == w && map.Height == h ? raw : Resample.Bilinear(raw, map.Width, map.Height, w, h);
        // The network's disparities are pixels of its input width.
        var scale = (float)w / _width;
        var invalid = new byte[w * h];
        for (var i = 0; i < disparity.Length; i++)
        {
            var d = disparity[i] * scale;
            if (d > 0 && float.IsFinite(d)) disparity[i] = d;
            else
            {
                disparity[i] = float.NaN;
                invalid[i] = (byte)StereoInvalid.NoMatch;
            }
        }
        return new DisparityMap(disparity, invalid, w, h);
    }

    public void Dispose() => _model.Dispose();
}
