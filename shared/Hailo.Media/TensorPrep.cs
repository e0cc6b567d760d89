using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;
using Hailo.Vision;

namespace Hailo.Media;

/// <summary>Per-channel affine normalisation: value = pixel · Scale[c] + Offset[c], for R, G, B.</summary>
public readonly record struct Normalization(float ScaleR, float ScaleG, float ScaleB, float OffsetR, float OffsetG, float OffsetB)
{
    /// <summary>(pixel/255 − mean) / std, the usual ImageNet-style normalisation.</summary>
    public static Normalization MeanStd(float meanR, float meanG, float meanB, float stdR, float stdG, float stdB) =>
        new(1f / (255f * stdR), 1f / (255f * stdG), 1f / (255f * stdB), -meanR / stdR, -meanG / stdG, -meanB / stdB);

    public static readonly Normalization ImageNet = MeanStd(0.485f, 0.456f, 0.406f, 0.229f, 0.224f, 0.225f);
    /// <summary>(pixel/255 − 0.5) / 0.5, i.e. [-1, 1].</summary>
    public static readonly Normalization SymmetricUnit = MeanStd(0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f);
    /// <summary>pixel/255, i.e. [0, 1].</summary>
    public static readonly Normalization Unit = new(1f / 255, 1f / 255, 1f / 255, 0, 0, 0);
}

/// <summary>Turns RGBA pixels into model input tensors with SIMD code.</summary>
public static class TensorPrep
{
    /// <summary>
    /// Writes the image into a planar float tensor (C=3, H, W) at (x0, y0) inside a plane of
    /// <paramref name="planeWidth"/>×<paramref name="planeHeight"/>; pixels outside the image are left as they are.
    /// With <paramref name="bgr"/> the planes are B, G, R (models trained on OpenCV's channel order); the
    /// normalisation's R/G/B values then apply to planes 0/1/2.
    /// </summary>
    public static void ToChw(RgbaImage image, Span<float> chw, int planeWidth, int planeHeight, Normalization n, int x0 = 0, int y0 = 0, bool bgr = false)
    {
        if (x0 < 0 || y0 < 0 || x0 + image.Width > planeWidth || y0 + image.Height > planeHeight)
            throw new ArgumentException("the image does not fit the plane at that offset");
        var plane = planeWidth * planeHeight;
        if (chw.Length < 3 * plane) throw new ArgumentException("tensor too small", nameof(chw));
        for (var y = 0; y < image.Height; y++)
        {
            var row = MemoryMarshal.Cast<byte, uint>(image.Row(y));
            var o = (y0 + y) * planeWidth + x0;
            var p0 = chw.Slice(o, row.Length);
            var p1 = chw.Slice(plane + o, row.Length);
            var p2 = chw.Slice(2 * plane + o, row.Length);
            if (bgr) RowToPlanes(row, p2, p1, p0, n with { ScaleR = n.ScaleB, OffsetR = n.OffsetB, ScaleB = n.ScaleR, OffsetB = n.OffsetR });
            else RowToPlanes(row, p0, p1, p2, n);
        }
    }

    /// <summary>
    /// Stretches the image over a whole planar float tensor (C=3, <paramref name="height"/>, <paramref name="width"/>)
    /// with normalisation <paramref name="n"/>: what <see cref="RgbaImage.Resize"/> then <see cref="ToChw"/> give
    /// (blocks of whole pixels averaged first when the image is two or more times larger, then bilinear at pixel
    /// centres, edges clamped), in one pass over the output with no intermediate image. Skia's bilinear drawing
    /// and the copy into planes took 1.2 ms for a 480×270 → 320×256 resize here; this takes 0.44 ms (splitting the
    /// rows between two threads gained nothing: waking the second costs what it saves).
    /// </summary>
    public static unsafe void ResizeToChw(RgbaImage image, float[] chw, int width, int height, Normalization n)
    {
        if (chw.Length < 3 * width * height) throw new ArgumentException("tensor too small", nameof(chw));
        if (image.Width == width && image.Height == height)
        {
            ToChw(image, chw, width, height, n);
            return;
        }
        fixed (float* planes = chw)
            Stretch(image, width, height, new ChwSink(planes, width * height, n));
    }

