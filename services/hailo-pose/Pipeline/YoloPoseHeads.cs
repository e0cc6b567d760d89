using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace HailoPose.Pipeline;

/// <summary>
/// The raw YOLOv8-pose head of one stride, de-quantised, NHWC: per grid cell 64 box channels (4 sides × 16 DFL
/// bins, sides left, top, right, bottom), 1 person score and 51 keypoint channels (17 × x, y, visibility logit).
/// </summary>
internal readonly record struct PoseHeadLevel(int Stride, int GridWidth, int GridHeight, float[] Boxes, float[] Scores, float[] Keypoints)
{
    public int Cells => GridWidth * GridHeight;
}

/// <summary>
/// Decodes YOLOv8-pose head outputs (what the Hailo HEFs return) into <see cref="PoseCandidates"/> in input pixels.
/// Derived from the head's definition: the anchor of cell (gx, gy) at stride s is ((gx + ½)·s, (gy + ½)·s); each
/// box side is a distribution over 16 bins whose expectation Σ i·softmax(bins)ᵢ, times s, is the distance from the
/// anchor (box = anchor ∓ distances); keypoint k is ((2·x + gx)·s, (2·y + gy)·s), i.e. twice the raw offset plus the
/// cell's corner (anchor − ½), in stride units; its visibility is sigmoid(v).
/// </summary>
internal static class YoloPoseHeads
{
    public const int Bins = 16;
    public const int BoxChannels = 4 * Bins;
    public const int KeypointChannels = 3 * CocoKeypoints.Count;

    /// <param name="scoresAreLogits">Apply a sigmoid to the score channel (the Hailo HEFs already do).</param>
    public static void Decode(ReadOnlySpan<PoseHeadLevel> levels, float threshold, bool scoresAreLogits, PoseCandidates into)
    {
        Span<float> distances = stackalloc float[4];
        foreach (var level in levels)
        {
            var s = (float)level.Stride;
            var boxes = level.Boxes.AsSpan();
            var keypoints = level.Keypoints.AsSpan();
            for (var cell = 0; cell < level.Cells; cell++)
            {
                var score = level.Scores[cell];
                if (scoresAreLogits) score = Sigmoid(score);
                if (!(score >= threshold)) continue; // also drops NaN
                int gx = cell % level.GridWidth, gy = cell / level.GridWidth;
                float cx = (gx + 0.5f) * s, cy = (gy + 0.5f) * s;
                DflDistances(boxes.Slice(cell * BoxChannels, BoxChannels), distances);
                var row = into.Add();
                row[0] = cx - distances[0] * s;
                row[1] = cy - distances[1] * s;
                row[2] = cx + distances[2] * s;
                row[3] = cy + distances[3] * s;
                row[4] = score;
                DecodeKeypoints(keypoints.Slice(cell * KeypointChannels, KeypointChannels), gx, gy, s, row[5..]);
            }
        }
    }

    /// <summary>Keypoints of one cell: x = (2·rx + gx)·s, y = (2·ry + gy)·s, visibility = sigmoid(rv).</summary>
    internal static void DecodeKeypoints(ReadOnlySpan<float> raw, int gx, int gy, float stride, Span<float> destination)
    {
        Span<float> logits = stackalloc float[24];
        for (var k = 0; k < CocoKeypoints.Count; k++)
        {
            destination[3 * k] = (2 * raw[3 * k] + gx) * stride;
            destination[3 * k + 1] = (2 * raw[3 * k + 1] + gy) * stride;
            logits[k] = raw[3 * k + 2];
        }
        SigmoidInPlace(logits);
        for (var k = 0; k < CocoKeypoints.Count; k++) destination[3 * k + 2] = logits[k];
    }

