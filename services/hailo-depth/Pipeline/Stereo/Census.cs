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

    public static ulong[] Transform(byte[] grey, int width, int height, int threads)
    {
        var codes = GC.AllocateUninitializedArray<ulong>(width * height);
        Parallel.For(0, height, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, y => Row(grey, width, height, y, codes));
        return codes;
    }

    internal static void Row(byte[] grey, int width, int height, int y, ulong[] codes)
    {
        Span<int> rows = stackalloc int[2 * HalfHeight + 1];
        for (var dy = -HalfHeight; dy <= HalfHeight; dy++) rows[dy + HalfHeight] = Math.Clamp(y + dy, 0, height - 1) * width;
        var centreRow = y * width;
        for (var x = 0; x < width; x++)
        {
            var c = grey[centreRow + x];
            ulong code = 0;
            var inside = x >= HalfWidth && x < width - HalfWidth;
            for (var r = 0; r < rows.Length; r++)
            {
                var row = rows[r];
                for (var dx = -HalfWidth; dx <= HalfWidth; dx++)
                {
                    if (dx == 0 && r == HalfHeight) continue;
                    var v = inside ? grey[row + x + dx] : grey[row + Math.Clamp(x + dx, 0, width - 1)];
                    code = (code << 1) | (v < c ? 1UL : 0UL);
                }
            }
            codes[centreRow + x] = code;
        }
    }
}
