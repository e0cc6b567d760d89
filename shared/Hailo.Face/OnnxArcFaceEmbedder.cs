using System.Diagnostics;
using Hailo.Media;
using Hailo.Runtime.Onnx;

namespace Hailo.Face;

/// <summary>
/// An ArcFace ONNX export (insightface's recognition models: MobileFaceNet, ResNet-50) on ONNX Runtime: input
/// [1, 3, 112, 112] float RGB, (pixel − 127.5) / 127.5, the aligned crop; output [1, D] (D = 512), L2-normalised
/// here. Exports trained with another input scale (e.g. (pixel − 127) / 128) name theirs.
/// </summary>
public sealed class OnnxArcFaceEmbedder : IFaceEmbedder
{
    private readonly OnnxModel _model;
    private readonly float[] _input = new float[3 * FaceLandmarks.AlignedSize * FaceLandmarks.AlignedSize];
    private readonly Normalization _normalization;

    public OnnxArcFaceEmbedder(OnnxModel model, Normalization? normalization = null)
    {
        _model = model;
        _normalization = normalization ?? Normalization.SymmetricUnit;
        var shape = model.InputShape(0);
        if (shape.Length != 4 || shape[1] is not (3 or -1) || shape[2] is not (112 or -1) || shape[3] is not (112 or -1))
            throw new InvalidDataException($"{ModelFile}: expected an input [1, 3, 112, 112], the model has [{string.Join(", ", shape)}]");
        var output = model.OutputShape(0);
        if (output.Length != 2 || output[1] < 1)
            throw new InvalidDataException($"{ModelFile}: expected an output [1, D], the model has [{string.Join(", ", output)}]");
        Dimension = (int)output[1];
    }

    public string ModelFile => Path.GetFileName(_model.Path);
    public int Dimension { get; }

    public float[] Embed(RgbaImage aligned, FaceTimings timings)
    {
        if (aligned.Width != FaceLandmarks.AlignedSize || aligned.Height != FaceLandmarks.AlignedSize)
            throw new ArgumentException($"expected a {FaceLandmarks.AlignedSize}×{FaceLandmarks.AlignedSize} crop", nameof(aligned));
        var start = Stopwatch.GetTimestamp();
        TensorPrep.ToChw(aligned, _input, FaceLandmarks.AlignedSize, FaceLandmarks.AlignedSize, _normalization);
        timings.PreprocessMs += FaceTimings.Since(start);
        start = Stopwatch.GetTimestamp();
        var output = _model.Run(_input, [1, 3, FaceLandmarks.AlignedSize, FaceLandmarks.AlignedSize]);
        timings.ModelMs += FaceTimings.Since(start);
        if (output.Data.Length != Dimension) throw new InvalidDataException($"{ModelFile}: expected {Dimension} values, got {output.Data.Length}");
        var v = output.Data;
        if (!Embeddings.Normalize(v)) throw new InvalidDataException($"{ModelFile}: the embedding is zero or not finite");
        return v;
    }

    public void Dispose() => _model.Dispose();
}
