using System.Buffers;
using System.Runtime.InteropServices;
using Hailo.Hosting.Metrics;
using Hailo.Media;
using Hailo.Runtime.Npu;
using Hailo.Vision;

namespace HailoOcr.Pipeline;

// The HEFs (hailo-apps' PaddleOCR "ocr_det" and "ocr"/"ocr_rec") take uint8 RGB NHWC with the PP-OCR
// normalisation folded in, and return native uint8/uint16 outputs that are de-quantised here with the stream's
// quant info. Nothing about the geometry is assumed: input and output sizes come from the io info.

/// <summary>
/// PP-OCR DB text detection on the Hailo NPU: the image is fitted into the HEF's fixed input keeping its aspect
/// ratio (top-left by default, padded with the ImageNet mean colour), and the 1-channel probability map is
/// de-quantised and mapped back through <see cref="ProbabilityMap"/>'s Offset/Scale.
/// </summary>
internal sealed class NpuTextDetector : ITextDetector
{
    /// <summary>
    /// Padding colour: the ImageNet mean (0.485, 0.456, 0.406)·255, i.e. 0 after the normalisation compiled into
    /// the HEF, which is how PaddleOCR pads its float tensors.
    /// </summary>
    public static readonly (byte R, byte G, byte B) PadColour = (124, 116, 104);

    private readonly VisionModel _model;
    private readonly bool _ownsModel;
    private readonly bool _centre;
    private readonly int _inputWidth, _inputHeight, _mapWidth, _mapHeight, _outputIndex;

    /// <param name="model">The loaded detection HEF.</param>
    /// <param name="centre">Centre the image in the input instead of placing it top-left.</param>
    /// <param name="ownsModel">Dispose the model with the adapter.</param>
    public NpuTextDetector(VisionModel model, bool centre = false, bool ownsModel = true)
    {
        _model = model;
        _ownsModel = ownsModel;
        _centre = centre;
        var name = ModelName;
        if (model.Inputs.Count != 1) throw new InvalidDataException($"{name}: expected one input, the HEF has {model.Inputs.Count}");
        var input = model.Inputs[0];
        CheckImageInput(name, input);
        _inputWidth = input.Width;
        _inputHeight = input.Height;
        var maps = model.Outputs.Select((o, i) => (o, i)).Where(x => x.o.Features == 1 && !x.o.IsNms).ToArray();
        if (maps.Length != 1)
            throw new InvalidDataException($"{name}: expected exactly one 1-channel probability map among the outputs ({string.Join("; ", model.Outputs)})");
        var (map, index) = maps[0];
        if (map.Width < 1 || map.Height < 1) throw new InvalidDataException($"{name}: the probability map has no area ({map})");
        _outputIndex = index;
        _mapWidth = map.Width;
        _mapHeight = map.Height;
    }

    public string ModelName => Path.GetFileName(_model.HefPath);

    /// <summary>Input size (width × height) as the HEF declares it.</summary>
    public (int Width, int Height) InputSize => (_inputWidth, _inputHeight);

    internal static void CheckImageInput(string name, NpuStreamInfo input)
    {
        if (input.Features != 3 || input.FormatType != NpuFormatType.UInt8 || input.IsNms)
            throw new InvalidDataException($"{name}: expected a uint8 H×W×3 image input, got {input}");
        if (input.FormatOrder is not (NpuFormatOrder.Nhwc or NpuFormatOrder.Rgb888 or NpuFormatOrder.Auto))
            throw new InvalidDataException($"{name}: expected an NHWC image input, got {input.FormatOrder}");
    }

