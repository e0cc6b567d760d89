using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using HailoDepth.Pipeline;

namespace HailoDepth.Output;

/// <summary>What a request gets back besides JSON numbers: the encoded depth files.</summary>
internal sealed record EncodedDepth(byte[]? Npz, byte[]? Npy, byte[]? Image, byte[]? Png16, double? Png16Scale, double? Png16Offset);

/// <summary>
/// Encodes a depth map as the output format asks: .npz (key "depth") for numpy/both, .npy for npy (both float32,
/// min-max normalised to 0-1 when normalize is on), a colormapped PNG for image/both and a 16-bit greyscale PNG for
/// depth_png_16. The colour image shows nearness: the near end of the map is the bright end of the colormap.
/// Values go straight from the map into each file's buffer; for "both" the array and the image are encoded at once.
/// </summary>
internal static class DepthEncoder
{
    /// <summary>Encodes as asked; .npz/.npy files come from <paramref name="files"/> when given (give them back when sent).</summary>
    public static EncodedDepth Encode(DepthResult r, DepthModel spec, DepthService.Resolved o, ArrayCache<byte>? files = null)
    {
        var (min, max) = Range(r.Depth);
        var wantsArray = o.OutputFormat is "numpy" or "both" or "npy";
        var wantsImage = o.OutputFormat is "image" or "both";

        byte[]? npz = null, npy = null, image = null, png16 = null;
        double? scale = null, offset = null;
        void Array()
        {
            var map = o.Normalize ? ValueMap.Normalized(min, max) : default;
            if (o.OutputFormat == "npy") npy = NpyWriter.Npy(r.Depth, r.Height, r.Width, map, files is null ? null : files.Rent);
            else npz = NpyWriter.Npz("depth", r.Depth, r.Height, r.Width, map, files is null ? null : files.Rent);
        }
        void Image() => image = ColourImage(r, o.Colormap, min, max);

        if (wantsArray && wantsImage) Parallel.Invoke(Array, Image);
        else if (wantsArray) Array();
        else if (wantsImage) Image();
        if (o.OutputFormat == "depth_png_16") (png16, scale, offset) = Png16(r, spec, o.Normalize, min, max);
        return new EncodedDepth(npz, npy, image, png16, scale, offset);
    }

    /// <summary>
    /// A palette PNG holding the colormap's table. Bright = near: a pixel's colour index is that of 1 − v, v the
    /// min-max normalised depth (a flat map is all v = 0).
    /// </summary>
    internal static byte[] ColourImage(DepthResult r, string colormap, float min, float max)
    {
        var range = max - min;
        var flat = !(range > 0);
        var k = flat ? 0 : 1 / range;
        var width = r.Width;
        var depth = r.Depth;
        return PngWriter.Indexed8(width, r.Height, Colormaps.Table(colormap), (y, row) =>
        {
            var src = depth.AsSpan(y * width, width);
            if (flat)
            {
                row.Fill((byte)Colormaps.Index(1));
                return;
            }
            Indices(src, min, k, row);
        });
    }

    /// <summary>
    /// row[x] = Colormaps.Index(1 − (d[x] − min)·k): the same float operations in the same order, eight or more at a
    /// time (float → int conversion saturates and NaN becomes 0, as Index does).
    /// </summary>
    internal static void Indices(ReadOnlySpan<float> depth, float min, float k, Span<byte> row)
    {
        var x = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var n = Vector<float>.Count;
            var minV = new Vector<float>(min);
            var kV = new Vector<float>(k);
            static Vector<uint> Index(Vector<float> d, Vector<float> minV, Vector<float> kV) =>
                Vector.AsVectorUInt32(Vector.Min(Vector.Max(Vector.ConvertToInt32((Vector<float>.One - (d - minV) * kV) * new Vector<float>(256f)), Vector<int>.Zero), new Vector<int>(255)));
            for (; x <= depth.Length - 4 * n; x += 4 * n)
            {
                var low = Vector.Narrow(Index(new Vector<float>(depth[x..]), minV, kV), Index(new Vector<float>(depth[(x + n)..]), minV, kV));
                var high = Vector.Narrow(Index(new Vector<float>(depth[(x + 2 * n)..]), minV, kV), Index(new Vector<float>(depth[(x + 3 * n)..]), minV, kV));
                Vector.Narrow(low, high).CopyTo(row[x..]);
            }
        }
        for (; x < depth.Length; x++) row[x] = (byte)Colormaps.Index(1 - (depth[x] - min) * k);
    }

    /// <summary>
    /// 16-bit PNG with depth = offset + value·scale: millimetres for a metric model's raw depth, else min..max spread
    /// over 0..65535 (normalised: offset 0, scale 1/65535 of the 0-1 map).
    /// </summary>
    internal static (byte[] Png, double Scale, double Offset) Png16(DepthResult r, DepthModel spec, bool normalize, float min, float max)
    {
        double scale, offset;
        float k, from;
        if (!normalize && spec.Output == DepthOutput.Scdepth)
        {
            (scale, offset) = (0.001, 0);
            (from, k) = (0, 1000);
        }
        else
        {
            var range = max - min;
            (scale, offset) = normalize ? (1.0 / 65535, 0.0) : (range / 65535.0, min);
            (from, k) = (min, range > 0 ? 65535 / range : 0);
        }
        var width = r.Width;
        var depth = r.Depth;
        var png = PngWriter.Gray16(width, r.Height, (y, row) =>
        {
            var src = depth.AsSpan(y * width, width);
            for (var x = 0; x < src.Length; x++)
                BinaryPrimitives.WriteUInt16BigEndian(row[(2 * x)..], (ushort)Math.Clamp(MathF.Round((src[x] - from) * k), 0, 65535));
        });
        return (png, scale, offset);
    }

    /// <summary>Smallest and largest value, NaN ignored (±∞ when there is no number).</summary>
    internal static (float Min, float Max) Range(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        var i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            // NaN lanes are replaced by the running extreme before comparing, so they never win.
            var v = MemoryMarshal.Cast<float, Vector<float>>(values);
            var lo = new Vector<float>(float.PositiveInfinity);
            var hi = new Vector<float>(float.NegativeInfinity);
            foreach (var x in v)
            {
                var isNumber = Vector.Equals(x, x);
                lo = Vector.Min(lo, Vector.ConditionalSelect(isNumber, x, lo));
                hi = Vector.Max(hi, Vector.ConditionalSelect(isNumber, x, hi));
            }
            for (var j = 0; j < Vector<float>.Count; j++)
            {
                if (lo[j] < min) min = lo[j];
                if (hi[j] > max) max = hi[j];
            }
            i = v.Length * Vector<float>.Count;
        }
        for (; i < values.Length; i++)
        {
            var x = values[i];
            if (x < min) min = x;
            if (x > max) max = x;
        }
        return (min, max);
    }
}
