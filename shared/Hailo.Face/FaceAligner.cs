using System.Numerics;
using Hailo.Media;

namespace Hailo.Face;

/// <summary>
/// Aligns a face: the similarity transform taking its five landmarks onto the ArcFace template
/// (<see cref="FaceLandmarks.ArcFaceTemplate"/>), then a bilinear warp of the image through it into a 112×112 crop
/// (outside the image: black).
/// </summary>
public static class FaceAligner
{
    /// <summary>The transform from image pixels to the 112×112 crop, or null when the landmarks are degenerate.</summary>
    public static SimilarityTransform? TransformFor(ReadOnlySpan<Vector2> landmarks) =>
        SimilarityTransform.Estimate(landmarks, FaceLandmarks.ArcFaceTemplate);

    /// <summary>The aligned crop of a face; throws <see cref="ArgumentException"/> for degenerate landmarks.</summary>
    public static RgbaImage Align(RgbaImage image, ReadOnlySpan<Vector2> landmarks, int size = FaceLandmarks.AlignedSize)
    {
        var t = TransformFor(landmarks) ?? throw new ArgumentException("the landmarks coincide: no alignment");
        if (size != FaceLandmarks.AlignedSize)
        {
            var k = size / (double)FaceLandmarks.AlignedSize;
            t = new SimilarityTransform(t.A * k, t.B * k, t.Tx * k, t.Ty * k);
        }
        return Warp(image, t, size, size);
    }

    /// <summary>
    /// out(x, y) = image(T⁻¹(x, y)), sampled bilinearly at pixel centres (integer coordinates name pixel centres,
    /// as the landmarks do); samples outside the image are black. Coordinates are the image's source coordinates: a
    /// reduced decode is addressed through its scale.
    /// </summary>
    public static RgbaImage Warp(RgbaImage image, SimilarityTransform imageToOutput, int width, int height)
    {
        var inv = imageToOutput.Inverse();
        double sx = image.Width / (double)image.SourceWidth, sy = image.Height / (double)image.SourceHeight;
        var src = image.Pixels;
        var stride = image.RowBytes;
        int w = image.Width, h = image.Height;
        var dst = new byte[width * height * 4];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var (u, v) = inv.Apply(x, y);
                u *= sx;
                v *= sy;
                var o = (y * width + x) * 4;
                dst[o + 3] = 255;
                if (!(u > -1 && v > -1 && u < w && v < h)) continue;
                int x0 = (int)Math.Floor(u), y0 = (int)Math.Floor(v);
                double fx = u - x0, fy = v - y0;
                for (var c = 0; c < 3; c++)
                {
                    double p00 = Sample(src, stride, w, h, x0, y0, c), p10 = Sample(src, stride, w, h, x0 + 1, y0, c);
                    double p01 = Sample(src, stride, w, h, x0, y0 + 1, c), p11 = Sample(src, stride, w, h, x0 + 1, y0 + 1, c);
                    var value = (p00 * (1 - fx) + p10 * fx) * (1 - fy) + (p01 * (1 - fx) + p11 * fx) * fy;
                    dst[o + c] = (byte)Math.Clamp(Math.Round(value), 0, 255);
                }
            }
        return RgbaImage.FromRgba(dst, width, height);
    }

    private static double Sample(ReadOnlySpan<byte> src, int stride, int w, int h, int x, int y, int c) =>
        x < 0 || y < 0 || x >= w || y >= h ? 0 : src[y * stride + x * 4 + c];
}
