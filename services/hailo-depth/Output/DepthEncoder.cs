using HailoDepth.Pipeline;

namespace HailoDepth.Output;

/// <summary>What a request gets back besides JSON numbers: the encoded depth files.</summary>
internal sealed record EncodedDepth(byte[]? Npz, byte[]? Npy, byte[]? Image, byte[]? Png16, double? Png16Scale, double? Png16Offset);

/// <summary>
/// Encodes a depth map as the output format asks: .npz (key "depth") for numpy/both, .npy for npy (both float32,
/// min-max normalised to 0-1 when normalize is on), a colormapped PNG for image/both and a 16-bit greyscale PNG for
/// depth_png_16. The colour image shows nearness: the near end of the map is the bright end of the colormap.
/// </summary>
internal static class DepthEncoder
{
    public static EncodedDepth Encode(DepthResult r, DepthModel spec, DepthService.Resolved o)
    {
        var (min, max) = Range(r.Depth);
        var wantsArray = o.OutputFormat is "numpy" or "both" or "npy";
        var wantsImage = o.OutputFormat is "image" or "both";
        float[]? normalized = null;
        if ((wantsArray && o.Normalize) || wantsImage) normalized = Normalize(r.Depth, min, max);

        byte[]? npz = null, npy = null, image = null, png16 = null;
        double? scale = null, offset = null;
        if (wantsArray)
        {
            var values = o.Normalize ? normalized! : r.Depth;
            if (o.OutputFormat == "npy") npy = NpyWriter.Npy(values, r.Height, r.Width);
            else npz = NpyWriter.Npz("depth", values, r.Height, r.Width);
        }
        if (wantsImage)
        {
            // Bright = near: the colour index runs over 1 − closeness. A palette PNG holding the colormap's table.
            var indices = new byte[normalized!.Length];
            Colormaps.Indices(normalized, indices, invert: true);
            image = PngWriter.Indexed8(indices, r.Width, r.Height, Colormaps.Table(o.Colormap));
        }
        if (o.OutputFormat == "depth_png_16") (png16, scale, offset) = Png16(r, spec, o.Normalize, min, max);
        return new EncodedDepth(npz, npy, image, png16, scale, offset);
    }

    /// <summary>
    /// 16-bit PNG with depth = offset + value·scale: millimetres for a metric model's raw depth, else min..max spread
    /// over 0..65535 (normalised: offset 0, scale 1/65535 of the 0-1 map).
    /// </summary>
    internal static (byte[] Png, double Scale, double Offset) Png16(DepthResult r, DepthModel spec, bool normalize, float min, float max)
    {
        var px = new ushort[r.Depth.Length];
        double scale, offset;
        if (!normalize && spec.Output == DepthOutput.Scdepth)
        {
            (scale, offset) = (0.001, 0);
            for (var i = 0; i < px.Length; i++) px[i] = (ushort)Math.Clamp(MathF.Round(r.Depth[i] * 1000), 0, 65535);
        }
        else
        {
            var range = max - min;
            (scale, offset) = normalize ? (1.0 / 65535, 0.0) : (range / 65535.0, min);
            var k = range > 0 ? 65535 / range : 0;
            for (var i = 0; i < px.Length; i++) px[i] = (ushort)Math.Clamp(MathF.Round((r.Depth[i] - min) * k), 0, 65535);
        }
        return (PngWriter.Gray16(px, r.Width, r.Height), scale, offset);
    }

    internal static (float Min, float Max) Range(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return (min, max);
    }

    /// <summary>(d − min) / (max − min); a flat map becomes all zeros.</summary>
    internal static float[] Normalize(ReadOnlySpan<float> values, float min, float max)
    {
        var result = new float[values.Length];
        var range = max - min;
        if (!(range > 0)) return result;
        var k = 1 / range;
        for (var i = 0; i < values.Length; i++) result[i] = (values[i] - min) * k;
        return result;
    }
}
