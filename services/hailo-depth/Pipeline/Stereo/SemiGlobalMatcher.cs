using System.Numerics;
using System.Runtime.CompilerServices;

namespace HailoDepth.Pipeline.Stereo;

/// <summary>Why a pixel has no disparity (0: it has one).</summary>
internal enum StereoInvalid : byte
{
    Valid = 0,
    /// <summary>The best match lies outside the right image (the left border, D columns wide).</summary>
    NoMatch = 1,
    /// <summary>Another disparity is nearly as good (low texture, repeated patterns): the uniqueness test failed.</summary>
    Ambiguous = 2,
    /// <summary>The right image's best match points elsewhere: occluded in one view (left-right check).</summary>
    LeftRight = 3,
    /// <summary>A small island whose disparity differs from everything around it (speckle filter).</summary>
    Speckle = 4,
}

/// <summary>Matching parameters; disparities in pixels of the image given to the matcher.</summary>
internal sealed record SgmOptions
{
    public int MinDisparity { get; init; }
    public int NumDisparities { get; init; } = 64;
    /// <summary>Penalty for a disparity change of one pixel between neighbours (census cost units, 0-62).</summary>
    public int P1 { get; init; } = 7;
    /// <summary>Penalty for a larger jump; divided down where the image has an edge (P2 / (1 + |ΔI| / P2Gradient)).</summary>
    public int P2 { get; init; } = 100;
    /// <summary>Intensity step that halves P2 (0: P2 is not adapted).</summary>
    public int P2Gradient { get; init; } = 24;
    /// <summary>4 (horizontal and vertical) or 8 (and the diagonals).</summary>
    public int Paths { get; init; } = 8;
    /// <summary>The best cost must beat every other (non-neighbouring) disparity's by this many percent.</summary>
    public int UniquenessRatio { get; init; } = 5;
    /// <summary>Largest difference between the left and the right disparity at a pixel (negative: no check).</summary>
    public int LeftRightMaxDiff { get; init; } = 1;
    /// <summary>Connected regions of at most this many pixels whose disparity differs from the surroundings are dropped (0: off).</summary>
    public int SpeckleWindow { get; init; } = 100;
    /// <summary>Neighbours whose disparities differ by at most this belong to one region.</summary>
    public float SpeckleRange { get; init; } = 2;
    public int Threads { get; init; } = 1;
    /// <summary>Working memory (cost and aggregated cost of one band) per thread; larger images run in bands.</summary>
    public long BandBytes { get; init; } = 192L << 20;
}

/// <summary>A disparity map (NaN where invalid) with the reason per pixel, row-major.</summary>
internal sealed record DisparityMap(float[] Disparity, byte[] Invalid, int Width, int Height)
{
    public int ValidCount
    {
        get
        {
            var n = 0;
            foreach (var r in Invalid) if (r == 0) n++;
            return n;
        }
    }
}

/// <summary>
/// Semi-global matching (Hirschmüller 2008) of a rectified grey pair: census 9×7 costs, aggregated along 4 or 8
/// paths with the P1/P2 smoothness penalties (P2 lowered at intensity edges), winner-take-all with a uniqueness test,
/// parabola sub-pixel refinement, a left-right consistency check on the aggregated costs and a speckle filter.
/// Costs are 16-bit, aggregated a vector of disparities at a time (System.Numerics.Vector: AVX2, SSE or NEON).
/// The image is processed in horizontal bands, one per thread; each band's paths start <see cref="Margin"/> rows
/// outside it, so memory is bounded by <see cref="SgmOptions.BandBytes"/> per thread whatever the image size.
/// </summary>
internal static class SemiGlobalMatcher
{
    /// <summary>Rows above and below a band its vertical paths run through before reaching it.</summary>
    public const int Margin = 32;
    private const short Sentinel = 0x3000;

    public static DisparityMap Match(byte[] left, byte[] right, int width, int height, SgmOptions o)
    {
        if (left.Length != width * height || right.Length != width * height) throw new ArgumentException("image sizes differ");
        if (o.NumDisparities < 1) throw new ArgumentOutOfRangeException(nameof(o), "num_disparities must be at least 1");
        if (o.Paths is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(o), "paths must be 4 or 8");
        var threads = Math.Max(1, o.Threads);
        var censusL = Census.Transform(left, width, height, threads);
        var censusR = Census.Transform(right, width, height, threads);

        var disparity = GC.AllocateUninitializedArray<float>(width * height);
        var invalid = new byte[width * height];
        var d = o.NumDisparities;
        // One band's memory: the costs of its rows and margins, and the aggregated costs of its rows (both 16-bit).
        var rowBytes = 4L * width * d;
        var bandRows = (int)Math.Clamp((o.BandBytes - 2L * Margin * rowBytes / 2) / rowBytes, Math.Min(16, height), height);
        var bands = Math.Max(threads, (height + bandRows - 1) / bandRows);
        bands = Math.Min(bands, Math.Max(1, height / 8));
        var perBand = (height + bands - 1) / bands;
        bands = (height + perBand - 1) / perBand;

        Parallel.For(0, bands, new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => new Worker(width, d, perBand),
            (b, _, w) =>
            {
                var y0 = b * perBand;
                var y1 = Math.Min(height, y0 + perBand);
                w.Band(left, censusL, censusR, height, y0, y1, o, disparity, invalid);
                return w;
            },
            _ => { });
        if (o.SpeckleWindow > 0) SpeckleFilter.Apply(disparity, invalid, width, height, o.SpeckleWindow, o.SpeckleRange);
        return new DisparityMap(disparity, invalid, width, height);
    }