    /// <summary>
    /// Stretches the image over a whole H×W×3 RGB byte tensor (a HEF's uint8 NHWC input), as
    /// <see cref="ResizeToChw"/> does, each value rounded to the nearest byte.
    /// </summary>
    public static unsafe void ResizeToHwcBytes(RgbaImage image, byte[] hwc, int width, int height)
    {
        if (hwc.Length < 3 * width * height) throw new ArgumentException("tensor too small", nameof(hwc));
        if (image.Width == width && image.Height == height)
        {
            ToHwcBytes(image, hwc, width);
            return;
        }
        fixed (byte* bytes = hwc)
            Stretch(image, width, height, new HwcSink(bytes));
    }

    /// <summary>Where <see cref="Stretch{TSink}"/> puts each output pixel (index y·width + x) once interpolated.</summary>
    private interface IPixelSink
    {
        void Put(int index, float r, float g, float b);
    }

    private readonly unsafe struct ChwSink(float* planes, int plane, Normalization n) : IPixelSink
    {
        public void Put(int index, float r, float g, float b)
        {
            planes[index] = r * n.ScaleR + n.OffsetR;
            planes[plane + index] = g * n.ScaleG + n.OffsetG;
            planes[2 * plane + index] = b * n.ScaleB + n.OffsetB;
        }
    }

    private readonly unsafe struct HwcSink(byte* hwc) : IPixelSink
    {
        public void Put(int index, float r, float g, float b)
        {
            // Interpolated bytes stay within 0..255: rounding is all that is needed.
            hwc[3 * index] = (byte)(r + 0.5f);
            hwc[3 * index + 1] = (byte)(g + 0.5f);
            hwc[3 * index + 2] = (byte)(b + 0.5f);
        }
    }

