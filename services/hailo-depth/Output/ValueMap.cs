using System.Numerics;
using System.Runtime.InteropServices;

namespace HailoDepth.Output;

/// <summary>
/// What values become on their way into an output file: unchanged (the default), or min-max normalised,
/// (v − min)·(1 / (max − min)), where a flat or empty range makes every value 0.
/// </summary>
internal readonly record struct ValueMap(bool Normalize, float Min, float Max)
{
    public static ValueMap Normalized(float min, float max) => new(true, min, max);

    public void Apply(ReadOnlySpan<float> values, Span<float> into)
    {
        if (!Normalize)
        {
            values.CopyTo(into);
            return;
        }
        var range = Max - Min;
        if (!(range > 0))
        {
            into[..values.Length].Clear();
            return;
        }
        var k = 1 / range;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var v = MemoryMarshal.Cast<float, Vector<float>>(values);
            var o = MemoryMarshal.Cast<float, Vector<float>>(into);
            var min = new Vector<float>(Min);
            var kv = new Vector<float>(k);
            for (var j = 0; j < v.Length; j++) o[j] = (v[j] - min) * kv;
            i = v.Length * Vector<float>.Count;
        }
        for (; i < values.Length; i++) into[i] = (values[i] - Min) * k;
    }
}