    /// <summary>One thread's buffers, reused for every band it takes.</summary>
    internal sealed class Worker
    {
        private readonly int _w, _d, _slot;
        private readonly short[] _cost, _sum;
        // Per direction: the previous and current row of path costs, one slot of D + 2 per pixel (a sentinel each
        // side of the disparities) and one slot of padding each side of the row; and each pixel's smallest path cost.
        private readonly short[][] _prev = new short[4][], _cur = new short[4][];
        private readonly short[][] _prevMin = new short[4][], _curMin = new short[4][];
        private readonly int[] _rightBest;
        private readonly short[] _rightCost;
        private readonly short[] _scratch;

        public Worker(int width, int d, int bandRows)
        {
            _w = width;
            _d = d;
            _slot = d + 2;
            _cost = GC.AllocateUninitializedArray<short>((bandRows + 2 * Margin) * width * d);
            _sum = GC.AllocateUninitializedArray<short>(bandRows * width * d);
            for (var i = 0; i < 4; i++)
            {
                _prev[i] = new short[(width + 2) * _slot];
                _cur[i] = new short[(width + 2) * _slot];
                _prevMin[i] = new short[width + 2];
                _curMin[i] = new short[width + 2];
            }
            _rightBest = new int[width];
            _rightCost = new short[width];
            _scratch = new short[d];
        }

        public void Band(byte[] grey, ulong[] censusL, ulong[] censusR, int height, int y0, int y1, SgmOptions o, float[] disparity, byte[] invalid)
        {
            var c0 = Math.Max(0, y0 - Margin);
            var c1 = Math.Min(height, y1 + Margin);
            for (var y = c0; y < c1; y++) Costs(censusL, censusR, y, o.MinDisparity, _cost.AsSpan((y - c0) * _w * _d, _w * _d));

            // Forward: left to right and the paths coming from the row above; backward: the mirror images.
            ReadOnlySpan<(int Dx, int Dy)> forward = o.Paths == 8 ? [(1, 0), (1, 1), (0, 1), (-1, 1)] : [(1, 0), (0, 1)];
            ReadOnlySpan<(int Dx, int Dy)> backward = o.Paths == 8 ? [(-1, 0), (-1, -1), (0, -1), (1, -1)] : [(-1, 0), (0, -1)];
            Pass(grey, c0, y0, y1, c0, o, forward, down: true);
            Pass(grey, c0, y0, y1, c1, o, backward, down: false);
            for (var y = y0; y < y1; y++) Select(y, y0, o, disparity, invalid);
        }

        /// <summary>
        /// Census Hamming distance per pixel and disparity. A match left of the right image costs what a chance match
        /// does (half the bits), so paths crossing the left border neither favour nor avoid those disparities.
        /// </summary>
        private void Costs(ulong[] censusL, ulong[] censusR, int y, int minD, Span<short> cost)
        {
            var row = y * _w;
            var d = _d;
            for (var x = 0; x < _w; x++)
            {
                var l = censusL[row + x];
                var c = cost.Slice(x * d, d);
                var xr = x - minD;
                for (var k = 0; k < d; k++, xr--)
                    c[k] = (uint)xr < (uint)_w ? (short)BitOperations.PopCount(l ^ censusR[row + xr]) : (short)((Census.MaxCost + 1) / 2);
            }
        }

