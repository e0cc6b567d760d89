using System.Numerics;
using Xunit;

namespace Hailo.Face.Tests;

/// <summary>The 68-point → five-point reduction of <see cref="UltraFaceLandmarkDetector"/>, on points placed by hand.</summary>
public sealed class UltraFaceLandmarkTests
{
    [Fact]
    public void Five_points_are_the_eye_centres_the_nose_tip_and_the_mouth_corners_in_box_pixels()
    {
        var p = new float[136];
        void Set(int i, float x, float y) { p[2 * i] = x; p[2 * i + 1] = y; }
        for (var i = 0; i < 68; i++) Set(i, 0.5f, 0.9f); // everything else far from the expected answers
        for (var i = 36; i < 42; i++) Set(i, 0.2f + 0.02f * (i - 36), 0.3f + (i % 2 == 0 ? 0.01f : -0.01f));
        for (var i = 42; i < 48; i++) Set(i, 0.7f + 0.02f * (i - 42), 0.32f);
        Set(30, 0.5f, 0.55f);
        Set(48, 0.3f, 0.75f);
        Set(54, 0.7f, 0.76f);
        var five = new Vector2[5];
        // Box at (100, 50), 200 wide, 100 high: fractions scale by the box's own width and height.
        UltraFaceLandmarkDetector.FivePoints(p, 100, 50, 200, 100, five);
        Assert.Equal(100 + 200 * 0.25f, five[0].X, 3);
        Assert.Equal(50 + 100 * 0.3f, five[0].Y, 3);
        Assert.Equal(100 + 200 * 0.75f, five[1].X, 3);
        Assert.Equal(50 + 100 * 0.32f, five[1].Y, 3);
        Assert.Equal(new Vector2(200, 105), five[2]);
        Assert.Equal(new Vector2(160, 125), five[3]);
        Assert.Equal(new Vector2(240, 126), five[4]);
    }
}
