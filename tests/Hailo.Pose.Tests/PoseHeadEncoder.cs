using System.Runtime.InteropServices;
using HailoPose.Pipeline;

namespace Hailo.Pose.Tests;

/// <summary>Quantisation of one head tensor: x = (q − ZeroPoint) · Scale.</summary>
public readonly record struct Quant(float Scale, float ZeroPoint, int Max)
{
    public float Min => -ZeroPoint * Scale;
    public float Top => (Max - ZeroPoint) * Scale;
    public int Code(float x) => (int)Math.Clamp(MathF.Round(x / Scale + ZeroPoint), 0, Max);
    public float Value(int q) => (q - ZeroPoint) * Scale;
}

/// <summary>
/// The inverse of <see cref="YoloPoseHeads"/>: writes YOLOv8-pose head tensors (per stride: DFL box, score,
/// keypoints, NHWC) that encode given people in input pixels, as floats or quantised like Hailo's HEFs (box and score
/// uint8, keypoints uint16) with realistic scales and zero points. Quantised DFL bins are chosen by searching the
/// codes of three neighbouring bins so that the de-quantised softmax expectation hits the true distance.
/// </summary>
public sealed class PoseHeadEncoder
{
    public static readonly Quant BoxQuant = new(0.0784f, 128, 255);       // DFL logits in about ±10
    public static readonly Quant ScoreQuant = new(1f / 255, 0, 255);       // probabilities (sigmoid on the chip)
    public static readonly Quant KeypointQuant = new(0.0005f, 32768, 65535); // offsets and visibility logits in about ±16

    public sealed class Level(int stride, int grid)
    {
        public int Stride { get; } = stride;
        public int Grid { get; } = grid;
        public float[] Box { get; } = new float[grid * grid * YoloPoseHeads.BoxChannels];
        public float[] Score { get; } = new float[grid * grid];
        public float[] Keypoints { get; } = new float[grid * grid * YoloPoseHeads.KeypointChannels];
        // Native codes, filled when encoding quantised.
        public byte[] BoxCodes { get; } = new byte[grid * grid * YoloPoseHeads.BoxChannels];
        public byte[] ScoreCodes { get; } = new byte[grid * grid];
        public ushort[] KeypointCodes { get; } = new ushort[grid * grid * YoloPoseHeads.KeypointChannels];

        internal PoseHeadLevel ToFloatLevel() => new(Stride, Grid, Grid, Box, Score, Keypoints);
        public byte[] BoxBytes => BoxCodes;
        public byte[] ScoreBytes => ScoreCodes;
        public byte[] KeypointBytes => MemoryMarshal.AsBytes(KeypointCodes.AsSpan()).ToArray();
    }

    public IReadOnlyList<Level> Levels { get; }
    private readonly bool _quantised;
    private readonly HashSet<(int Stride, int Gx, int Gy)> _used = [];

    /// <param name="quantised">Write native codes and make the float tensors their de-quantised values.</param>
    public PoseHeadEncoder(int inputSize = 640, bool quantised = true)
    {
        _quantised = quantised;
        Levels = new[] { 8, 16, 32 }.Select(s => new Level(s, inputSize / s)).ToArray();
        foreach (var l in Levels)
        {
            // Background: score 0, DFL logits all equal (distance 7.5 bins, irrelevant), keypoints 0.
            Array.Fill(l.ScoreCodes, (byte)ScoreQuant.Code(0));
            Array.Fill(l.BoxCodes, (byte)BoxQuant.Code(0));
            Array.Fill(l.KeypointCodes, (ushort)KeypointQuant.Code(0));
            Array.Fill(l.Score, quantised ? ScoreQuant.Value(ScoreQuant.Code(0)) : 0);
            Array.Fill(l.Box, quantised ? BoxQuant.Value(BoxQuant.Code(0)) : 0);
            Array.Fill(l.Keypoints, quantised ? KeypointQuant.Value(KeypointQuant.Code(0)) : 0);
        }
    }

