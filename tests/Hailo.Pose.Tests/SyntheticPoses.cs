using Hailo.Media;
using Hailo.TestSupport;
using Hailo.Vision;
using HailoPose.Pipeline;

namespace Hailo.Pose.Tests;

/// <summary>A person whose answer is known: box, score and 17 keypoints (x, y, visibility) in some pixel space.</summary>
public sealed record KnownPerson(float X1, float Y1, float X2, float Y2, float Score, (float X, float Y, float V)[] Keypoints)
{
    /// <summary>A standing figure filling the box: head at the top, feet at the bottom, visibilities that vary.</summary>
    public static KnownPerson Standing(float x1, float y1, float x2, float y2, float score)
    {
        float w = x2 - x1, h = y2 - y1;
        (float U, float V)[] layout =
        [
            (0.50f, 0.08f), (0.45f, 0.06f), (0.55f, 0.06f), (0.40f, 0.08f), (0.60f, 0.08f), // face
            (0.30f, 0.22f), (0.70f, 0.22f), (0.22f, 0.40f), (0.78f, 0.40f), (0.15f, 0.55f), (0.85f, 0.55f), // arms
            (0.38f, 0.55f), (0.62f, 0.55f), (0.36f, 0.76f), (0.64f, 0.76f), (0.35f, 0.97f), (0.65f, 0.97f), // legs
        ];
        var kp = new (float, float, float)[17];
        for (var k = 0; k < 17; k++) kp[k] = (x1 + layout[k].U * w, y1 + layout[k].V * h, k % 5 == 3 ? 0.12f : 0.93f - k * 0.01f);
        return new KnownPerson(x1, y1, x2, y2, score, kp);
    }

    /// <summary>The same person in model-input pixels, as the service's letterbox places the image.</summary>
    public KnownPerson ToInput(LetterboxTransform fit)
    {
        var (a, b) = fit.ToInput(X1, Y1);
        var (c, d) = fit.ToInput(X2, Y2);
        return new KnownPerson(a, b, c, d, Score, Keypoints.Select(k =>
        {
            var (x, y) = fit.ToInput(k.X, k.Y);
            return (x, y, k.V);
        }).ToArray());
    }

    public (float Cx, float Cy) Centre => ((X1 + X2) / 2, (Y1 + Y2) / 2);
}

/// <summary>Asserts decoded people against known ones within a pixel tolerance.</summary>
internal static class PoseAssert
{
    public static void Matches(KnownPerson expected, Person actual, float tolerance, float scoreTolerance = 1.5f / 255)
    {
        void Near(float e, float a, string what)
        {
            if (MathF.Abs(e - a) > tolerance) throw new Xunit.Sdk.XunitException($"{what}: expected {e:0.###}, got {a:0.###} (tolerance {tolerance})");
        }
        Near(expected.X1, actual.X1, "x1");
        Near(expected.Y1, actual.Y1, "y1");
        Near(expected.X2, actual.X2, "x2");
        Near(expected.Y2, actual.Y2, "y2");
        if (MathF.Abs(expected.Score - actual.Score) > scoreTolerance) throw new Xunit.Sdk.XunitException($"score: expected {expected.Score}, got {actual.Score}");
        for (var k = 0; k < 17; k++)
        {
            Near(expected.Keypoints[k].X, actual.Keypoints[k].X, $"keypoint {k} x");
            Near(expected.Keypoints[k].Y, actual.Keypoints[k].Y, $"keypoint {k} y");
            if (MathF.Abs(expected.Keypoints[k].V - actual.Keypoints[k].Confidence) > 0.01f)
                throw new Xunit.Sdk.XunitException($"keypoint {k} visibility: expected {expected.Keypoints[k].V}, got {actual.Keypoints[k].Confidence}");
        }
    }

    /// <summary>Pairs each expected person with the decoded one nearest to its box centre and checks them all.</summary>
    public static void AllMatch(IReadOnlyList<KnownPerson> expected, IReadOnlyList<Person> actual, float tolerance)
    {
        Xunit.Assert.Equal(expected.Count, actual.Count);
        foreach (var e in expected)
        {
            var (cx, cy) = e.Centre;
            var best = actual.MinBy(a => MathF.Abs((a.X1 + a.X2) / 2 - cx) + MathF.Abs((a.Y1 + a.Y2) / 2 - cy))!;
            Matches(e, best, tolerance);
        }
    }
}
