using System.Numerics;
using Hailo.Media;
using Xunit;

namespace Hailo.Face.Tests;

public sealed class FaceAlignerTests
{
    private static readonly (byte R, byte G, byte B)[] Colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)];

    /// <summary>A grey image with a coloured 9×9 square around each of the given points.</summary>
    internal static RgbaImage Marked(int width, int height, Vector2[] points)
    {
        var rgba = new byte[width * height * 4];
        for (var i = 0; i < rgba.Length; i += 4) (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (128, 128, 128, 255);
        for (var k = 0; k < points.Length; k++)
            for (var y = (int)points[k].Y - 4; y <= (int)points[k].Y + 4; y++)
                for (var x = (int)points[k].X - 4; x <= (int)points[k].X + 4; x++)
                {
                    var o = (y * width + x) * 4;
                    (rgba[o], rgba[o + 1], rgba[o + 2]) = Colours[k];
                }
        return RgbaImage.FromRgba(rgba, width, height);
    }

    [Theory]
    [InlineData(2.0, 0.0)]
    [InlineData(3.1, 25.0)]
    [InlineData(1.5, -40.0)]
    public void Landmarks_land_on_the_ArcFace_template_in_the_112_crop(double scale, double degrees)
    {
        var placed = SimilarityTransform.FromScaleAngle(scale, degrees * Math.PI / 180, 200, 150);
        var landmarks = FaceLandmarks.ArcFaceTemplate.Select(placed.Apply).ToArray();
        using var image = Marked(640, 600, landmarks);
        using var crop = FaceAligner.Align(image, landmarks);
        Assert.Equal((112, 112), (crop.Width, crop.Height));
        for (var k = 0; k < 5; k++)
        {
            var p = FaceLandmarks.ArcFaceTemplate[k];
            var o = (int)MathF.Round(p.Y) * crop.RowBytes + (int)MathF.Round(p.X) * 4;
            var px = crop.Pixels;
            Assert.Equal(Colours[k], (px[o], px[o + 1], px[o + 2]));
        }
        // Between the eyes the image's grey shows.
        var mid = 51 * crop.RowBytes + 56 * 4;
        Assert.Equal(128, crop.Pixels[mid]);
    }

    [Fact]
    public void Outside_the_image_is_black()
    {
        // Landmarks near the top-left corner: part of the crop falls off the image.
        var placed = SimilarityTransform.FromScaleAngle(1, 0, -40, -40);
        var landmarks = FaceLandmarks.ArcFaceTemplate.Select(placed.Apply).ToArray();
        using var image = RgbaImage.Filled(200, 200, 200, 200, 200);
        using var crop = FaceAligner.Align(image, landmarks);
        Assert.Equal(0, crop.Pixels[0]);
        Assert.Equal(200, crop.Pixels[111 * crop.RowBytes + 111 * 4]);
    }

    [Fact]
    public void Degenerate_landmarks_are_refused()
    {
        using var image = RgbaImage.Filled(10, 10, 0, 0, 0);
        Assert.Throws<ArgumentException>(() => FaceAligner.Align(image, Enumerable.Repeat(new Vector2(3, 3), 5).ToArray()));
    }
}
