using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace HailoDepth.Pipeline;

/// <summary>Turns a model's raw float output into depth, in place, by what the model's manifest says it emits.</summary>
internal static class DepthDecoder
{
    /// <summary>Relative inverse depth below this fraction of the image's largest value is clamped to it (far field capped at 100×).</summary>
    public const float InverseFloor = 0.01f;

    public static void ToDepth(Span<float> values, DepthOutput kind)
    {
        if (kind == DepthOutput.Scdepth) Scdepth(values);
        else InverseRelative(values);
    }

    /// <summary>SC-DepthV3: depth = 1 / (10·sigmoid(x) + 0.009), between 0.1 and 111 (metres, by the model's scale).</summary>
    public static void Scdepth(Span<float> values)
    {
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            ref var p = ref MemoryMarshal.GetReference(values);
            var one = Vector128<float>.One;
            var ten = Vector128.Create(10f);
            var bias = Vector128.Create(0.009f);
            for (; i <= values.Length - 4; i += 4)
            {
                var x = Vector128.LoadUnsafe(ref p, (nuint)i);
                var s = one / (one + Vector128.Exp(-x));
                (one / (ten * s + bias)).StoreUnsafe(ref p, (nuint)i);
            }
        }
        for (; i < values.Length; i++) values[i] = 1f / (10f / (1f + MathF.Exp(-values[i])) + 0.009f);
    }

    /// <summary>
    /// MiDaS-style relative inverse depth d → relative depth 1 / max(d, 1 % of the largest d): the scale is arbitrary,
    /// the order (nearer = smaller) is what the model knows; sky and other "infinitely far" areas stop at 100× the nearest.
    /// </summary>
    public static void InverseRelative(Span<float> values)
    {
        var max = float.NegativeInfinity;
        foreach (var v in values)
            if (v > max) max = v;
        var floor = MathF.Max(max * InverseFloor, 1e-6f);
        for (var i = 0; i < values.Length; i++) values[i] = 1f / MathF.Max(values[i], floor);
    }
}
