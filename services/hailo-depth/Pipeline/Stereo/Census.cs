using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace HailoDepth.Pipeline.Stereo;

/// <summary>
/// The 9×7 census transform: for every pixel, one bit per neighbour in the 9-wide, 7-high window around it (62
/// neighbours) set when the neighbour is darker than the centre. Matching cost is then the Hamming distance of two
/// codes, which tolerates the gain and offset differences between two cameras. Pixels outside the image take the
/// value of the nearest border pixel.
/// </summary>
internal static class Census
{
    public const int HalfWidth = 4, HalfHeight = 3;
    /// <summary>The largest Hamming distance two codes can have.</summary>
    public const int MaxCost = (2 * HalfWidth + 1) * (2 * HalfHeight + 1) - 1;

    /// <summary>Codes of a whole image into <paramref name="codes"/> (at least width × height long).</summary>
    public static void Transform(byte[] grey, int width, int height, int threads, ulong[] codes, CancellationToken ct = default) =>
        Parallel.For(0, height, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads), CancellationToken = ct }, y => Row(grey, width, height, y, codes));

    public static ulong[] Transform(byte[] grey, int width, int height, int threads)
    {
        var codes = GC.AllocateUninitializedArray<ulong>(width * height);
        Transform(grey, width, height, threads, codes);
        return codes;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Row(byte[] grey, int width, int height, int y, ulong[] codes)
    {
        Span<int> rows = stackalloc int[2 * HalfHeight + 1];
        for (var dy = -HalfHeight; dy <= HalfHeight; dy++) rows[dy + HalfHeight] = Math.Clamp(y + dy, 0, height - 1) * width;
        var centreRow = y * width;
        Span<int> offsets = stackalloc int[MaxCost];
        var n = 0;
        for (var r = 0; r < rows.Length; r++)
            for (var dx = -HalfWidth; dx <= HalfWidth; dx++)
                if (dx != 0 || r != HalfHeight) offsets[n++] = rows[r] + dx;
        var x0 = 0;
        // Interior pixels 16 at a time where the CPU has 128-bit vectors (SSE2, NEON): each neighbour's comparison adds
        // one bit to one of the 8 bytes of the 16 codes, kept as 8 byte vectors and interleaved at the end.
        if (Vector128.IsHardwareAccelerated && width >= 2 * HalfWidth + 16)
        {
            Span<Vector128<byte>> planes = stackalloc Vector128<byte>[8];
            ref var g0 = ref grey[0];
            for (x0 = HalfWidth; x0 + 16 <= width - HalfWidth; x0 += 16)
            {
                var centre = Vector128.LoadUnsafe(ref g0, (nuint)(centreRow + x0));
                // The same bit order as the scalar loop: the first neighbour ends up in bit 61.
                for (var p = 0; p < 8; p++)
                {
                    var plane = Vector128<byte>.Zero;
                    for (var j = 8 * p; j < Math.Min(MaxCost, 8 * p + 8); j++)
                    {
                        var v = Vector128.LoadUnsafe(ref g0, (nuint)(offsets[j] + x0));
                        plane = plane + plane - Vector128.LessThan(v, centre);
                    }
                    planes[p] = plane;
                }
                Interleave(planes, codes.AsSpan(centreRow + x0, 16));
            }
        }
        for (var x = 0; x < width; x++)
        {
            if (x == HalfWidth && x0 > HalfWidth) x = x0;
            var c = grey[centreRow + x];
            ulong code = 0;
            if (x >= HalfWidth && x < width - HalfWidth)
            {
                ref var g = ref grey[x];
                foreach (var off in offsets) code = (code << 1) | (Unsafe.Add(ref g, off) < c ? 1UL : 0UL);
            }
            else
            {
                for (var r = 0; r < rows.Length; r++)
                {
                    var row = rows[r];
                    for (var dx = -HalfWidth; dx <= HalfWidth; dx++)
                    {
                        if (dx == 0 && r == HalfHeight) continue;
                        code = (code << 1) | (grey[row + Math.Clamp(x + dx, 0, width - 1)] < c ? 1UL : 0UL);
                    }
                }
            }
            codes[centreRow + x] = code;
        }
    }

    /// <summary>
    /// 16 codes from 8 byte vectors: plane p holds, per pixel, the 8 bits of neighbours 8p..8p+7 (the first in the
    /// highest bit). Plane 7 holds the last 6 neighbours in its low bits; the code's top bits come from plane 0.
    /// </summary>
    private static void Interleave(ReadOnlySpan<Vector128<byte>> planes, Span<ulong> codes)
    {
        // code = plane0 << 54 | plane1 << 46 | ... | plane6 << 6 | plane7 (6 bits).
        for (var i = 0; i < 16; i++)
        {
            ulong code = 0;
            for (var p = 0; p < 7; p++) code = (code << 8) | planes[p].GetElement(i);
            codes[i] = (code << 6) | planes[7].GetElement(i);
        }
    }
}