    public ProbabilityMap Run(RgbaImage image, StageTimer timer)
    {
        ArgumentNullException.ThrowIfNull(image);
        var outputs = _model.Outputs;
        var frameSize = _inputWidth * _inputHeight * 3;
        var frame = ArrayPool<byte>.Shared.Rent(frameSize);
        var raw = new byte[outputs.Count][];
        try
        {
            var fit = Letterbox(image, frame.AsSpan(0, frameSize), _inputWidth, _inputHeight, _centre);
            for (var k = 0; k < raw.Length; k++) raw[k] = ArrayPool<byte>.Shared.Rent((int)outputs[k].FrameSize);
            timer.Time(OcrStages.DetectionModel, () =>
            {
                var outs = new Memory<byte>[raw.Length];
                for (var k = 0; k < raw.Length; k++) outs[k] = raw[k].AsMemory(0, (int)outputs[k].FrameSize);
                _model.Infer([frame.AsMemory(0, frameSize)], outs);
                return 0;
            });
            var stream = outputs[_outputIndex];
            var map = new float[_mapWidth * _mapHeight];
            ToFloat(stream, raw[_outputIndex].AsSpan(0, (int)stream.FrameSize), map);

            // map → input pixels: × (input / map); input → original: (x − pad) · original / scaled.
            float rx = _inputWidth / (float)_mapWidth, ry = _inputHeight / (float)_mapHeight;
            return new ProbabilityMap(map, _mapWidth, _mapHeight,
                ScaleX: rx * image.Width / fit.ScaledWidth,
                ScaleY: ry * image.Height / fit.ScaledHeight,
                OffsetX: fit.PadX / rx,
                OffsetY: fit.PadY / ry);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
            foreach (var r in raw)
                if (r is not null) ArrayPool<byte>.Shared.Return(r);
        }
    }

    /// <summary>
    /// Fits the image into an H×W×3 RGB byte tensor keeping its aspect ratio; the rest is <see cref="PadColour"/>.
    /// </summary>
    internal static LetterboxTransform Letterbox(RgbaImage image, Span<byte> hwc, int width, int height, bool centre)
    {
        var fit = LetterboxTransform.Fit(image.Width, image.Height, width, height, centre);
        var row = hwc[..(width * 3)];
        for (var x = 0; x < width; x++)
        {
            row[3 * x] = PadColour.R;
            row[3 * x + 1] = PadColour.G;
            row[3 * x + 2] = PadColour.B;
        }
        for (var y = 1; y < height; y++) row.CopyTo(hwc.Slice(y * width * 3, width * 3));
        using var resized = image.Resize(fit.ScaledWidth, fit.ScaledHeight);
        TensorPrep.ToHwcBytes(resized, hwc, width, (int)fit.PadX, (int)fit.PadY);
        return fit;
    }

    /// <summary>De-quantises one output frame of any host format into floats.</summary>
    internal static void ToFloat(NpuStreamInfo stream, ReadOnlySpan<byte> frame, Span<float> destination)
    {
        var quant = stream.Quant as QuantInfo[] ?? [.. stream.Quant];
        switch (stream.FormatType)
        {
            case NpuFormatType.UInt8:
                Dequantize.ToFloat(frame, quant, destination);
                break;
            case NpuFormatType.UInt16:
                Dequantize.ToFloat(MemoryMarshal.Cast<byte, ushort>(frame), quant, destination);
                break;
            case NpuFormatType.Float32:
                MemoryMarshal.Cast<byte, float>(frame).CopyTo(destination);
                break;
            default:
                throw new InvalidDataException($"{stream.Name}: unsupported output format {stream.FormatType}");
        }
    }

    public void Dispose()
    {
        if (_ownsModel) _model.Dispose();
    }
}

/// <summary>
/// PP-OCR CTC recognition on the Hailo NPU: each line is resized to the HEF's height keeping its aspect (squeezed
/// only when wider than the input), padded on the right with 128, run one at a time, de-quantised, softmaxed if the
/// HEF returns logits, and decoded greedily with the 97-class hailo-apps charset.
/// </summary>
internal sealed class NpuTextRecognizer : ITextRecognizer
{
    /// <summary>
    /// The hailo-apps PaddleOCR charset after the CTC blank (class 0): 0-9, :;&lt;=&gt;?@, A-Z, [\]^_`, a-z, {|}~,
    /// !"#$%&amp;'()*+,-./, then two spaces — 96 entries, 97 classes with the blank.
    /// </summary>
    public const string Charset = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~!\"#$%&'()*+,-./  ";

    /// <summary>Pad value of the line images: mid-grey, 0 after the (x/255 − 0.5)/0.5 normalisation.</summary>
    public const byte PadValue = 128;

    private readonly VisionModel _model;
    private readonly CtcDecoder _decoder;
    private readonly bool _ownsModel;
    private readonly int _inputWidth, _inputHeight, _steps, _classes, _outputIndex;

    /// <summary>A decoder for <see cref="Charset"/> (no appended space: the charset ends with its own).</summary>
    public static CtcDecoder CreateDecoder() => new(Charset.Select(c => c.ToString()).ToArray(), appendSpace: false);

