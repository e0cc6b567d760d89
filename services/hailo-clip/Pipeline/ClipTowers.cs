using System.Diagnostics;
using Hailo.Hosting.Metrics;
using Hailo.Runtime.Npu;
using Hailo.Runtime.Onnx;

namespace HailoClip.Pipeline;

/// <summary>
/// CLIP's two towers on one backend. Both give the embedding as the model makes it (the pipeline L2-normalises):
/// the image tower from the preprocessed 224×224 RGB bytes, the text tower from the tokenized text.
/// </summary>
internal interface IClipTowers : IDisposable
{
    string ImageFile { get; }
    string TextFile { get; }
    /// <summary>The joint embedding's size (512 for ViT-B/32).</summary>
    int Dimension { get; }
    /// <summary>The vocabulary size the text tower takes, or null when it does not say.</summary>
    int? VocabSize { get; }
    float[] EmbedImage(ReadOnlySpan<byte> rgb, StageTimer timer);
    float[] EmbedText(TokenizedText text, StageTimer timer);
}

/// <summary>
/// The ONNX towers of a Hugging Face style export: image `pixel_values` [N, 3, 224, 224] float → `image_embeds`
/// [N, D]; text `input_ids` [N, 77] int64 (and `attention_mask` when the export has it: 1 for the real tokens) →
/// `text_embeds` [N, D]. An input or output with another name is taken when it is the only one.
/// </summary>
internal sealed class OnnxClipTowers : IClipTowers
{
    private readonly OnnxModel _image, _text;
    private readonly string _pixels, _imageOut, _ids, _textOut;
    private readonly string? _mask;
    private readonly float[] _input = new float[3 * ClipPreprocess.Size * ClipPreprocess.Size];

    public OnnxClipTowers(OnnxModel image, OnnxModel text)
    {
        _image = image;
        _text = text;
        _pixels = Pick(image.InputNames, "pixel_values", ImageFile, "input");
        var shape = image.InputShape(image.InputNames.ToList().IndexOf(_pixels));
        if (shape.Length != 4 || shape[1] is not (3 or -1) || shape[2] is not (224 or -1) || shape[3] is not (224 or -1))
            throw new InvalidDataException($"{ImageFile}: expected the image input [N, 3, 224, 224], the model has [{string.Join(", ", shape)}]");
        _imageOut = Pick(image.OutputNames, "image_embeds", ImageFile, "output");
        _ids = Pick(text.InputNames, "input_ids", TextFile, "input", allowOthers: true);
        _mask = text.InputNames.Contains("attention_mask") ? "attention_mask" : null;
        var extra = text.InputNames.Where(n => n != _ids && n != _mask).ToArray();
        if (extra.Length > 0) throw new InvalidDataException($"{TextFile}: unexpected text inputs {string.Join(", ", extra)} (expected input_ids and optionally attention_mask)");
        var ids = text.InputShape(text.InputNames.ToList().IndexOf(_ids));
        if (ids.Length != 2 || (ids[1] != ClipTokenizer.ContextLength && ids[1] != -1))
            throw new InvalidDataException($"{TextFile}: expected input_ids [N, 77], the model has [{string.Join(", ", ids)}]");
        _textOut = Pick(text.OutputNames, "text_embeds", TextFile, "output");
        var imageDim = LastDim(image.OutputShape(image.OutputNames.ToList().IndexOf(_imageOut)));
        var textDim = LastDim(text.OutputShape(text.OutputNames.ToList().IndexOf(_textOut)));
        if (imageDim > 0 && textDim > 0 && imageDim != textDim)
            throw new InvalidDataException($"{ImageFile} embeds into {imageDim} dimensions, {TextFile} into {textDim}: not one CLIP model");
        Dimension = imageDim > 0 ? imageDim : textDim;
    }

    private static int LastDim(long[] shape) => shape.Length == 2 ? (int)shape[1] : -1;

    private static string Pick(IReadOnlyList<string> names, string wanted, string file, string what, bool allowOthers = false)
    {
        if (names.Contains(wanted)) return wanted;
        if (names.Count == 1 && !allowOthers) return names[0];
        throw new InvalidDataException($"{file}: no {what} named '{wanted}' (the model has {string.Join(", ", names)})");
    }

    public string ImageFile => Path.GetFileName(_image.Path);
    public string TextFile => Path.GetFileName(_text.Path);
    public int Dimension { get; private set; }
    public int? VocabSize => null;

    public float[] EmbedImage(ReadOnlySpan<byte> rgb, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        ClipPreprocess.Normalize(rgb, _input);
        timer.AddSince(StageTimer.Preprocess, start);
        start = Stopwatch.GetTimestamp();
        var output = _image.Run([OnnxInput.Float(_pixels, _input, [1, 3, ClipPreprocess.Size, ClipPreprocess.Size])], [_imageOut])[0];
        timer.AddSince(StageTimer.Model, start);
        return Check(output, ImageFile);
    }

    public float[] EmbedText(TokenizedText text, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        var inputs = new List<OnnxInput>(2) { OnnxInput.Int64(_ids, text.Ids, [1, ClipTokenizer.ContextLength]) };
        if (_mask is not null)
        {
            var mask = new long[ClipTokenizer.ContextLength];
            for (var i = 0; i < text.Length; i++) mask[i] = 1;
            inputs.Add(OnnxInput.Int64(_mask, mask, [1, ClipTokenizer.ContextLength]));
        }
        var output = _text.Run(inputs, [_textOut])[0];
        timer.AddSince(StageTimer.Model, start);
        return Check(output, TextFile);
    }

