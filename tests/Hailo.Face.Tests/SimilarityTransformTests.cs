using System.Numerics;
using Xunit;

namespace Hailo.Face.Tests;

public sealed class SimilarityTransformTests
{
    private static Vector2[] Map(SimilarityTransform t, Vector2[] points) => points.Select(t.Apply).ToArray();

    [Theory]
    [InlineData(1.0, 0.0, 0.0, 0.0)]
    [InlineData(2.5, 0.3, 100.0, -40.0)]
    [InlineData(0.4, -1.2, -7.5, 300.0)]
    [InlineData(3.0, Math.PI * 0.9, 12.0, 12.0)]
    public void Estimate_recovers_a_known_transform_exactly(double scale, double angle, double tx, double ty)
    {
        var known = SimilarityTransform.FromScaleAngle(scale, angle, tx, ty);
        var source = FaceLandmarks.ArcFaceTemplate;
        var t = SimilarityTransform.Estimate(source, Map(known, source))!.Value;
        Assert.Equal(known.A, t.A, 4);
        Assert.Equal(known.B, t.B, 4);
        Assert.Equal(known.Tx, t.Tx, 2);
        Assert.Equal(known.Ty, t.Ty, 2);
        Assert.Equal(scale, t.Scale, 4);
    }

    [Fact]
    public void Alignment_transform_is_the_inverse_of_the_one_that_placed_the_face()
    {
        // A face in an image = the template scaled ×2.2, turned 20°, moved to (310, 140).
        var placed = SimilarityTransform.FromScaleAngle(2.2, 20 * Math.PI / 180, 310, 140);
        var landmarks = Map(placed, FaceLandmarks.ArcFaceTemplate);
        var align = FaceAligner.TransformFor(landmarks)!.Value;
        var inverse = placed.Inverse();
        Assert.Equal(inverse.A, align.A, 5);
        Assert.Equal(inverse.B, align.B, 5);
        Assert.Equal(inverse.Tx, align.Tx, 3);
        Assert.Equal(inverse.Ty, align.Ty, 3);
        Assert.True(align.Rms(landmarks, FaceLandmarks.ArcFaceTemplate) < 1e-3);
    }

    [Fact]
    public void With_noise_the_estimate_is_the_least_squares_optimum()
    {
        var rng = new Random(3);
        var known = SimilarityTransform.FromScaleAngle(1.7, -0.4, 50, 80);
        var source = FaceLandmarks.ArcFaceTemplate;
        var target = Map(known, source).Select(p => p + new Vector2((float)(rng.NextDouble() * 4 - 2), (float)(rng.NextDouble() * 4 - 2))).ToArray();
        var t = SimilarityTransform.Estimate(source, target)!.Value;
        var best = t.Rms(source, target);
        Assert.True(best > 0);
        Assert.True(best <= known.Rms(source, target));
        // Any small change of any parameter fits worse.
        foreach (var d in new[] { (1e-3, 0.0, 0.0, 0.0), (-1e-3, 0.0, 0.0, 0.0), (0.0, 1e-3, 0.0, 0.0), (0.0, -1e-3, 0.0, 0.0), (0.0, 0.0, 0.05, 0.0), (0.0, 0.0, 0.0, -0.05) })
            Assert.True(new SimilarityTransform(t.A + d.Item1, t.B + d.Item2, t.Tx + d.Item3, t.Ty + d.Item4).Rms(source, target) > best);
    }

    [Fact]
    public void A_mirrored_face_gets_no_reflection()
    {
        var source = FaceLandmarks.ArcFaceTemplate;
        var mirrored = source.Select(p => new Vector2(112 - p.X, p.Y)).ToArray();
        var t = SimilarityTransform.Estimate(source, mirrored)!.Value;
        // A similarity cannot mirror: the fit is poor instead, and the matrix keeps a positive determinant.
        Assert.True(t.A * t.A + t.B * t.B > 0);
        Assert.True(t.Rms(source, mirrored) > 1);
    }

    [Fact]
    public void Coincident_points_have_no_transform()
    {
        var same = Enumerable.Repeat(new Vector2(5, 5), 5).ToArray();
        Assert.Null(SimilarityTransform.Estimate(same, FaceLandmarks.ArcFaceTemplate));
        Assert.Null(SimilarityTransform.Estimate([new Vector2(float.NaN, 1), new Vector2(2, 2)], [new Vector2(0, 0), new Vector2(1, 1)]));
        Assert.Throws<ArgumentException>(() => SimilarityTransform.Estimate(same, FaceLandmarks.ArcFaceTemplate[..3]));
    }

    [Fact]
    public void Inverse_undoes_the_transform()
    {
        var t = SimilarityTransform.FromScaleAngle(0.8, 2.0, -30, 45);
        var p = new Vector2(17, -4);
        var back = t.Inverse().Apply(t.Apply(p));
        Assert.Equal(p.X, back.X, 3);
        Assert.Equal(p.Y, back.Y, 3);
    }
}