        private unsafe void Pass(byte[] grey, int c0, int y0, int y1, int from, SgmOptions o, ReadOnlySpan<(int Dx, int Dy)> dirs, bool down)
        {
            var w = _w;
            var d = _d;
            var slot = _slot;
            var n = dirs.Length;
            for (var i = 0; i < n; i++)
            {
                Reset(_prev[i], _prevMin[i]);
                Reset(_cur[i], _curMin[i]);
            }
            var p1 = (short)o.P1;
            var vP1 = new Vector<short>(p1);
            var lanes = Vector<short>.Count;
            int yStart = down ? from : from - 1, yEnd = down ? y1 : y0 - 1, step = down ? 1 : -1;
            var prevs = stackalloc short*[4];
            var curs = stackalloc short*[4];
            for (var y = yStart; y != yEnd; y += step)
            {
                var gRow = y * w;
                var cRow = (y - c0) * w * d;
                var writeSum = y >= y0 && y < y1;
                var sRow = (y - y0) * w * d;
                var first = y == yStart;
                fixed (short* cost = _cost, sum = _sum, scratch = _scratch)
                fixed (short* prev0 = _prev[0], prev1 = _prev[1], prev2 = _prev[2], prev3 = _prev[3])
                fixed (short* cur0 = _cur[0], cur1 = _cur[1], cur2 = _cur[2], cur3 = _cur[3])
                {
                    prevs[0] = prev0; prevs[1] = prev1; prevs[2] = prev2; prevs[3] = prev3;
                    curs[0] = cur0; curs[1] = cur1; curs[2] = cur2; curs[3] = cur3;
                    for (var xi = 0; xi < w; xi++)
                    {
                        var x = down ? xi : w - 1 - xi;
                        var c = cost + cRow + x * d;
                        var s = writeSum ? sum + sRow + x * d : scratch;
                        var centre = grey[gRow + x];
                        for (var i = 0; i < n; i++)
                        {
                            var (dx, dy) = dirs[i];
                            var px = x - dx;
                            var py = y - dy;
                            var accumulate = i > 0 || !down;
                            var outSlot = curs[i] + (x + 1) * slot + 1;
                            short newMin;
                            // The path's previous pixel: in this row for horizontal paths, else in the previous row;
                            // a path enters the band (or the image) here where that pixel is outside.
                            if ((uint)px >= (uint)w || (dy != 0 && first)) newMin = Start(c, s, outSlot, d, accumulate);
                            else
                            {
                                var prevSlot = (dy == 0 ? curs[i] : prevs[i]) + (px + 1) * slot + 1;
                                var minPrev = dy == 0 ? _curMin[i][px + 1] : _prevMin[i][px + 1];
                                var gradient = Math.Abs(centre - grey[py * w + px]);
                                var p2 = o.P2Gradient > 0 ? o.P2 * o.P2Gradient / (o.P2Gradient + gradient) : o.P2;
                                newMin = Step(c, prevSlot, minPrev, (short)Math.Max(p1 + 1, p2), vP1, p1, s, outSlot, d, lanes, accumulate);
                            }
                            _curMin[i][x + 1] = newMin;
                        }
                    }
                }
                for (var i = 0; i < n; i++)
                {
                    if (dirs[i].Dy == 0) continue;
                    (_prev[i], _cur[i]) = (_cur[i], _prev[i]);
                    (_prevMin[i], _curMin[i]) = (_curMin[i], _prevMin[i]);
                }
            }
        }

        private void Reset(short[] row, short[] min)
        {
            Array.Clear(row);
            for (var x = 0; x < _w + 2; x++)
            {
                row[x * _slot] = Sentinel;
                row[x * _slot + _slot - 1] = Sentinel;
            }
            Array.Clear(min);
        }

        /// <summary>A path's first pixel: its cost is the matching cost.</summary>
        private static unsafe short Start(short* c, short* s, short* outSlot, int d, bool accumulate)
        {
            short min = short.MaxValue;
            for (var k = 0; k < d; k++)
            {
                var v = c[k];
                outSlot[k] = v;
                s[k] = accumulate ? (short)(s[k] + v) : v;
                if (v < min) min = v;
            }
            return min;
        }

        /// <summary>
        /// L(p, d) = C(p, d) + min(L(p−r, d), L(p−r, d±1) + P1, min L(p−r) + P2) − min L(p−r), added into the sum.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static unsafe short Step(short* c, short* prev, short minPrev, short p2, Vector<short> vP1, short p1, short* s, short* outSlot, int d, int lanes, bool accumulate)
        {
            var vMinPrev = new Vector<short>(minPrev);
            var vJump = new Vector<short>((short)(minPrev + p2));
            var vMin = new Vector<short>(short.MaxValue);
            var k = 0;
            for (; k <= d - lanes; k += lanes)
            {
                var same = Unsafe.ReadUnaligned<Vector<short>>(prev + k);
                var below = Unsafe.ReadUnaligned<Vector<short>>(prev + k - 1) + vP1;
                var above = Unsafe.ReadUnaligned<Vector<short>>(prev + k + 1) + vP1;
                var best = Vector.Min(Vector.Min(same, below), Vector.Min(above, vJump));
                var v = Unsafe.ReadUnaligned<Vector<short>>(c + k) + best - vMinPrev;
                Unsafe.WriteUnaligned(outSlot + k, v);
                vMin = Vector.Min(vMin, v);
                var sum = accumulate ? Unsafe.ReadUnaligned<Vector<short>>(s + k) + v : v;
                Unsafe.WriteUnaligned(s + k, sum);
            }
            short min = short.MaxValue;
            for (var j = 0; j < lanes; j++) if (vMin[j] < min) min = vMin[j];
            var jump = (short)(minPrev + p2);
            for (; k < d; k++)
            {
                var best = Math.Min(Math.Min(prev[k], (short)(prev[k - 1] + p1)), Math.Min((short)(prev[k + 1] + p1), jump));
                var v = (short)(c[k] + best - minPrev);
                outSlot[k] = v;
                if (v < min) min = v;
                s[k] = accumulate ? (short)(s[k] + v) : v;
            }
            return min;
        }

