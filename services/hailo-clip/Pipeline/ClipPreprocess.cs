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
internal static class ClipPreprocess
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

    public static void ResizeCrop(RgbaImage image, Span<byte> output, int size = Size)
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
