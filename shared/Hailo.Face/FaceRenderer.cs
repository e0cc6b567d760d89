using Hailo.Media;

namespace Hailo.Face;

/// <summary>Draws faces over the image: each box, and its five landmarks when asked, optionally with a label colour per face.</summary>
public static class FaceRenderer
{
    public static readonly Rgb BoxColour = new(0, 200, 83);
    public static readonly Rgb UnknownColour = new(255, 64, 64);
    private static readonly Rgb[] LandmarkColours = [new(0, 176, 255), new(0, 176, 255), new(255, 214, 0), new(255, 64, 129), new(255, 64, 129)];

    public static byte[] Draw(RgbaImage image, IReadOnlyList<DetectedFace> faces, bool landmarks, ImageFormat format, Func<int, Rgb>? colourOf = null)
    {
        using var canvas = new ImageAnnotator(image);
        var width = canvas.Thickness(2.5f);
        for (var i = 0; i < faces.Count; i++)
        {
            var f = faces[i];
            canvas.Rectangle(f.X1, f.Y1, f.X2, f.Y2, colourOf?.Invoke(i) ?? BoxColour, width);
            if (!landmarks) continue;
            for (var k = 0; k < f.Landmarks.Length; k++) canvas.Dot(f.Landmarks[k].X, f.Landmarks[k].Y, width * 1.4f, LandmarkColours[k]);
        }
        return canvas.Encode(format);
    }
}
