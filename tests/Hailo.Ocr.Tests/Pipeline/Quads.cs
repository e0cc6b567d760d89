using System.Numerics;

namespace Hailo.Ocr.Tests.Pipeline;

/// <summary>Test inputs for text boxes: rotated rectangles and shuffled lists.</summary>
internal static class Quads
{
    /// <summary>The corners TL, TR, BR, BL of a w×h rectangle turned by <paramref name="degrees"/> (clockwise on screen) about its centre.</summary>
    public static Vector2[] RotatedRect(Vector2 centre, float w, float h, double degrees)
    {
        var a = degrees * Math.PI / 180;
        double c = Math.Cos(a), s = Math.Sin(a);
        Vector2 P(double x, double y) => new((float)(centre.X + x * c - y * s), (float)(centre.Y + x * s + y * c));
        return [P(-w / 2, -h / 2), P(w / 2, -h / 2), P(w / 2, h / 2), P(-w / 2, h / 2)];
    }

    public static void Shuffle<T>(Random rng, List<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = rng.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
