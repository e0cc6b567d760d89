namespace Hailo.TestSupport;

/// <summary>
/// Generated stand-ins for the face models no registry here ships, with the real signatures:
/// SCRFD (input `input.1` [1, 3, 640, 640]; nine outputs `score_{8,16,32}` [1, N, 1], `bbox_{8,16,32}` [1, N, 4],
/// `kps_{8,16,32}` [1, N, 10] with N = 2 anchors per cell) and ArcFace (input `input.1` [1, 3, 112, 112] → `embedding`
/// [1, 512]). Their weights are not learnt: the SCRFD outputs are given tensors, the score gated by the input's brightest
/// value; the ArcFace output is a fixed random projection of the 8×8-pooled input.
/// </summary>
public static class FaceOnnx
{
    public static readonly int[] Strides = [8, 16, 32];

    /// <summary>
    /// A SCRFD export whose raw outputs are the given tensors (per stride: scores N, distances N×4, landmarks N×10,
    /// stride units, the decoder's layout). Every score is multiplied by clip(max(input) + 1, 0, 1): a black image
    /// (input ≈ −1) scores ≈ 0, an image with any pixel of mid-grey or brighter keeps the given scores — so "no face" can be tested too.
    /// </summary>
    public static byte[] Scrfd(float[][] scores, float[][] distances, float[][] landmarks, int size = 640)
    {
        var w = new OnnxWriter().Input("input.1", [1, 3, size, size]);
        var max = w.Node("ReduceMax", ["input.1"], null, ("keepdims", 0L));
        var one = w.Constant([1f], []);
        var zero = w.Constant([0f], []);
        var gate = w.Node("Clip", [w.Node("Add", [max, one]), zero, one]);
        for (var l = 0; l < Strides.Length; l++)
        {
            var n = scores[l].Length;
            w.Node("Mul", [w.Constant(scores[l], [1, n, 1]), gate], $"score_{Strides[l]}");
            w.Output($"score_{Strides[l]}", [1, n, 1]);
        }
        for (var l = 0; l < Strides.Length; l++)
        {
            var n = scores[l].Length;
            w.Node("Add", [w.Constant(distances[l], [1, n, 4]), w.Node("Mul", [max, zero])], $"bbox_{Strides[l]}");
            w.Output($"bbox_{Strides[l]}", [1, n, 4]);
        }
        for (var l = 0; l < Strides.Length; l++)
        {
            var n = scores[l].Length;
            w.Node("Add", [w.Constant(landmarks[l], [1, n, 10]), w.Node("Mul", [max, zero])], $"kps_{Strides[l]}");
            w.Output($"kps_{Strides[l]}", [1, n, 10]);
        }
        return w.ToBytes("scrfd-stand-in");
    }

    /// <summary>
    /// An ArcFace-shaped embedder: 14×14 average pooling of the 112×112 input to 3×8×8, flattened, times a fixed
    /// random 192×<paramref name="dimension"/> matrix (seeded). The same crop always gives the same embedding, and
    /// crops with different content give different ones; it knows nothing about faces.
    /// </summary>
    public static byte[] ArcFace(int seed = 7, int dimension = 512)
    {
        var rng = new Random(seed);
        var weights = new float[192 * dimension];
        for (var i = 0; i < weights.Length; i++) weights[i] = (float)(rng.NextDouble() * 2 - 1);
        var w = new OnnxWriter().Input("input.1", [1, 3, 112, 112]);
        var pooled = w.Node("AveragePool", ["input.1"], null, ("kernel_shape", new long[] { 14, 14 }), ("strides", new long[] { 14, 14 }));
        var flat = w.Node("Reshape", [pooled, w.ConstantInt64([1, 192], [2])]);
        w.Node("MatMul", [flat, w.Constant(weights, [192, dimension])], "embedding");
        w.Output("embedding", [1, dimension]);
        return w.ToBytes("arcface-stand-in");
    }
}

/// <summary>A face to plant in a generated SCRFD model, in model-input pixels.</summary>
public sealed record PlantedFace(Hailo.Vision.Box Box, System.Numerics.Vector2[] Landmarks, float Score = 0.9f);

/// <summary>Writes generated SCRFD models that detect given faces.</summary>
public static class PlantedFaces
{
    /// <summary>
    /// A face with plausible landmarks inside a box: eyes at 35 % of the height and 30 % / 70 % of the width, nose
    /// at the centre, mouth corners at 75 % height, 35 % / 65 % width.
    /// </summary>
    public static PlantedFace Face(float x1, float y1, float x2, float y2, float score = 0.9f)
    {
        float w = x2 - x1, h = y2 - y1;
        return new PlantedFace(new Hailo.Vision.Box(x1, y1, x2, y2),
        [
            new(x1 + 0.30f * w, y1 + 0.35f * h), new(x1 + 0.70f * w, y1 + 0.35f * h), new(x1 + 0.50f * w, y1 + 0.55f * h),
            new(x1 + 0.35f * w, y1 + 0.75f * h), new(x1 + 0.65f * w, y1 + 0.75f * h),
        ], score);
    }

    /// <summary>
    /// The model's levels with each face encoded at the anchor nearest its centre on the stride that suits its size
    /// (8 below 48 px, 16 below 160 px, 32 above), plus, when <paramref name="withDuplicates"/>, a copy shifted by
    /// two pixels at a lower score on the neighbouring cell (for NMS to remove).
    /// </summary>
    public static Hailo.Face.ScrfdLevel[] Levels(IReadOnlyList<PlantedFace> faces, int size = 640, bool withDuplicates = true)
    {
        var levels = Hailo.Face.ScrfdDecoder.Levels(size, size);
        foreach (var f in faces)
        {
            var side = Math.Max(f.Box.Width, f.Box.Height);
            var l = side < 48 ? 0 : side < 160 ? 1 : 2;
            var level = levels[l];
            float cx = (f.Box.X1 + f.Box.X2) / 2, cy = (f.Box.Y1 + f.Box.Y2) / 2;
            int gx = Math.Clamp((int)MathF.Round(cx / level.Stride), 0, level.GridWidth - 1);
            int gy = Math.Clamp((int)MathF.Round(cy / level.Stride), 0, level.GridHeight - 1);
            var cell = gy * level.GridWidth + gx;
            Hailo.Face.ScrfdDecoder.Encode(level, cell * level.AnchorsPerCell, f.Score, f.Box, f.Landmarks);
            if (!withDuplicates) continue;
            var shifted = f.Landmarks.Select(p => p + new System.Numerics.Vector2(2, 2)).ToArray();
            var next = gx + 1 < level.GridWidth ? cell + 1 : cell - 1;
            Hailo.Face.ScrfdDecoder.Encode(level, next * level.AnchorsPerCell + 1, f.Score * 0.8f,
                new Hailo.Vision.Box(f.Box.X1 + 2, f.Box.Y1 + 2, f.Box.X2 + 2, f.Box.Y2 + 2), shifted);
        }
        return levels;
    }

    /// <summary>A generated SCRFD ONNX model that detects <paramref name="faces"/> on any image that is not black.</summary>
    public static byte[] ScrfdModel(IReadOnlyList<PlantedFace> faces, int size = 640)
    {
        var levels = Levels(faces, size);
        return FaceOnnx.Scrfd(levels.Select(l => l.Scores).ToArray(), levels.Select(l => l.Distances).ToArray(), levels.Select(l => l.Landmarks).ToArray(), size);
    }
}