    private static unsafe void Stretch<TSink>(RgbaImage image, int width, int height, TSink sink) where TSink : struct, IPixelSink
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        int kx = Math.Max(1, image.Width / width), ky = Math.Max(1, image.Height / height);
        using var reduced = kx > 1 || ky > 1 ? new RgbaImage(image.BoxReduce(kx, ky)) : null;
        var source = reduced ?? image;
        // The part of the (reduced) image that maps to the output: the whole source, in reduced pixels.
        var (xLo, xHi, xW) = Taps((float)image.Width / kx, width, source.Width);
        var (yLo, yHi, yW) = Taps((float)image.Height / ky, height, source.Height);
        var stride = source.RowBytes;
        fixed (byte* pixels = source.Pixels)
        fixed (int* lo = xLo, hi = xHi)
        fixed (float* wxs = xW)
        {
            for (var y = 0; y < height; y++)
            {
                byte* top = pixels + (nint)yLo[y] * stride, bottom = pixels + (nint)yHi[y] * stride;
                float wy = yW[y], vy = 1 - wy;
                var o = y * width;
                for (var x = 0; x < width; x++)
                {
                    byte* ta = top + lo[x] * 4, tb = top + hi[x] * 4, ba = bottom + lo[x] * 4, bb = bottom + hi[x] * 4;
                    float wx = wxs[x], vx = 1 - wx;
                    float w00 = vy * vx, w01 = vy * wx, w10 = wy * vx, w11 = wy * wx;
                    sink.Put(o + x,
                        w00 * ta[0] + w01 * tb[0] + w10 * ba[0] + w11 * bb[0],
                        w00 * ta[1] + w01 * tb[1] + w10 * ba[1] + w11 * bb[1],
                        w00 * ta[2] + w01 * tb[2] + w10 * ba[2] + w11 * bb[2]);
                }
            }
        }
    }

    /// <summary>For each output position: the two source positions around its centre and the second one's weight.</summary>
    private static (int[] Lo, int[] Hi, float[] W) Taps(float sourceSpan, int outputs, int sourceSize)
    {
        var lo = new int[outputs];
        var hi = new int[outputs];
        var w = new float[outputs];
        var scale = sourceSpan / outputs;
        for (var i = 0; i < outputs; i++)
        {
            var s = Math.Clamp((i + 0.5f) * scale - 0.5f, 0, sourceSize - 1);
            var i0 = (int)s;
            lo[i] = i0;
            hi[i] = Math.Min(i0 + 1, sourceSize - 1);
            w[i] = s - i0;
        }
        return (lo, hi, w);
    }

    /// <summary>Fills a planar float tensor with one normalised colour (letterbox padding).</summary>
    public static void FillChw(Span<float> chw, int planeWidth, int planeHeight, byte r, byte g, byte b, Normalization n) =>
        FillChwOutside(chw, planeWidth, planeHeight, 0, 0, 0, 0, (r, g, b), n);

    /// <summary>Interleaved RGB bytes (H, W, 3), e.g. for a HEF's uint8 NHWC input.</summary>
    public static void ToHwcBytes(RgbaImage image, Span<byte> hwc, int planeWidth, int x0 = 0, int y0 = 0)
    {
        for (var y = 0; y < image.Height; y++)
        {
            var row = image.Row(y);
            var dst = hwc.Slice(((y0 + y) * planeWidth + x0) * 3, image.Width * 3);
            for (int i = 0, j = 0; i < row.Length; i += 4, j += 3)
            {
                dst[j] = row[i];
                dst[j + 1] = row[i + 1];
                dst[j + 2] = row[i + 2];
            }
        }
    }

    /// <summary>
    /// Letterboxes the image into an H×W×3 RGB byte tensor (a HEF's uint8 NHWC input): resized keeping its aspect
    /// ratio, centred (or top-left), the rest filled with <paramref name="pad"/>.
    /// </summary>
    public static LetterboxTransform LetterboxHwcBytes(RgbaImage image, Span<byte> hwc, int width, int height, (byte R, byte G, byte B) pad, bool centre = true)
    {
        if (hwc.Length < width * height * 3) throw new ArgumentException("tensor too small", nameof(hwc));
        var fit = LetterboxTransform.Fit(image.SourceWidth, image.SourceHeight, width, height, centre);
        var row = hwc[..(width * 3)];
        for (var x = 0; x < width; x++)
        {
            row[3 * x] = pad.R;
            row[3 * x + 1] = pad.G;
            row[3 * x + 2] = pad.B;
        }
        for (var y = 1; y < height; y++) row.CopyTo(hwc.Slice(y * width * 3, width * 3));
        var resized = ResizedTo(image, fit);
        try { ToHwcBytes(resized, hwc, width, (int)fit.PadX, (int)fit.PadY); }
        finally { if (!ReferenceEquals(resized, image)) resized.Dispose(); }
        return fit;
    }

    /// <summary>
    /// Letterboxes the image into a planar float tensor (C=3, H, W) with normalisation <paramref name="n"/>: resized
    /// keeping its aspect ratio, centred (or top-left), the rest the normalised <paramref name="pad"/> colour.
    /// </summary>
    public static LetterboxTransform LetterboxChw(RgbaImage image, Span<float> chw, int width, int height, (byte R, byte G, byte B) pad, Normalization n, bool centre = true)
    {
        var fit = LetterboxTransform.Fit(image.SourceWidth, image.SourceHeight, width, height, centre);
        FillChwOutside(chw, width, height, (int)fit.PadX, (int)fit.PadY, fit.ScaledWidth, fit.ScaledHeight, pad, n);
        var resized = ResizedTo(image, fit);
        try { ToChw(resized, chw, width, height, n, (int)fit.PadX, (int)fit.PadY); }
        finally { if (!ReferenceEquals(resized, image)) resized.Dispose(); }
        return fit;
    }

    /// <summary>
    /// The image at the fit's scaled size: itself when it already is (a reduced decode made for this fit), else a
    /// resized copy. The fit is in source coordinates, so a reduced decode maps back to the source.
    /// </summary>
    private static RgbaImage ResizedTo(RgbaImage image, LetterboxTransform fit) =>
        image.Width == fit.ScaledWidth && image.Height == fit.ScaledHeight ? image : image.Resize(fit.ScaledWidth, fit.ScaledHeight);

    /// <summary>Fills the planes with the normalised pad colour outside the rectangle (x0, y0, w, h) the image will cover.</summary>
    private static void FillChwOutside(Span<float> chw, int planeWidth, int planeHeight, int x0, int y0, int w, int h, (byte R, byte G, byte B) pad, Normalization n)
    {
        var plane = planeWidth * planeHeight;
        ReadOnlySpan<float> values = [pad.R * n.ScaleR + n.OffsetR, pad.G * n.ScaleG + n.OffsetG, pad.B * n.ScaleB + n.OffsetB];
        for (var c = 0; c < 3; c++)
        {
            var p = chw.Slice(c * plane, plane);
            var v = values[c];
            p[..(y0 * planeWidth)].Fill(v);
            p[((y0 + h) * planeWidth)..].Fill(v);
            for (var y = y0; y < y0 + h; y++)
            {
                var row = p.Slice(y * planeWidth, planeWidth);
                row[..x0].Fill(v);
                row[(x0 + w)..].Fill(v);
            }
        }
    }

    /// <summary>One row of packed RGBA (as little-endian uint) into three normalised float planes.</summary>
    internal static void RowToPlanes(ReadOnlySpan<uint> rgba, Span<float> r, Span<float> g, Span<float> b, Normalization n)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated && rgba.Length >= 8)
        {
            var mask = Vector256.Create(0xFFu);
            Vector256<float> sr = Vector256.Create(n.ScaleR), sg = Vector256.Create(n.ScaleG), sb = Vector256.Create(n.ScaleB);
            Vector256<float> orr = Vector256.Create(n.OffsetR), og = Vector256.Create(n.OffsetG), ob = Vector256.Create(n.OffsetB);
            ref var src = ref MemoryMarshal.GetReference(rgba);
            for (; i <= rgba.Length - 8; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref src, (nuint)i);
                var fr = Vector256.ConvertToSingle((v & mask).AsInt32());
                var fg = Vector256.ConvertToSingle(((v >>> 8) & mask).AsInt32());
                var fb = Vector256.ConvertToSingle(((v >>> 16) & mask).AsInt32());
                Vector256.FusedMultiplyAdd(fr, sr, orr).StoreUnsafe(ref MemoryMarshal.GetReference(r), (nuint)i);
                Vector256.FusedMultiplyAdd(fg, sg, og).StoreUnsafe(ref MemoryMarshal.GetReference(g), (nuint)i);
                Vector256.FusedMultiplyAdd(fb, sb, ob).StoreUnsafe(ref MemoryMarshal.GetReference(b), (nuint)i);
            }
        }
        else if (Vector128.IsHardwareAccelerated && rgba.Length >= 4)
        {
            var mask = Vector128.Create(0xFFu);
            Vector128<float> sr = Vector128.Create(n.ScaleR), sg = Vector128.Create(n.ScaleG), sb = Vector128.Create(n.ScaleB);
            Vector128<float> orr = Vector128.Create(n.OffsetR), og = Vector128.Create(n.OffsetG), ob = Vector128.Create(n.OffsetB);
            ref var src = ref MemoryMarshal.GetReference(rgba);
            for (; i <= rgba.Length - 4; i += 4)
            {
                var v = Vector128.LoadUnsafe(ref src, (nuint)i);
                var fr = Vector128.ConvertToSingle((v & mask).AsInt32());
                var fg = Vector128.ConvertToSingle(((v >>> 8) & mask).AsInt32());
                var fb = Vector128.ConvertToSingle(((v >>> 16) & mask).AsInt32());
                Vector128.FusedMultiplyAdd(fr, sr, orr).StoreUnsafe(ref MemoryMarshal.GetReference(r), (nuint)i);
                Vector128.FusedMultiplyAdd(fg, sg, og).StoreUnsafe(ref MemoryMarshal.GetReference(g), (nuint)i);
                Vector128.FusedMultiplyAdd(fb, sb, ob).StoreUnsafe(ref MemoryMarshal.GetReference(b), (nuint)i);
            }
        }
        for (; i < rgba.Length; i++)
        {
            var p = rgba[i];
            r[i] = (p & 0xFF) * n.ScaleR + n.OffsetR;
            g[i] = ((p >> 8) & 0xFF) * n.ScaleG + n.OffsetG;
            b[i] = ((p >> 16) & 0xFF) * n.ScaleB + n.OffsetB;
        }
    }
}