    private float[] Check(FloatTensor output, string file)
    {
        if (output.Shape.Length != 2 || output.Shape[0] != 1 || (Dimension > 0 && output.Shape[1] != Dimension))
            throw new InvalidDataException($"{file}: expected an embedding [1, {(Dimension > 0 ? Dimension : "D")}], got [{string.Join(", ", output.Shape)}]");
        if (Dimension <= 0) Dimension = (int)output.Shape[1];
        return output.Data;
    }

    public void Dispose()
    {
        _image.Dispose();
        _text.Dispose();
    }
}

/// <summary>
/// The Hailo model zoo's CLIP HEFs on the NPU. Image: one uint8 224×224×3 input (the HEF normalises on the chip), one
/// output of D values, de-quantised. Text: the HEF takes token embeddings, not ids, so the host looks every id up in
/// the token-embedding table (vocab × W) and sends 77 × W floats (HailoRT quantises them); of the 77 × W output it
/// takes the row at the end token, multiplies it by the text projection (W × D).
/// </summary>
internal sealed class NpuClipTowers : IClipTowers
{
    private readonly VisionModel _image, _text;
    private readonly bool _ownsModels;
    private readonly float[] _lut, _projection;
    private readonly int _width;
    private readonly byte[] _frame;
    private readonly byte[] _tokens;
    private readonly NpuTensor _imageOut, _textOut;

    public NpuClipTowers(VisionModel image, VisionModel text, NpyArray lut, NpyArray projection, bool ownsModels = true)
    {
        _image = image;
        _text = text;
        _ownsModels = ownsModels;
        if (image.Inputs.Count != 1 || image.Outputs.Count != 1)
            throw new InvalidDataException($"{ImageFile}: expected one input and one output, the HEF has {image.Inputs.Count} and {image.Outputs.Count}");
        var input = image.Inputs[0];
        if (input.Width != ClipPreprocess.Size || input.Height != ClipPreprocess.Size || input.Features != 3 || input.FormatType != NpuFormatType.UInt8)
            throw new InvalidDataException($"{ImageFile}: expected a uint8 224×224×3 image input, got {input}");
        _frame = new byte[input.FrameSize];
        var imageOut = image.Outputs[0];
        Dimension = checked(imageOut.Height * imageOut.Width * imageOut.Features);
        _imageOut = new NpuTensor(imageOut, new byte[imageOut.FrameSize]);

        if (text.Inputs.Count != 1 || text.Outputs.Count != 1)
            throw new InvalidDataException($"{TextFile}: expected one input and one output, the HEF has {text.Inputs.Count} and {text.Outputs.Count}");
        var tokens = text.Inputs[0];
        if (tokens.Height * tokens.Width != ClipTokenizer.ContextLength || tokens.FormatType != NpuFormatType.Float32)
            throw new InvalidDataException($"{TextFile}: expected a float32 input of 77 token embeddings, got {tokens}");
        _width = tokens.Features;
        _tokens = new byte[tokens.FrameSize];
        var textOut = text.Outputs[0];
        if (textOut.Height * textOut.Width != ClipTokenizer.ContextLength || textOut.Features != _width)
            throw new InvalidDataException($"{TextFile}: expected an output of 77 × {_width}, got {textOut}");
        _textOut = new NpuTensor(textOut, new byte[textOut.FrameSize]);

        if (lut.Shape.Length != 2 || lut.Shape[1] != _width)
            throw new InvalidDataException($"token_embedding_lut: expected [vocab, {_width}], got [{string.Join(", ", lut.Shape)}]");
        if (projection.Shape.Length != 2 || projection.Shape[0] != _width || projection.Shape[1] != Dimension)
            throw new InvalidDataException($"text_projection: expected [{_width}, {Dimension}], got [{string.Join(", ", projection.Shape)}]");
        _lut = lut.Data;
        _projection = projection.Data;
        VocabSize = lut.Shape[0];
    }

    public string ImageFile => Path.GetFileName(_image.HefPath);
    public string TextFile => Path.GetFileName(_text.HefPath);
    public int Dimension { get; }
    public int? VocabSize { get; }

    public float[] EmbedImage(ReadOnlySpan<byte> rgb, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        rgb.CopyTo(_frame);
        _image.Infer(_frame, _imageOut.Data);
        timer.AddSince(StageTimer.Model, start);
        return _imageOut.ToFloat();
    }

    public float[] EmbedText(TokenizedText text, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        var tokens = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(_tokens.AsSpan());
        for (var t = 0; t < ClipTokenizer.ContextLength; t++)
        {
            var id = (int)text.Ids[t];
            if ((uint)id >= (uint)VocabSize!.Value) throw new InvalidDataException($"token id {id} is outside the token-embedding table ({VocabSize} rows)");
            _lut.AsSpan(id * _width, _width).CopyTo(tokens.Slice(t * _width, _width));
        }
        timer.AddSince(StageTimer.Preprocess, start);
        start = Stopwatch.GetTimestamp();
        _text.Infer(_tokens, _textOut.Data);
        timer.AddSince(StageTimer.Model, start);
        start = Stopwatch.GetTimestamp();
        var all = _textOut.ToFloat();
        var row = all.AsSpan(text.EndIndex * _width, _width);
        var result = new float[Dimension];
        for (var i = 0; i < _width; i++)
        {
            var x = row[i];
            if (x == 0) continue;
            var p = _projection.AsSpan(i * Dimension, Dimension);
            for (var j = 0; j < Dimension; j++) result[j] += x * p[j];
        }
        timer.AddSince(StageTimer.Postprocess, start);
        return result;
    }

    public void Dispose()
    {
        if (!_ownsModels) return;
        _image.Dispose();
        _text.Dispose();
    }
}
