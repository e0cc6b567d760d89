using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Hailo.Media;

namespace HailoClip.Pipeline;

/// <summary>
/// CLIP's image preprocessing: the shortest side resized to 224 with bicubic resampling as Pillow does it (Keys
/// cubic, a = −0.5, the kernel widened by the scale when shrinking, 22-bit fixed-point weights, the horizontal pass
/// first and rounded to 8 bits before the vertical one), the longer side to int(224 · long / short), then the centre
/// 224×224 (offsets rounded half to even, as Python's round), RGB. The NPU takes those bytes (its HEF normalises on
/// the chip); the ONNX towers take them as CHW floats (x / 255 − mean) / std with CLIP's mean and std.
/// Only the pixels inside the crop are computed: each output pixel depends on its own weights only, so the answer is
/// the same as resizing the whole image and cropping it.
/// </summary>
internal static unsafe class ClipPreprocess
{
    public const int Size = 224;
    public static readonly float[] Mean = [0.48145466f, 0.4578275f, 0.40821073f];
    public static readonly float[] Std = [0.26862954f, 0.26130258f, 0.27577711f];
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>The size torchvision's Resize(224) gives an image: the shortest side 224, the other int(224 · long / short).</summary>
    public static (int Width, int Height) ResizedSize(int width, int height, int size = Size)
    {
        if (width <= height)
            return width == size ? (width, height) : (size, (int)(size * (double)height / width));
        return height == size ? (width, height) : ((int)(size * (double)width / height), size);
    }

    /// <summary>Resize (shortest side to <paramref name="size"/>, bicubic) and centre crop into RGB bytes, H×W×3.</summary>
    public static byte[] ResizeCrop(RgbaImage image, int size = Size)
    {
        var output = new byte[size * size * 3];
        ResizeCrop(image, output, size);
        return output;
    }

