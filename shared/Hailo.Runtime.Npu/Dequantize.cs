using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hailo.Runtime.Npu;

/// <summary>
/// Vectorised de-quantisation of HailoRT's native outputs: x = (q − zp) · scale, per tensor or per channel
/// (channel = element index mod channel count, i.e. the last dimension of NHWC).
/// </summary>
/// <remarks>
/// The vector code performs exactly the scalar operations (int → float conversion, one subtraction, one
/// multiplication, no FMA), so every result is bit-identical to <c>((float)q - zp) * scale</c>.
/// </remarks>
public static class Dequantize
{
    /// <summary>uint8 → float with one scale and zero point.</summary>
    public static void ToFloat(ReadOnlySpan<byte> source, float scale, float zeroPoint, Span<float> destination)
    {
        CheckLength(source.Length, destination.Length);
        U8Broadcast(ref MemoryMarshal.GetReference(source), ref MemoryMarshal.GetReference(destination), source.Length, scale, zeroPoint);
    }

    /// <summary>uint16 → float with one scale and zero point.</summary>
    public static void ToFloat(ReadOnlySpan<ushort> source, float scale, float zeroPoint, Span<float> destination)
    {
        CheckLength(source.Length, destination.Length);
        U16Broadcast(ref MemoryMarshal.GetReference(source), ref MemoryMarshal.GetReference(destination), source.Length, scale, zeroPoint);
    }

    /// <summary>uint8 → float with per-channel parameters (scales.Length = zeroPoints.Length = channel count).</summary>
    public static void ToFloatPerChannel(ReadOnlySpan<byte> source, ReadOnlySpan<float> scales, ReadOnlySpan<float> zeroPoints, Span<float> destination)
    {
        CheckLength(source.Length, destination.Length);
        CheckChannels(scales.Length, zeroPoints.Length);
        if (scales.Length == 1)
        {
            ToFloat(source, scales[0], zeroPoints[0], destination);
            return;
        }
        PerChannel(source, scales, zeroPoints, destination);
    }

    /// <summary>uint16 → float with per-channel parameters.</summary>
    public static void ToFloatPerChannel(ReadOnlySpan<ushort> source, ReadOnlySpan<float> scales, ReadOnlySpan<float> zeroPoints, Span<float> destination)
    {
        CheckLength(source.Length, destination.Length);
        CheckChannels(scales.Length, zeroPoints.Length);
        if (scales.Length == 1)
        {
            ToFloat(source, scales[0], zeroPoints[0], destination);
            return;
        }
        PerChannel(source, scales, zeroPoints, destination);
    }

    /// <summary>uint8 → float with a stream's quant infos: one entry = per tensor, several = per channel.</summary>
    public static void ToFloat(ReadOnlySpan<byte> source, ReadOnlySpan<QuantInfo> quant, Span<float> destination)
    {
        if (quant.Length == 1)
        {
            ToFloat(source, quant[0].Scale, quant[0].ZeroPoint, destination);
            return;
        }
        Split(quant, out var scales, out var zps);
        ToFloatPerChannel(source, scales, zps, destination);
    }

    /// <summary>uint16 → float with a stream's quant infos.</summary>
    public static void ToFloat(ReadOnlySpan<ushort> source, ReadOnlySpan<QuantInfo> quant, Span<float> destination)
    {
        if (quant.Length == 1)
        {
            ToFloat(source, quant[0].Scale, quant[0].ZeroPoint, destination);
            return;
        }
        Split(quant, out var scales, out var zps);
        ToFloatPerChannel(source, scales, zps, destination);
    }

    private static void Split(ReadOnlySpan<QuantInfo> quant, out float[] scales, out float[] zps)
    {
        if (quant.IsEmpty) throw new ArgumentException("at least one quant info is needed", nameof(quant));
        scales = new float[quant.Length];
        zps = new float[quant.Length];
        for (var i = 0; i < quant.Length; i++)
        {
            scales[i] = quant[i].Scale;
            zps[i] = quant[i].ZeroPoint;
        }
    }

    private static void CheckLength(int source, int destination)
    {
        if (destination < source)
            throw new ArgumentException($"destination holds {destination} floats but the source has {source} elements", nameof(destination));
    }

    private static void CheckChannels(int scales, int zps)
    {
        if (scales == 0 || scales != zps)
            throw new ArgumentException($"scales ({scales}) and zero points ({zps}) must be non-empty and of equal length");
    }

    // Per channel: the parameters are expanded to a period P (a multiple of the channel count, ideally also of
    // the vector width) and the data is processed block by block against the expanded arrays, so the inner loop
    // is the same element-wise vector kernel whatever the channel count.
    private static void PerChannel<T>(ReadOnlySpan<T> source, ReadOnlySpan<float> scales, ReadOnlySpan<float> zps, Span<float> destination)
        where T : unmanaged
    {
        var c = scales.Length;
        var period = c * (32 / Gcd(c, 32));
        if (period > 4096) period = c * Math.Max(1, 1024 / c);
        var scaleArr = ArrayPool<float>.Shared.Rent(period);
        var zpArr = ArrayPool<float>.Shared.Rent(period);
        try
        {
            for (var j = 0; j < period; j++)
            {
                scaleArr[j] = scales[j % c];
                zpArr[j] = zps[j % c];
            }
            for (var start = 0; start < source.Length; start += period)
            {
                var n = Math.Min(period, source.Length - start);
                ref var d = ref MemoryMarshal.GetReference(destination.Slice(start, n));
                if (typeof(T) == typeof(byte))
                    U8PerElement(ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(source.Slice(start, n))), ref d, n, scaleArr, zpArr);
                else
                    U16PerElement(ref Unsafe.As<T, ushort>(ref MemoryMarshal.GetReference(source.Slice(start, n))), ref d, n, scaleArr, zpArr);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scaleArr);
            ArrayPool<float>.Shared.Return(zpArr);
        }
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    // ------------------------------------------------------------------ kernels