        /// <summary>The first smallest cost and its disparity index (the minimum found a vector at a time).</summary>
        internal static (int Index, short Cost) Lowest(ReadOnlySpan<short> s)
        {
            var lanes = Vector<short>.Count;
            short min = short.MaxValue;
            var k = 0;
            if (s.Length >= lanes)
            {
                var vMin = new Vector<short>(short.MaxValue);
                for (; k <= s.Length - lanes; k += lanes) vMin = Vector.Min(vMin, new Vector<short>(s[k..]));
                for (var j = 0; j < lanes; j++) if (vMin[j] < min) min = vMin[j];
            }
            for (; k < s.Length; k++) if (s[k] < min) min = s[k];
            return (s.IndexOf(min), min);
        }

        /// <summary>Whether a disparity other than best ± 1 costs at most <paramref name="limit"/> (the uniqueness test fails).</summary>
        internal static bool HasRival(ReadOnlySpan<short> s, int best, short limit)
        {
            // Every cost at most the limit, counted a vector at a time, less those of best and its two neighbours.
            var lanes = Vector<short>.Count;
            var count = 0;
            var k = 0;
            if (s.Length >= lanes)
            {
                var vLimit = new Vector<short>(limit);
                var hits = Vector<short>.Zero;
                for (; k <= s.Length - lanes; k += lanes) hits -= Vector.LessThanOrEqual(new Vector<short>(s[k..]), vLimit);
                for (var j = 0; j < lanes; j++) count += hits[j];
            }
            for (; k < s.Length; k++) if (s[k] <= limit) count++;
            for (var j = Math.Max(0, best - 1); j <= Math.Min(s.Length - 1, best + 1); j++) if (s[j] <= limit) count--;
            return count > 0;
        }

        /// <summary>Winner-take-all on one row's aggregated costs, uniqueness, sub-pixel parabola and the left-right check.</summary>
        private void Select(int y, int y0, SgmOptions o, float[] disparity, byte[] invalid)
        {
            var w = _w;
            var d = _d;
            var minD = o.MinDisparity;
            var sum = _sum.AsSpan((y - y0) * w * d, w * d);
            // The right image's disparity from the same costs: pixel xr of the right image meets left pixel xr + minD + k at k.
            _rightCost.AsSpan().Fill(short.MaxValue);
            _rightBest.AsSpan().Fill(-1);
            for (var x = 0; x < w; x++)
            {
                var s = sum.Slice(x * d, d);
                var xr = x - minD;
                for (var k = 0; k < d && xr >= 0; k++, xr--)
                {
                    if (xr >= w) continue;
                    if (s[k] < _rightCost[xr])
                    {
                        _rightCost[xr] = s[k];
                        _rightBest[xr] = k;
                    }
                }
            }
            var row = y * w;
            for (var x = 0; x < w; x++)
            {
                var s = sum.Slice(x * d, d);
                var (best, bestCost) = Lowest(s);
                var reason = StereoInvalid.Valid;
                if (x - minD - best < 0) reason = StereoInvalid.NoMatch;
                else if (o.UniquenessRatio > 0 && HasRival(s, best, (short)Math.Min(short.MaxValue, bestCost * 100 / (100 - o.UniquenessRatio)))) reason = StereoInvalid.Ambiguous;
                var value = (float)best;
                if (best > 0 && best < d - 1)
                {
                    int a = s[best - 1], b = s[best + 1];
                    var denominator = a + b - 2 * bestCost;
                    if (denominator > 0) value += (a - b) / (2f * denominator);
                }
                if (reason == StereoInvalid.Valid && o.LeftRightMaxDiff >= 0)
                {
                    var xr = x - minD - (int)MathF.Round(value);
                    if ((uint)xr < (uint)w && Math.Abs(_rightBest[xr] - best) > o.LeftRightMaxDiff) reason = StereoInvalid.LeftRight;
                }
                disparity[row + x] = reason == StereoInvalid.Valid ? value + minD : float.NaN;
                invalid[row + x] = (byte)reason;
            }
        }
    }
}
