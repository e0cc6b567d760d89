using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hailo.Vision;

/// <summary>
/// Distribution focal loss box decoding (YOLOv8 and later): each box side is a distribution over 16 bins whose
/// expectation Σ i·softmax(bins)ᵢ, times the stride, is the side's distance from the anchor.
/// </summary>
public static class Dfl
{
    public const int Bins = 16;
    /// <summary>Channels of one box: 4 sides × 16 bins, sides left, top, right, bottom.</summary>
    public const int Channels = 4 * Bins;

    /// <summary>The four distances (left, top, right, bottom) in stride units from 4 × 16 bins: per side Σ i·softmax(bins)ᵢ.</summary>
    /// <param name="vectorBits">256, 128 or 0 (scalar) to force a path in tests; by default the widest the CPU has.</param>
    public static void Distances(ReadOnlySpan<float> bins, Span<float> distances, int vectorBits = 256)
    {
        if (bins.Length != Channels) throw new ArgumentException($"expected {Channels} DFL channels", nameof(bins));
        if (vectorBits >= 256 && Vector256.IsHardwareAccelerated)
        {
            ref var q = ref MemoryMarshal.GetReference(bins);
            var max = Vector256.LoadUnsafe(ref q, 0);
            for (nuint o = 8; o < Channels; o += 8) max = Vector256.Max(max, Vector256.LoadUnsafe(ref q, o));
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
            for (nuint o = 32; o < Channels; o += 4) max = Vector128.Max(max, Vector128.LoadUnsafe(ref p, o));
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
}

/// <summary>Element-wise activations of raw head outputs.</summary>
public static class Activations
{
    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>sigmoid on every element (8 or 4 at a time where the CPU has vectors).</summary>
    public static void SigmoidInPlace(Span<float> values)
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