    private static void U8Broadcast(ref byte src, ref float dst, int n, float scale, float zp)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated && n >= 32)
        {
            Vector256<float> vs = Vector256.Create(scale), vz = Vector256.Create(zp);
            for (; i <= n - 32; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                var (a, b) = Vector256.Widen(lo);
                var (c, d) = Vector256.Widen(hi);
                ((Vector256.ConvertToSingle(a.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)i);
                ((Vector256.ConvertToSingle(b.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)(i + 8));
                ((Vector256.ConvertToSingle(c.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)(i + 16));
                ((Vector256.ConvertToSingle(d.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)(i + 24));
            }
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 16)
        {
            Vector128<float> vs = Vector128.Create(scale), vz = Vector128.Create(zp);
            for (; i <= n - 16; i += 16)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                var (a, b) = Vector128.Widen(lo);
                var (c, d) = Vector128.Widen(hi);
                ((Vector128.ConvertToSingle(a.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)i);
                ((Vector128.ConvertToSingle(b.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)(i + 4));
                ((Vector128.ConvertToSingle(c.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)(i + 8));
                ((Vector128.ConvertToSingle(d.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)(i + 12));
            }
        }
        for (; i < n; i++) Unsafe.Add(ref dst, i) = (Unsafe.Add(ref src, i) - zp) * scale;
    }

    private static void U16Broadcast(ref ushort src, ref float dst, int n, float scale, float zp)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated && n >= 16)
        {
            Vector256<float> vs = Vector256.Create(scale), vz = Vector256.Create(zp);
            for (; i <= n - 16; i += 16)
            {
                var (a, b) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                ((Vector256.ConvertToSingle(a.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)i);
                ((Vector256.ConvertToSingle(b.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)(i + 8));
            }
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 8)
        {
            Vector128<float> vs = Vector128.Create(scale), vz = Vector128.Create(zp);
            for (; i <= n - 8; i += 8)
            {
                var (a, b) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                ((Vector128.ConvertToSingle(a.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)i);
                ((Vector128.ConvertToSingle(b.AsInt32()) - vz) * vs).StoreUnsafe(ref dst, (nuint)(i + 4));
            }
        }
        for (; i < n; i++) Unsafe.Add(ref dst, i) = (Unsafe.Add(ref src, i) - zp) * scale;
    }

    private static void U8PerElement(ref byte src, ref float dst, int n, float[] scales, float[] zps)
    {
        ref var s = ref MemoryMarshal.GetArrayDataReference(scales);
        ref var z = ref MemoryMarshal.GetArrayDataReference(zps);
        var i = 0;
        if (Vector256.IsHardwareAccelerated && n >= 32)
        {
            for (; i <= n - 32; i += 32)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                var (a, b) = Vector256.Widen(lo);
                var (c, d) = Vector256.Widen(hi);
                Apply(a, ref s, ref z, ref dst, i);
                Apply(b, ref s, ref z, ref dst, i + 8);
                Apply(c, ref s, ref z, ref dst, i + 16);
                Apply(d, ref s, ref z, ref dst, i + 24);
            }
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 16)
        {
            for (; i <= n - 16; i += 16)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                var (a, b) = Vector128.Widen(lo);
                var (c, d) = Vector128.Widen(hi);
                Apply(a, ref s, ref z, ref dst, i);
                Apply(b, ref s, ref z, ref dst, i + 4);
                Apply(c, ref s, ref z, ref dst, i + 8);
                Apply(d, ref s, ref z, ref dst, i + 12);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref dst, i) = (Unsafe.Add(ref src, i) - Unsafe.Add(ref z, i)) * Unsafe.Add(ref s, i);
    }

    private static void U16PerElement(ref ushort src, ref float dst, int n, float[] scales, float[] zps)
    {
        ref var s = ref MemoryMarshal.GetArrayDataReference(scales);
        ref var z = ref MemoryMarshal.GetArrayDataReference(zps);
        var i = 0;
        if (Vector256.IsHardwareAccelerated && n >= 16)
        {
            for (; i <= n - 16; i += 16)
            {
                var (a, b) = Vector256.Widen(Vector256.LoadUnsafe(ref src, (nuint)i));
                Apply(a, ref s, ref z, ref dst, i);
                Apply(b, ref s, ref z, ref dst, i + 8);
            }
        }
        if (Vector128.IsHardwareAccelerated && n - i >= 8)
        {
            for (; i <= n - 8; i += 8)
            {
                var (a, b) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                Apply(a, ref s, ref z, ref dst, i);
                Apply(b, ref s, ref z, ref dst, i + 4);
            }
        }
        for (; i < n; i++) Unsafe.Add(ref dst, i) = (Unsafe.Add(ref src, i) - Unsafe.Add(ref z, i)) * Unsafe.Add(ref s, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Apply(Vector256<uint> q, ref float s, ref float z, ref float dst, int i) =>
        ((Vector256.ConvertToSingle(q.AsInt32()) - Vector256.LoadUnsafe(ref z, (nuint)i)) * Vector256.LoadUnsafe(ref s, (nuint)i))
            .StoreUnsafe(ref dst, (nuint)i);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Apply(Vector128<uint> q, ref float s, ref float z, ref float dst, int i) =>
        ((Vector128.ConvertToSingle(q.AsInt32()) - Vector128.LoadUnsafe(ref z, (nuint)i)) * Vector128.LoadUnsafe(ref s, (nuint)i))
            .StoreUnsafe(ref dst, (nuint)i);
}