    public NpuTextRecognizer(VisionModel model, CtcDecoder? decoder = null, bool ownsModel = true)
    {
        _model = model;
        _decoder = decoder ?? CreateDecoder();
        _ownsModel = ownsModel;
        var name = ModelName;
        if (model.Inputs.Count != 1) throw new InvalidDataException($"{name}: expected one input, the HEF has {model.Inputs.Count}");
        NpuTextDetector.CheckImageInput(name, model.Inputs[0]);
        _inputWidth = model.Inputs[0].Width;
        _inputHeight = model.Inputs[0].Height;
        var candidates = model.Outputs.Select((o, i) => (o, i)).Where(x => !x.o.IsNms && x.o.Features == _decoder.ClassCount).ToArray();
        if (candidates.Length != 1)
            throw new InvalidDataException(
                $"{name}: expected one output with {_decoder.ClassCount} classes in its last dimension, got {string.Join("; ", model.Outputs)}");
        var (output, index) = candidates[0];
        _outputIndex = index;
        _classes = output.Features;
        _steps = output.Height * output.Width; // [1, T, C] (NTC) whichever of H/W carries T
    }

    public string ModelName => Path.GetFileName(_model.HefPath);

    /// <summary>Time steps of the output (T of [1, T, C]).</summary>
    public int Steps => _steps;

    public (string Text, float Confidence)[] Run(IReadOnlyList<RgbaImage> lines, StageTimer timer)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var results = new (string, float)[lines.Count];
        if (lines.Count == 0) return results;
        var outputs = _model.Outputs;
        var input = new byte[_inputWidth * _inputHeight * 3];
        var raw = new Memory<byte>[outputs.Count];
        for (var k = 0; k < raw.Length; k++) raw[k] = new byte[outputs[k].FrameSize];
        var probabilities = new float[_steps * _classes];
        for (var n = 0; n < lines.Count; n++)
        {
            PrepareLine(lines[n], input, _inputWidth, _inputHeight);
            timer.Time(OcrStages.RecognitionModel, () =>
            {
                _model.Infer([input], raw);
                return 0;
            });
            var stream = outputs[_outputIndex];
            NpuTextDetector.ToFloat(stream, raw[_outputIndex].Span, probabilities);
            if (!LooksLikeProbabilities(probabilities, _steps, _classes)) SoftmaxRows(probabilities, _steps, _classes);
            results[n] = _decoder.Decode(probabilities, _steps, _classes);
        }
        return results;
    }

    /// <summary>
    /// Writes a line into an H×W×3 RGB tensor: height scaled to H keeping the aspect ratio (width capped at W),
    /// left-aligned, the rest <see cref="PadValue"/>. Returns the width the line occupies.
    /// </summary>
    internal static int PrepareLine(RgbaImage line, Span<byte> hwc, int width, int height)
    {
        var w = Math.Clamp((int)Math.Ceiling(height * line.Width / (double)line.Height), 1, width);
        hwc[..(width * height * 3)].Fill(PadValue);
        using var resized = line.Resize(w, height);
        TensorPrep.ToHwcBytes(resized, hwc, width);
        return w;
    }

    /// <summary>True when every row is a distribution (non-negative, summing to ~1 within uint8 quantisation error).</summary>
    internal static bool LooksLikeProbabilities(ReadOnlySpan<float> data, int steps, int classes)
    {
        // Worst case for a uint8 softmax with scale 1/255: every class off by half a step, 97 · 0.5/255 ≈ 0.19.
        const float tolerance = 0.25f;
        for (var t = 0; t < steps; t++)
        {
            var row = data.Slice(t * classes, classes);
            float sum = 0;
            foreach (var v in row)
            {
                if (v < -1e-3f) return false;
                sum += v;
            }
            if (MathF.Abs(sum - 1) > tolerance) return false;
        }
        return true;
    }

    /// <summary>Numerically stable softmax of each row in place.</summary>
    internal static void SoftmaxRows(Span<float> data, int steps, int classes)
    {
        for (var t = 0; t < steps; t++)
        {
            var row = data.Slice(t * classes, classes);
            var max = float.NegativeInfinity;
            foreach (var v in row) max = MathF.Max(max, v);
            float sum = 0;
            for (var c = 0; c < row.Length; c++)
            {
                row[c] = MathF.Exp(row[c] - max);
                sum += row[c];
            }
            for (var c = 0; c < row.Length; c++) row[c] /= sum;
        }
    }

    public void Dispose()
    {
        if (_ownsModel) _model.Dispose();
    }
}