    /// <summary>
    /// Resize and centre crop into <paramref name="output"/> (H×W×3). Pillow's integer arithmetic, vectorised: the
    /// horizontal pass takes a pixel's four channels in one 128-bit vector, the vertical pass 16 bytes of a row at a
    /// time; only the rows and columns that survive the crop are computed. Every sum is the same integer as in
    /// <see cref="ResizeCropReference"/>, so the bytes are identical.
    /// </summary>
    public static unsafe void ResizeCrop(RgbaImage image, Span<byte> output, int size = Size)
    {
        int w = image.Width, h = image.Height;
        if (output.Length < size * size * 3) throw new ArgumentException("the output is too small", nameof(output));
        var (rw, rh) = ResizedSize(w, h, size);
        var left = (int)Math.Round((rw - size) / 2.0, MidpointRounding.ToEven);
        var top = (int)Math.Round((rh - size) / 2.0, MidpointRounding.ToEven);
        var stride = image.RowBytes;
        var xs = rw != w ? Kernels.For(w, rw, left, size) : null;
        var ys = rh != h ? Kernels.For(h, rh, top, size) : null;
        int rowFirst, rows;
        if (ys is null) { rowFirst = top; rows = size; }
        else { rowFirst = ys.MinFirst; rows = ys.MaxEnd - ys.MinFirst; }

        var midStride = size * 4;
        var mid = System.Buffers.ArrayPool<byte>.Shared.Rent(rows * midStride + midStride);
        try
        {
            fixed (byte* src = image.Pixels)
            fixed (byte* m = mid)
            fixed (byte* dst = output)
            {
                var row = m + rows * midStride; // one spare row: the vertical pass's RGBA result before packing to RGB
                // Horizontal pass: the needed source rows → `size` RGBA pixels each, rounded to bytes as Pillow's first pass.
                if (xs is null)
                    for (var r = 0; r < rows; r++)
                        Buffer.MemoryCopy(src + (long)(rowFirst + r) * stride + left * 4, m + r * midStride, midStride, midStride);
                else
                    fixed (int* firsts = xs.First, counts = xs.Count, weights = xs.Weights)
                        for (var r = 0; r < rows; r++)
                            Horizontal(src + (long)(rowFirst + r) * stride, m + r * midStride, size, firsts, counts, weights, xs.Taps);

                // Vertical pass.
                for (var y = 0; y < size; y++)
                {
                    byte* rgba;
                    if (ys is null) rgba = m + (top + y - rowFirst) * midStride;
                    else
                    {
                        fixed (int* weights = ys.Weights)
                            Vertical(m + (ys.First[y] - rowFirst) * midStride, midStride, ys.Count[y], weights + y * ys.Taps, row);
                        rgba = row;
                    }
                    var o = dst + y * size * 3;
                    for (var x = 0; x < size; x++)
                    {
                        o[x * 3] = rgba[x * 4];
                        o[x * 3 + 1] = rgba[x * 4 + 1];
                        o[x * 3 + 2] = rgba[x * 4 + 2];
                    }
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(mid);
        }
    }

    private const int Half = 1 << (PrecisionBits - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Pixel(byte* p) =>
        Vector128.WidenLower(Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(p)).AsByte())).AsInt32();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Round8(Vector128<int> acc) =>
        Vector128.Min(Vector128.Max(Vector128.ShiftRightArithmetic(acc, PrecisionBits), Vector128<int>.Zero), Vector128.Create(255));

    /// <summary>One row: out pixel x = Σ weight · source pixel over its taps, all four channels in one vector.</summary>
    private static unsafe void Horizontal(byte* src, byte* dst, int count, int* firsts, int* counts, int* weights, int taps)
    {
        for (var x = 0; x < count; x++)
        {
            var p = src + firsts[x] * 4;
            var wk = weights + x * taps;
            var acc = Vector128.Create(Half);
            var n = counts[x];
            for (var k = 0; k < n; k++) acc += Pixel(p + k * 4) * wk[k];
            var b = Vector128.Narrow(Vector128.Narrow(Round8(acc).AsUInt32(), default).AsUInt16(), default);
            Unsafe.WriteUnaligned(dst + x * 4, b.AsUInt32().ToScalar());
        }
    }

    /// <summary>One output row: Σ weight · intermediate row over the taps, 16 bytes at a time.</summary>
    private static unsafe void Vertical(byte* first, int stride, int n, int* weights, byte* dst)
    {
        var j = 0;
        for (; j + 16 <= stride; j += 16)
        {
            Vector128<int> a0 = Vector128.Create(Half), a1 = a0, a2 = a0, a3 = a0;
            for (var k = 0; k < n; k++)
            {
                var v = Vector128.Load(first + k * stride + j);
                var wk = weights[k];
                var (lo, hi) = Vector128.Widen(v);
                var (l0, l1) = Vector128.Widen(lo);
                var (h0, h1) = Vector128.Widen(hi);
                a0 += l0.AsInt32() * wk;
                a1 += l1.AsInt32() * wk;
                a2 += h0.AsInt32() * wk;
                a3 += h1.AsInt32() * wk;
            }
            var lo16 = Vector128.Narrow(Round8(a0).AsUInt32(), Round8(a1).AsUInt32());
            var hi16 = Vector128.Narrow(Round8(a2).AsUInt32(), Round8(a3).AsUInt32());
            Vector128.Narrow(lo16, hi16).Store(dst + j);
        }
        for (; j < stride; j++)
        {
            var s = Half;
            for (var k = 0; k < n; k++) s += first[k * stride + j] * weights[k];
            dst[j] = Clip8(s);
        }
    }

    /// <summary>Pillow's coefficients flattened: per output its first source index, its tap count, and its weights at a fixed stride.</summary>
    private sealed class Kernels
    {
        public required int[] First, Count, Weights;
        public required int Taps, MinFirst, MaxEnd;

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, int, int, int), Kernels> Cache = new();

        /// <summary>Kernels for an in→out resize's outputs [from, from + count), kept for sizes seen before (a camera sends one size).</summary>
        public static Kernels For(int inSize, int outSize, int from, int count)
        {
            var key = (inSize, outSize, from, count);
            if (Cache.TryGetValue(key, out var k)) return k;
            k = Build(Coefficients(inSize, outSize, from, count));
            if (Cache.Count < 64) Cache.TryAdd(key, k);
            return k;
        }

        private static Kernels Build(Coefficient[] cs)
        {
            var taps = cs.Max(c => c.Weights.Length);
            var weights = new int[cs.Length * taps];
            for (var i = 0; i < cs.Length; i++) cs[i].Weights.CopyTo(weights, i * taps);
            return new Kernels
            {
                First = [.. cs.Select(c => c.First)],
                Count = [.. cs.Select(c => c.Weights.Length)],
                Weights = weights,
                Taps = taps,
                MinFirst = cs.Min(c => c.First),
                MaxEnd = cs.Max(c => c.First + c.Weights.Length),
            };
        }
    }