    /// <summary>Encodes a person (input pixels) at the finest stride whose 16 bins reach all four box sides.</summary>
    public void Add(KnownPerson p, int? forceStride = null)
    {
        var (cx, cy) = p.Centre;
        foreach (var level in Levels)
        {
            if (forceStride is { } fs && level.Stride != fs) continue;
            float s = level.Stride;
            int gx = (int)(cx / s), gy = (int)(cy / s);
            float ax = (gx + 0.5f) * s, ay = (gy + 0.5f) * s;
            float[] d = [(ax - p.X1) / s, (ay - p.Y1) / s, (p.X2 - ax) / s, (p.Y2 - ay) / s];
            if (d.Any(v => v < 0.05f || v > 14.9f)) continue;
            if (!_used.Add((level.Stride, gx, gy))) throw new InvalidOperationException("two people share a cell");
            var cell = gy * level.Grid + gx;
            for (var side = 0; side < 4; side++) EncodeSide(level, cell, side, d[side]);
            SetScore(level, cell, p.Score);
            for (var k = 0; k < 17; k++)
            {
                SetKeypoint(level, cell, 3 * k, (p.Keypoints[k].X / s - gx) / 2);
                SetKeypoint(level, cell, 3 * k + 1, (p.Keypoints[k].Y / s - gy) / 2);
                SetKeypoint(level, cell, 3 * k + 2, MathF.Log(p.Keypoints[k].V / (1 - p.Keypoints[k].V)));
            }
            return;
        }
        throw new InvalidOperationException($"no stride can encode a {p.X2 - p.X1}×{p.Y2 - p.Y1} box");
    }

    private void SetScore(Level l, int cell, float score)
    {
        var q = ScoreQuant.Code(score);
        l.ScoreCodes[cell] = (byte)q;
        l.Score[cell] = _quantised ? ScoreQuant.Value(q) : score;
    }

    private void SetKeypoint(Level l, int cell, int channel, float value)
    {
        var i = cell * YoloPoseHeads.KeypointChannels + channel;
        var q = KeypointQuant.Code(value);
        l.KeypointCodes[i] = (ushort)q;
        l.Keypoints[i] = _quantised ? KeypointQuant.Value(q) : value;
    }

    private void EncodeSide(Level l, int cell, int side, float distance)
    {
        var offset = cell * YoloPoseHeads.BoxChannels + side * YoloPoseHeads.Bins;
        var bins = l.Box.AsSpan(offset, YoloPoseHeads.Bins);
        var codes = l.BoxCodes.AsSpan(offset, YoloPoseHeads.Bins);
        if (!_quantised)
        {
            // Two neighbouring bins whose weights average to the distance; the rest far below.
            var k = Math.Min((int)distance, 14);
            var f = distance - k;
            bins.Fill(-40);
            bins[k] = MathF.Log(MathF.Max(1 - f, 1e-12f));
            bins[k + 1] = MathF.Log(MathF.Max(f, 1e-12f));
            return;
        }
        // Peak at the nearest bin (code 255); search the codes of the bins on either side of it.
        var peak = Math.Clamp((int)MathF.Round(distance), 1, 14);
        var background = BoxQuant.Code(BoxQuant.Min);
        double bgWeight = Math.Exp(BoxQuant.Value(background) - BoxQuant.Value(255));
        double bgSum = 0, bgWeighted = 0;
        for (var i = 0; i < 16; i++)
            if (i < peak - 1 || i > peak + 1) { bgSum += bgWeight; bgWeighted += i * bgWeight; }
        var best = (Error: double.MaxValue, Lo: 0, Hi: 0);
        var weights = new double[256];
        for (var q = 0; q < 256; q++) weights[q] = Math.Exp(BoxQuant.Value(q) - BoxQuant.Value(255));
        for (var lo = 0; lo < 256; lo++)
            for (var hi = 0; hi < 256; hi++)
            {
                var sum = bgSum + 1 + weights[lo] + weights[hi];
                var e = (bgWeighted + peak + (peak - 1) * weights[lo] + (peak + 1) * weights[hi]) / sum;
                var err = Math.Abs(e - distance);
                if (err < best.Error) best = (err, lo, hi);
            }
        codes.Fill((byte)background);
        codes[peak] = 255;
        codes[peak - 1] = (byte)best.Lo;
        codes[peak + 1] = (byte)best.Hi;
        for (var i = 0; i < 16; i++) bins[i] = BoxQuant.Value(codes[i]);
    }
}
