using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

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
/// Costs are 16-bit; every path of a pass (4 of the 8) is aggregated in one loop over the disparities, a vector at a
/// time (System.Numerics.Vector: AVX2, SSE or NEON), and the disparity range is widened internally to a whole number
/// of vectors (the extra disparities are matched like the others but never chosen).
/// The image is processed in horizontal bands, one per thread; each band's paths start <see cref="Margin"/> rows
/// outside it, so memory is bounded by <see cref="SgmOptions.BandBytes"/> per thread whatever the image size.
/// </summary>
internal static class SemiGlobalMatcher
{
    /// <summary>Rows above and below a band its vertical paths run through before reaching it.</summary>
    public const int Margin = 16;
    private const short Sentinel = 0x3000;

    /// <summary>The internal disparity count: <paramref name="d"/> rounded up to whole vectors (at least 16 wide).</summary>
    internal static int Padded(int d)
    {
        var unit = Math.Max(16, Vector<short>.Count);
        return (d + unit - 1) / unit * unit;
    }

    public static DisparityMap Match(byte[] left, byte[] right, int width, int height, SgmOptions o, CancellationToken ct = default)
    {
        if (left.Length != width * height || right.Length != width * height) throw new ArgumentException("image sizes differ");
        if (o.NumDisparities < 1) throw new ArgumentOutOfRangeException(nameof(o), "num_disparities must be at least 1");
        if (o.Paths is not (4 or 5 or 8)) throw new ArgumentOutOfRangeException(nameof(o), "paths must be 4, 5 or 8");
        var threads = Math.Max(1, o.Threads);
        var censusL = ArrayPool<ulong>.Shared.Rent(width * height);
        var censusR = ArrayPool<ulong>.Shared.Rent(width * height);
        try
        {
            Census.Transform(left, width, height, threads, censusL, ct);
            Census.Transform(right, width, height, threads, censusR, ct);

            var disparity = GC.AllocateUninitializedArray<float>(width * height);
            var invalid = new byte[width * height];
            var dp = Padded(o.NumDisparities);
            // One band's memory: the costs of its rows and margins, and the aggregated costs of its rows (both 16-bit).
            // The 5-path mode computes each row's costs as it reaches the row and keeps one row of sums: its memory does
            // not grow with the band, so the image is split only between the threads.
            var rowByRow = o.Paths == 5;
            var rowBytes = 4L * width * dp;
            var bandRows = rowByRow ? height : (int)Math.Clamp((o.BandBytes - 2L * Margin * rowBytes / 2) / rowBytes, Math.Min(16, height), height);
            var bands = Math.Max(threads, (height + bandRows - 1) / bandRows);
            bands = Math.Min(bands, Math.Max(1, height / 8));
            var perBand = (height + bands - 1) / bands;
            bands = (height + perBand - 1) / perBand;

            var workers = new System.Collections.Concurrent.ConcurrentBag<Worker>();
            try
            {
                Parallel.For(0, bands, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct },
                    () => new Worker(width, o.NumDisparities, dp, perBand, rowByRow),
                    (b, _, w) =>
                    {
                        var y0 = b * perBand;
                        var y1 = Math.Min(height, y0 + perBand);
                        w.Band(left, censusL, censusR, height, y0, y1, o, disparity, invalid, ct);
                        return w;
                    },
                    workers.Add);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw new OperationCanceledException(ct);
            }
            finally
            {
                foreach (var w in workers) w.Dispose();
            }
            ct.ThrowIfCancellationRequested();
            if (o.SpeckleWindow > 0) SpeckleFilter.Apply(disparity, invalid, width, height, o.SpeckleWindow, o.SpeckleRange);
            return new DisparityMap(disparity, invalid, width, height);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(censusL);
            ArrayPool<ulong>.Shared.Return(censusR);
        }
    }

    /// <summary>The smallest of a vector's lanes (all lanes non-negative).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static short HorizontalMin(Vector<short> v)
    {
        if (Vector<short>.Count == 16 && Sse41.IsSupported)
        {
            var v256 = v.AsVector256();
            var m = Vector128.Min(v256.GetLower(), v256.GetUpper());
            return (short)Sse41.MinHorizontal(m.AsUInt16()).ToScalar();
        }
        if (Vector<short>.Count == 8)
        {
            var v128 = v.AsVector128();
            if (Sse41.IsSupported) return (short)Sse41.MinHorizontal(v128.AsUInt16()).ToScalar();
            if (AdvSimd.Arm64.IsSupported) return AdvSimd.Arm64.MinAcross(v128).ToScalar();
        }
        var min = short.MaxValue;
        for (var j = 0; j < Vector<short>.Count; j++) if (v[j] < min) min = v[j];
        return min;
    }

    /// <summary>One thread's buffers (rented), reused for every band it takes.</summary>
    internal sealed class Worker : IDisposable
    {
        private readonly int _w, _d, _dp, _slot;
        private readonly short[] _cost, _sum;
        // Per row path (the diagonals and the vertical): the previous and current row of path costs, one slot of
        // Dp + 2 per pixel (a sentinel each side of the disparities) and one zero slot each side of the row, where paths
        // enter the image; and each pixel's smallest path cost. The horizontal path needs only two slots.
        private readonly short[][] _prev = new short[3][], _cur = new short[3][];
        private readonly short[][] _prevMin = new short[3][], _curMin = new short[3][];
        private readonly short[] _horizontal, _reverse;
        private readonly short[] _rightCost, _rightBest;
        private readonly short[] _scratch;
        // One row's choice per pixel before the left-right check: disparity index, refined value, reason.
        private readonly short[] _best;
        private readonly float[] _value;
        private readonly byte[] _reason;
        private readonly short[] _p2 = new short[256];

        public Worker(int width, int d, int dp, int bandRows, bool rowByRow = false)
        {
            _w = width;
            _d = d;
            _dp = dp;
            _slot = dp + 2;
            _cost = ArrayPool<short>.Shared.Rent((rowByRow ? 1 : bandRows + 2 * Margin) * width * dp);
            _sum = ArrayPool<short>.Shared.Rent((rowByRow ? 1 : bandRows) * width * dp);
            for (var i = 0; i < 3; i++)
            {
                _prev[i] = new short[(width + 2) * _slot];
                _cur[i] = new short[(width + 2) * _slot];
                _prevMin[i] = new short[width + 2];
                _curMin[i] = new short[width + 2];
            }
            _horizontal = new short[2 * _slot];
            _reverse = new short[2 * _slot];
            _rightCost = new short[width + dp];
            _rightBest = new short[width + dp];
            _scratch = new short[dp];
            _best = new short[width];
            _value = new float[width];
            _reason = new byte[width];
        }

        public void Dispose()
        {
            ArrayPool<short>.Shared.Return(_cost);
            ArrayPool<short>.Shared.Return(_sum);
        }

        public void Band(byte[] grey, ulong[] censusL, ulong[] censusR, int height, int y0, int y1, SgmOptions o, float[] disparity, byte[] invalid, CancellationToken ct)
        {
            var c0 = Math.Max(0, y0 - Margin);
            // The 5-path mode needs no rows below the band: all its paths come from above or along the row.
            var c1 = o.Paths == 5 ? y1 : Math.Min(height, y1 + Margin);
            // ... and it computes each row's costs when it reaches the row (one row's buffer, kept in cache).
            if (o.Paths != 5)
                for (var y = c0; y < c1; y++) Costs(censusL, censusR, y, o.MinDisparity, _cost.AsSpan((y - c0) * _w * _dp, _w * _dp));
            for (var g = 0; g < _p2.Length; g++)
                _p2[g] = (short)Math.Max(o.P1 + 1, o.P2Gradient > 0 ? o.P2 * o.P2Gradient / (o.P2Gradient + g) : o.P2);
            ct.ThrowIfCancellationRequested();
            // Forward: left to right and the paths coming from the row above, their sum stored; backward: the mirror
            // images, each pixel's total (in L1) chosen from at once, and the row's left-right check at its end.
            // The 5-path mode: one pass; after each row's four forward paths, the right-to-left path along the row
            // completes the sum and the row is chosen from (OpenCV's MODE_SGBM makes the same choice of paths).
            Pass(grey, c0, y0, y1, c0, o, down: true, ct, disparity, invalid, censusL, censusR);
            if (o.Paths != 5) Pass(grey, c0, y0, y1, c1, o, down: false, ct, disparity, invalid, censusL, censusR);

        }

        /// <summary>
        /// Census Hamming distance per pixel and disparity. A match left of the right image costs what a chance match
        /// does (half the bits), so paths crossing the left border neither favour nor avoid those disparities.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private unsafe void Costs(ulong[] censusL, ulong[] censusR, int y, int minD, Span<short> cost)
        {
            var row = y * _w;
            var dp = _dp;
            var w = _w;
            const short chance = (Census.MaxCost + 1) / 2;
            fixed (ulong* l = &censusL[row], r = &censusR[row])
            fixed (short* c0 = cost)
            {
                for (var x = 0; x < w; x++)
                {
                    var code = l[x];
                    var c = c0 + (long)x * dp;
                    // Disparity k matches right pixel x - minD - k: inside the image for k in [x - minD - w + 1, x - minD].
                    var kLo = Math.Clamp(x - minD - w + 1, 0, dp);
                    var kHi = Math.Clamp(x - minD + 1, kLo, dp);
                    new Span<short>(c, kLo).Fill(chance);
                    var rr = r + (x - minD - kLo);
                    var k = kLo;
                    for (; k + 4 <= kHi; k += 4, rr -= 4)
                    {
                        c[k] = (short)BitOperations.PopCount(code ^ rr[0]);
                        c[k + 1] = (short)BitOperations.PopCount(code ^ rr[-1]);
                        c[k + 2] = (short)BitOperations.PopCount(code ^ rr[-2]);
                        c[k + 3] = (short)BitOperations.PopCount(code ^ rr[-3]);
                    }
                    for (; k < kHi; k++, rr--) c[k] = (short)BitOperations.PopCount(code ^ rr[0]);
                    new Span<short>(c + kHi, dp - kHi).Fill(chance);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private unsafe void Pass(byte[] grey, int c0, int y0, int y1, int from, SgmOptions o, bool down, CancellationToken ct, float[] disparity, byte[] invalid,
            ulong[] censusL, ulong[] censusR)
        {
            var w = _w;
            var h = grey.Length / w;
            var dp = _dp;
            var slot = _slot;
            for (var i = 0; i < 3; i++)
            {
                Reset(_prev[i], _prevMin[i]);
                Reset(_cur[i], _curMin[i]);
            }
            Array.Clear(_horizontal);
            _horizontal[0] = _horizontal[slot - 1] = _horizontal[slot] = _horizontal[2 * slot - 1] = Sentinel;
            var eight = o.Paths != 4;
            var five = o.Paths == 5;
            var vP1 = new Vector<short>((short)o.P1);
            var lanes = Vector<short>.Count;
            int yStart = down ? from : from - 1, yEnd = down ? y1 : y0 - 1, step = down ? 1 : -1;
            // The previous pixel of each path: horizontal (x - sx, y), diagonal (x - sx, y - sy), vertical (x, y - sy),
            // anti-diagonal (x + sx, y - sy).
            var sx = step;
            fixed (short* cost = _cost, sum = _sum, scratch = _scratch, hz = _horizontal, p2Table = _p2)
            fixed (byte* g = grey)
            {
                for (var y = yStart; y != yEnd; y += step)
                {
                    ct.ThrowIfCancellationRequested();
                    var gRow = g + y * w;
                    var gPrev = g + Math.Clamp(y - step, 0, h - 1) * w;
                    short* cRow;
                    if (five)
                    {
                        Costs(censusL, censusR, y, o.MinDisparity, new Span<short>(cost, w * dp));
                        cRow = cost;
                    }
                    else cRow = cost + (long)(y - c0) * w * dp;
                    var inBand = y >= y0 && y < y1;
                    if (inBand && !down) StartRow();
                    // The 5-path mode reads a row's sum right after writing it: one row's buffer, kept in cache.
                    var sRow = sum + (five ? 0 : (long)(y - y0) * w * dp);
                    fixed (short* prevA = _prev[0], prevV = _prev[1], prevB = _prev[2])
                    fixed (short* curA = _cur[0], curV = _cur[1], curB = _cur[2])
                    fixed (short* minA = _prevMin[0], minV = _prevMin[1], minB = _prevMin[2])
                    fixed (short* outMinA = _curMin[0], outMinV = _curMin[1], outMinB = _curMin[2])
                    {
                        short minH = 0;
                        for (var xi = 0; xi < w; xi++)
                        {
                            var x = down ? xi : w - 1 - xi;
                            var c = cRow + (long)x * dp;
                            // Forward: the sum of the band's rows is stored; backward: added to it in the scratch slot.
                            var sIn = inBand && !down ? sRow + (long)x * dp : null;
                            var sOut = inBand && down ? sRow + (long)x * dp : scratch;
                            int centre = gRow[x];
                            var xa = x - sx;
                            var xb = x + sx;
                            var inA = (uint)xa < (uint)w;
                            var inB = (uint)xb < (uint)w;
                            // Paths entering the image here see a zero previous pixel: their cost is the matching cost.
                            var hPrev = hz + (xi & 1) * slot + 1;
                            var hOut = hz + ((xi + 1) & 1) * slot + 1;
                            var pH = p2Table[inA ? Math.Abs(centre - gRow[xa]) : 0];
                            var mH = minH;
                            if (!eight)
                            {
                                var pV = p2Table[Math.Abs(centre - gPrev[x])];
                                var mV = minV[x + 1];
                                var (nh, nv) = Step2(c, sIn, sOut, dp, lanes, vP1,
                                    hPrev, hOut, mH, pH,
                                    prevV + (x + 1) * slot + 1, curV + (x + 1) * slot + 1, mV, pV);
                                minH = nh;
                                outMinV[x + 1] = nv;
                                if (sIn != null) Choose(new ReadOnlySpan<short>(scratch, _d), x, o);
                                continue;
                            }
                            var pA = p2Table[inA ? Math.Abs(centre - gPrev[xa]) : 0];
                            var pVv = p2Table[Math.Abs(centre - gPrev[x])];
                            var pB = p2Table[inB ? Math.Abs(centre - gPrev[xb]) : 0];
                            var (n0, n1, n2, n3) = Step4(c, sIn, sOut, dp, lanes, vP1,
                                hPrev, hOut, mH, pH,
                                prevA + (xa + 1) * slot + 1, curA + (x + 1) * slot + 1, minA[xa + 1], pA,
                                prevV + (x + 1) * slot + 1, curV + (x + 1) * slot + 1, minV[x + 1], pVv,
                                prevB + (xb + 1) * slot + 1, curB + (x + 1) * slot + 1, minB[xb + 1], pB);
                            minH = n0;
                            outMinA[x + 1] = n1;
                            outMinV[x + 1] = n2;
                            outMinB[x + 1] = n3;
                            if (sIn != null) Choose(new ReadOnlySpan<short>(scratch, _d), x, o);
                        }
                    }
                    if (inBand && five) ReverseRow(cRow, sRow, gRow, o, vP1, lanes);
                    if (inBand && (!down || five)) FinishRow(y, o, disparity, invalid);
                    for (var i = 0; i < 3; i++)
                    {
                        (_prev[i], _cur[i]) = (_cur[i], _prev[i]);
                        (_prevMin[i], _curMin[i]) = (_curMin[i], _prevMin[i]);
                    }
                    // The horizontal path starts again at the row's first pixel.
                    new Span<short>(hz + 1, slot - 2).Clear();
                    new Span<short>(hz + slot + 1, slot - 2).Clear();
                }
            }
        }

        /// <summary>The 5-path mode's last path, right to left along row y, added to the forward sum and chosen from; then the row's output.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private unsafe void ReverseRow(short* cRow, short* sRow, byte* gRow, SgmOptions o, Vector<short> vP1, int lanes)
        {
            var w = _w;
            var dp = _dp;
            var slot = _slot;
            StartRow();
            Array.Clear(_reverse);
            _reverse[0] = _reverse[slot - 1] = _reverse[slot] = _reverse[2 * slot - 1] = Sentinel;
            fixed (short* rv = _reverse, scratch = _scratch, p2Table = _p2)
            {
                short m = 0;
                for (var xi = 0; xi < w; xi++)
                {
                    var x = w - 1 - xi;
                    var prev = rv + (xi & 1) * slot + 1;
                    var cur = rv + ((xi + 1) & 1) * slot + 1;
                    var p = p2Table[x + 1 < w ? Math.Abs(gRow[x] - gRow[x + 1]) : 0];
                    m = Step1(cRow + (long)x * dp, sRow + (long)x * dp, scratch, dp, lanes, vP1, prev, cur, m, p);
                    Choose(new ReadOnlySpan<short>(scratch, _d), x, o);
                }
            }
        }

        /// <summary>One path's step, added to <paramref name="sIn"/> into <paramref name="sOut"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static unsafe short Step1(short* c, short* sIn, short* sOut, int dp, int lanes, Vector<short> vP1, short* prev0, short* out0, short m0, short p0)
        {
            Vector<short> vm0 = new(m0), j0 = new((short)(m0 + p0));
            var min0 = new Vector<short>(short.MaxValue);
            for (var k = 0; k < dp; k += lanes)
            {
                var l0 = Path(Unsafe.ReadUnaligned<Vector<short>>(c + k), prev0, k, vP1, vm0, j0);
                Unsafe.WriteUnaligned(out0 + k, l0);
                min0 = Vector.Min(min0, l0);
                Unsafe.WriteUnaligned(sOut + k, l0 + Unsafe.ReadUnaligned<Vector<short>>(sIn + k));
            }
            return HorizontalMin(min0);
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

        /// <summary>
        /// One path's step for a vector of disparities: L(p, d) = C(p, d) + min(L(p−r, d), L(p−r, d±1) + P1,
        /// min L(p−r) + P2) − min L(p−r).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe Vector<short> Path(Vector<short> c, short* prev, int k, Vector<short> vP1, Vector<short> minPrev, Vector<short> jump)
        {
            var same = Unsafe.ReadUnaligned<Vector<short>>(prev + k);
            var below = Unsafe.ReadUnaligned<Vector<short>>(prev + k - 1) + vP1;
            var above = Unsafe.ReadUnaligned<Vector<short>>(prev + k + 1) + vP1;
            return c + Vector.Min(Vector.Min(same, below), Vector.Min(above, jump)) - minPrev;
        }

        /// <summary>Four paths' step at one pixel, their sum (plus <paramref name="sIn"/>'s when given) written to <paramref name="sOut"/>; returns each path's smallest cost.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static unsafe (short, short, short, short) Step4(short* c, short* sIn, short* sOut, int dp, int lanes, Vector<short> vP1,
            short* prev0, short* out0, short m0, short p0,
            short* prev1, short* out1, short m1, short p1,
            short* prev2, short* out2, short m2, short p2,
            short* prev3, short* out3, short m3, short p3)
        {
            Vector<short> vm0 = new(m0), vm1 = new(m1), vm2 = new(m2), vm3 = new(m3);
            Vector<short> j0 = new((short)(m0 + p0)), j1 = new((short)(m1 + p1)), j2 = new((short)(m2 + p2)), j3 = new((short)(m3 + p3));
            var max = new Vector<short>(short.MaxValue);
            Vector<short> min0 = max, min1 = max, min2 = max, min3 = max;
            for (var k = 0; k < dp; k += lanes)
            {
                var cv = Unsafe.ReadUnaligned<Vector<short>>(c + k);
                var l0 = Path(cv, prev0, k, vP1, vm0, j0);
                var l1 = Path(cv, prev1, k, vP1, vm1, j1);
                var l2 = Path(cv, prev2, k, vP1, vm2, j2);
                var l3 = Path(cv, prev3, k, vP1, vm3, j3);
                Unsafe.WriteUnaligned(out0 + k, l0);
                Unsafe.WriteUnaligned(out1 + k, l1);
                Unsafe.WriteUnaligned(out2 + k, l2);
                Unsafe.WriteUnaligned(out3 + k, l3);
                min0 = Vector.Min(min0, l0);
                min1 = Vector.Min(min1, l1);
                min2 = Vector.Min(min2, l2);
                min3 = Vector.Min(min3, l3);
                var total = (l0 + l1) + (l2 + l3);
                if (sIn != null) total += Unsafe.ReadUnaligned<Vector<short>>(sIn + k);
                Unsafe.WriteUnaligned(sOut + k, total);
            }
            return (HorizontalMin(min0), HorizontalMin(min1), HorizontalMin(min2), HorizontalMin(min3));
        }

        /// <summary>Two paths' step (the 4-path mode: horizontal and vertical).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static unsafe (short, short) Step2(short* c, short* sIn, short* sOut, int dp, int lanes, Vector<short> vP1,
            short* prev0, short* out0, short m0, short p0,
            short* prev1, short* out1, short m1, short p1)
        {
            Vector<short> vm0 = new(m0), vm1 = new(m1);
            Vector<short> j0 = new((short)(m0 + p0)), j1 = new((short)(m1 + p1));
            var max = new Vector<short>(short.MaxValue);
            Vector<short> min0 = max, min1 = max;
            for (var k = 0; k < dp; k += lanes)
            {
                var cv = Unsafe.ReadUnaligned<Vector<short>>(c + k);
                var l0 = Path(cv, prev0, k, vP1, vm0, j0);
                var l1 = Path(cv, prev1, k, vP1, vm1, j1);
                Unsafe.WriteUnaligned(out0 + k, l0);
                Unsafe.WriteUnaligned(out1 + k, l1);
                min0 = Vector.Min(min0, l0);
                min1 = Vector.Min(min1, l1);
                var total = l0 + l1;
                if (sIn != null) total += Unsafe.ReadUnaligned<Vector<short>>(sIn + k);
                Unsafe.WriteUnaligned(sOut + k, total);
            }
            return (HorizontalMin(min0), HorizontalMin(min1));
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
                min = HorizontalMin(vMin);
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
                count = Vector.Sum(hits);
            }
            for (; k < s.Length; k++) if (s[k] <= limit) count++;
            for (var j = Math.Max(0, best - 1); j <= Math.Min(s.Length - 1, best + 1); j++) if (s[j] <= limit) count--;
            return count > 0;
        }

        /// <summary>Clears the right view's minima before a row's pixels are chosen from.</summary>
        private void StartRow()
        {
            _rightCost.AsSpan().Fill(short.MaxValue);
            _rightBest.AsSpan().Fill(-1);
        }

        /// <summary>
        /// Winner-take-all on one pixel's aggregated costs, uniqueness and the sub-pixel parabola; and the right view's
        /// minima from the same costs: right pixel xr meets left pixel xr + minD + k at k. Those are kept in reversed
        /// order, index (w − 1 − x) + k for left pixel x and disparity k, so that one left pixel's disparities update
        /// consecutive entries a vector at a time. Pixels come right to left, so ties keep the later (smaller) k.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Choose(ReadOnlySpan<short> s, int x, SgmOptions o)
        {
            var w = _w;
            var d = _d;
            var minD = o.MinDisparity;
            var lanes = Vector<short>.Count;
            var full = d / lanes * lanes;
            var rc = _rightCost.AsSpan(w - 1 - x, d);
            var rb = _rightBest.AsSpan(w - 1 - x, d);
            var kv = Vector<short>.Indices;
            var step = new Vector<short>((short)lanes);
            var k = 0;
            for (; k < full; k += lanes, kv += step)
            {
                var sv = new Vector<short>(s[k..]);
                var cv = new Vector<short>(rc[k..]);
                var better = Vector.LessThanOrEqual(sv, cv);
                Vector.Min(sv, cv).CopyTo(rc[k..]);
                Vector.ConditionalSelect(better, kv, new Vector<short>(rb[k..])).CopyTo(rb[k..]);
            }
            for (; k < d; k++)
            {
                if (s[k] <= rc[k])
                {
                    rc[k] = s[k];
                    rb[k] = (short)k;
                }
            }

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
            _best[x] = (short)best;
            _value[x] = value;
            _reason[x] = (byte)reason;
        }

        /// <summary>The left-right check once the whole row's right minima are known, and the row's output.</summary>
        private void FinishRow(int y, SgmOptions o, float[] disparity, byte[] invalid)
        {
            var w = _w;
            var minD = o.MinDisparity;
            var row = y * w;
            for (var x = 0; x < w; x++)
            {
                var reason = (StereoInvalid)_reason[x];
                var value = _value[x];
                if (reason == StereoInvalid.Valid && o.LeftRightMaxDiff >= 0)
                {
                    var xr = x - minD - (int)MathF.Round(value);
                    // Reversed index of right pixel xr: (w - 1 - x) + k with x = xr + minD + k.
                    if ((uint)xr < (uint)w && Math.Abs(_rightBest[w - 1 - xr - minD] - _best[x]) > o.LeftRightMaxDiff) reason = StereoInvalid.LeftRight;
                }
                disparity[row + x] = reason == StereoInvalid.Valid ? value + minD : float.NaN;
                invalid[row + x] = (byte)reason;
            }
        }
    }
}