    /// <summary>
    /// The straightforward scalar form of <see cref="ResizeCrop(RgbaImage, Span{byte}, int)"/>, kept as the reference
    /// the fast form is tested against (both are integer arithmetic, so they agree to the bit).
    /// </summary>
    internal static void ResizeCropReference(RgbaImage image, Span<byte> output, int size = Size)
    {
        int w = image.Width, h = image.Height;
        var (rw, rh) = ResizedSize(w, h, size);
        var left = (int)Math.Round((rw - size) / 2.0, MidpointRounding.ToEven);
        var top = (int)Math.Round((rh - size) / 2.0, MidpointRounding.ToEven);
        var pixels = image.Pixels;
        var stride = image.RowBytes;

        var horizontal = rw != w;
        var vertical = rh != h;
        var xs = horizontal ? Coefficients(w, rw, left, size) : null;
        var ys = vertical ? Coefficients(h, rh, top, size) : null;

        // Source rows the vertical pass reads (all of the crop's rows when there is no vertical pass).
        int rowFirst, rowLast;
        if (ys is null) { rowFirst = top; rowLast = top + size - 1; }
        else { rowFirst = ys.Min(c => c.First); rowLast = ys.Max(c => c.First + c.Weights.Length - 1); }
        var rows = rowLast - rowFirst + 1;

        // Horizontal pass: the needed source rows → `size` columns of RGB, rounded to bytes as Pillow's first pass.
        var mid = new byte[rows * size * 3];
        for (var r = 0; r < rows; r++)
        {
            var src = pixels.Slice((rowFirst + r) * stride, w * 4);
            var dst = mid.AsSpan(r * size * 3, size * 3);
            for (var x = 0; x < size; x++)
            {
                if (xs is null)
                {
                    var p = (left + x) * 4;
                    dst[x * 3] = src[p];
                    dst[x * 3 + 1] = src[p + 1];
                    dst[x * 3 + 2] = src[p + 2];
                    continue;
                }
                var c = xs[x];
                int sr = 1 << (PrecisionBits - 1), sg = sr, sb = sr;
                for (var k = 0; k < c.Weights.Length; k++)
                {
                    var p = (c.First + k) * 4;
                    var wk = c.Weights[k];
                    sr += src[p] * wk;
                    sg += src[p + 1] * wk;
                    sb += src[p + 2] * wk;
                }
                dst[x * 3] = Clip8(sr);
                dst[x * 3 + 1] = Clip8(sg);
                dst[x * 3 + 2] = Clip8(sb);
            }
        }

        // Vertical pass.
        for (var y = 0; y < size; y++)
        {
            var dst = output.Slice(y * size * 3, size * 3);
            if (ys is null)
            {
                mid.AsSpan((top + y - rowFirst) * size * 3, size * 3).CopyTo(dst);
                continue;
            }
            var c = ys[y];
            for (var i = 0; i < size * 3; i++)
            {
                var s = 1 << (PrecisionBits - 1);
                for (var k = 0; k < c.Weights.Length; k++) s += mid[(c.First + k - rowFirst) * size * 3 + i] * c.Weights[k];
                dst[i] = Clip8(s);
            }
        }
    }

    private static byte Clip8(int v)
    {
        v >>= PrecisionBits;
        return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
    }

    /// <summary>One output pixel's source span and fixed-point weights.</summary>
    internal readonly record struct Coefficient(int First, int[] Weights);

    /// <summary>Pillow's bicubic coefficients for the outputs [from, from + count) of an in→out resize.</summary>
    internal static Coefficient[] Coefficients(int inSize, int outSize, int from, int count)
    {
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = 2.0 * filterScale;
        var result = new Coefficient[count];
        for (var i = 0; i < count; i++)
        {
            var xx = from + i;
            var center = (xx + 0.5) * scale;
            var ss = 1.0 / filterScale;
            var xmin = (int)(center - support + 0.5);
            if (xmin < 0) xmin = 0;
            var xmax = (int)(center + support + 0.5);
            if (xmax > inSize) xmax = inSize;
            xmax -= xmin;
            var k = new double[xmax];
            var total = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                var v = Cubic((x + xmin - center + 0.5) * ss);
                k[x] = v;
                total += v;
            }
            var weights = new int[xmax];
            for (var x = 0; x < xmax; x++)
            {
                var v = total != 0 ? k[x] / total : k[x];
                weights[x] = v < 0 ? (int)(-0.5 + v * (1 << PrecisionBits)) : (int)(0.5 + v * (1 << PrecisionBits));
            }
            result[i] = new Coefficient(xmin, weights);
        }
        return result;
    }

    /// <summary>Keys' cubic convolution kernel with a = −0.5 (Pillow's BICUBIC).</summary>
    internal static double Cubic(double x)
    {
        const double a = -0.5;
        if (x < 0) x = -x;
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    /// <summary>RGB bytes H×W×3 → CHW floats normalised with CLIP's mean and std.</summary>
    public static void Normalize(ReadOnlySpan<byte> hwc, Span<float> chw, int size = Size)
    {
        var plane = size * size;
        for (var c = 0; c < 3; c++)
        {
            var scale = 1f / (255f * Std[c]);
            var shift = Mean[c] / Std[c];
            var dst = chw.Slice(c * plane, plane);
            for (var i = 0; i < plane; i++) dst[i] = hwc[i * 3 + c] * scale - shift;
        }
    }
}