    /// <summary>The four DFL distances (left, top, right, bottom) in stride units: per side Σ i·softmax(bins)ᵢ.</summary>
    /// <param name="vectorBits">256, 128 or 0 (scalar) to force a path in tests; by default the widest the CPU has.</param>
    internal static void DflDistances(ReadOnlySpan<float> bins, Span<float> distances, int vectorBits = 256)
    {
        if (bins.Length != BoxChannels) throw new ArgumentException($"expected {BoxChannels} DFL channels", nameof(bins));
        if (vectorBits >= 256 && Vector256.IsHardwareAccelerated)
        {
            ref var q = ref MemoryMarshal.GetReference(bins);
            var max = Vector256.LoadUnsafe(ref q, 0);
            for (nuint o = 8; o < BoxChannels; o += 8) max = Vector256.Max(max, Vector256.LoadUnsafe(ref q, o));
            var half = Vector128.Max(max.GetLower(), max.GetUpper());
            var m = MathF.Max(MathF.Max(half[0], half[1]), MathF.Max(half[2], half[3]));
            for (var side = 0; side < 4; side++)
            {
                var d = SideVector256(ref Unsafe.Add(ref q, side * Bins), m);
                distances[side] = float.IsNaN(d) ? SideScalar(bins.Slice(side * Bins, Bins)) : d;
            }
            return;
        }
        if (vectorBits >= 128 && Vector128.IsHardwareAccelerated)
        {
            ref var p = ref MemoryMarshal.GetReference(bins);
            // One shift for all 64 logits keeps exp() in range; a side whose logits are all far below the others'
            // would underflow to a zero sum, and is redone with its own maximum.
            var max = Vector128.Max(
                Vector128.Max(Vector128.Max(Vector128.LoadUnsafe(ref p, 0), Vector128.LoadUnsafe(ref p, 4)),
                              Vector128.Max(Vector128.LoadUnsafe(ref p, 8), Vector128.LoadUnsafe(ref p, 12))),
                Vector128.Max(Vector128.Max(Vector128.LoadUnsafe(ref p, 16), Vector128.LoadUnsafe(ref p, 20)),
                              Vector128.Max(Vector128.LoadUnsafe(ref p, 24), Vector128.LoadUnsafe(ref p, 28))));
            for (nuint o = 32; o < BoxChannels; o += 4) max = Vector128.Max(max, Vector128.LoadUnsafe(ref p, o));
            var m = MathF.Max(MathF.Max(max[0], max[1]), MathF.Max(max[2], max[3]));
            for (var side = 0; side < 4; side++)
            {
                var d = SideVector(ref Unsafe.Add(ref p, side * Bins), m);
                distances[side] = float.IsNaN(d) ? SideScalar(bins.Slice(side * Bins, Bins)) : d;
            }
            return;
        }
        for (var side = 0; side < 4; side++) distances[side] = SideScalar(bins.Slice(side * Bins, Bins));
    }

    private static readonly Vector128<float> I0 = Vector128.Create(0f, 1, 2, 3);
    private static readonly Vector128<float> I1 = Vector128.Create(4f, 5, 6, 7);
    private static readonly Vector128<float> I2 = Vector128.Create(8f, 9, 10, 11);
    private static readonly Vector128<float> I3 = Vector128.Create(12f, 13, 14, 15);

    private static readonly Vector256<float> J0 = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7);
    private static readonly Vector256<float> J1 = Vector256.Create(8f, 9, 10, 11, 12, 13, 14, 15);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SideVector256(ref float p, float max)
    {
        var shift = Vector256.Create(max);
        var e0 = Vector256.Exp(Vector256.LoadUnsafe(ref p, 0) - shift);
        var e1 = Vector256.Exp(Vector256.LoadUnsafe(ref p, 8) - shift);
        var sum = Vector256.Sum(e0 + e1);
        var weighted = Vector256.Sum(e0 * J0 + e1 * J1);
        return sum > 0 ? weighted / sum : float.NaN;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SideVector(ref float p, float max)
    {
        var shift = Vector128.Create(max);
        var e0 = Vector128.Exp(Vector128.LoadUnsafe(ref p, 0) - shift);
        var e1 = Vector128.Exp(Vector128.LoadUnsafe(ref p, 4) - shift);
        var e2 = Vector128.Exp(Vector128.LoadUnsafe(ref p, 8) - shift);
        var e3 = Vector128.Exp(Vector128.LoadUnsafe(ref p, 12) - shift);
        var sum = Vector128.Sum((e0 + e1) + (e2 + e3));
        var weighted = Vector128.Sum((e0 * I0 + e1 * I1) + (e2 * I2 + e3 * I3));
        return sum > 0 ? weighted / sum : float.NaN;
    }

    private static float SideScalar(ReadOnlySpan<float> bins)
    {
        var max = float.NegativeInfinity;
        foreach (var v in bins) max = MathF.Max(max, v);
        float sum = 0, weighted = 0;
        for (var i = 0; i < bins.Length; i++)
        {
            var e = MathF.Exp(bins[i] - max);
            sum += e;
            weighted += i * e;
        }
        return weighted / sum;
    }

    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>sigmoid on every element (8 or 4 at a time where the CPU has vectors).</summary>
    internal static void SigmoidInPlace(Span<float> values)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var p = ref MemoryMarshal.GetReference(values);
            var one = Vector256<float>.One;
            for (; i <= values.Length - 8; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref p, (nuint)i);
                (one / (one + Vector256.Exp(-v))).StoreUnsafe(ref p, (nuint)i);
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            ref var p = ref MemoryMarshal.GetReference(values);
            var one = Vector128<float>.One;
            for (; i <= values.Length - 4; i += 4)
            {
                var v = Vector128.LoadUnsafe(ref p, (nuint)i);
                (one / (one + Vector128.Exp(-v))).StoreUnsafe(ref p, (nuint)i);
            }
        }
        for (; i < values.Length; i++) values[i] = Sigmoid(values[i]);
    }
}
