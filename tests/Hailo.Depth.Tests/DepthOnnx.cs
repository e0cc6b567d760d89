using Hailo.Media;
using Hailo.TestSupport;

namespace Hailo.Depth.Tests;

/// <summary>
/// Generated depth models with real I/O signatures whose output depends on the input, so the tests can compute the
/// right answer from the image: MiDaS-small-like ([1, 3, 256, 256] → [1, 256, 256], output = channel mean + 3, a
/// positive "inverse depth") and scdepthv3-like ([1, 3, 256, 320] → [1, 1, 256, 320], output = channel mean, a logit).
/// </summary>
internal static class DepthOnnx
{
    public static byte[] MidasLike()
    {
        var w = new OnnxWriter().Input("0", [1, 3, 256, 256]).Output("1079", [1, 256, 256]);
        var mean = w.Node("ReduceMean", ["0"], null, ("axes", new long[] { 1 }), ("keepdims", 0L));
        w.Node("Add", [mean, w.Constant([3f], [1])], "1079");
        return w.ToBytes();
    }

    /// <param name="firstPlaneOnly">Output the first input plane (3 × the mean of [R, 0, 0]) instead of the channel mean.</param>
    public static byte[] ScdepthLike(bool firstPlaneOnly = false)
    {
        var w = new OnnxWriter().Input("input", [1, 3, 256, 320]).Output("depth", [1, 1, 256, 320]);
        var x = firstPlaneOnly ? w.Node("Mul", ["input", w.Constant([3f, 0f, 0f], [1, 3, 1, 1])]) : "input";
        w.Node("ReduceMean", [x], "depth", ("axes", new long[] { 1 }), ("keepdims", 1L));
        return w.ToBytes();
    }

    /// <summary>The mean of a pixel's three normalised channels.</summary>
    public static float ChannelMean(Normalization n, byte r, byte g, byte b) =>
        (r * n.ScaleR + n.OffsetR + g * n.ScaleG + n.OffsetG + b * n.ScaleB + n.OffsetB) / 3;

    /// <summary>An image whose left half is one colour and right half another.</summary>
    public static RgbaImage Halves(int width, int height, (byte R, byte G, byte B) left, (byte R, byte G, byte B) right)
    {
        var px = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var c = x < width / 2 ? left : right;
                var i = (y * width + x) * 4;
                (px[i], px[i + 1], px[i + 2], px[i + 3]) = (c.R, c.G, c.B, 255);
            }
        return RgbaImage.FromRgba(px, width, height);
    }
}
