using Hailo.Media;
using Hailo.Vision;

namespace HailoPose.Pipeline;

/// <summary>Draws people over the image: box, skeleton limbs and keypoints whose confidence reaches the threshold.</summary>
internal static class PoseRenderer
{
    private static readonly Rgb BoxColour = new(0, 200, 83);
    private static readonly Rgb Face = new(255, 214, 0), Arms = new(0, 176, 255), Torso = new(255, 64, 129), Legs = new(255, 145, 0);

    private static Rgb LimbColour(int from, int to) => Math.Max(from, to) switch
    {
        <= 4 => Face,
        >= 13 => Legs,
        _ when from is 7 or 8 or 9 or 10 || to is 7 or 8 or 9 or 10 => Arms,
        _ => Torso,
    };

    public static byte[] Draw(RgbaImage image, IReadOnlyList<Person> people, float keypointThreshold, ImageFormat format)
    {
        using var canvas = new ImageAnnotator(image);
        var width = canvas.Thickness(2.5f);
        foreach (var p in people)
        {
            canvas.Rectangle(p.X1, p.Y1, p.X2, p.Y2, BoxColour, width);
            foreach (var (from, to) in CocoKeypoints.Skeleton)
            {
                Keypoint a = p.Keypoints[from], b = p.Keypoints[to];
                if (a.Confidence >= keypointThreshold && b.Confidence >= keypointThreshold)
                    canvas.Line(a.X, a.Y, b.X, b.Y, LimbColour(from, to), width);
            }
            for (var k = 0; k < p.Keypoints.Length; k++)
                if (p.Keypoints[k].Confidence >= keypointThreshold)
                    canvas.Dot(p.Keypoints[k].X, p.Keypoints[k].Y, width * 1.4f, k <= 4 ? Face : new Rgb(255, 255, 255));
        }
        return canvas.Encode(format);
    }
}
