using Xunit;

namespace Hailo.Vision.Tests;

/// <summary>Fitting an image into a model input keeping its aspect ratio, and mapping coordinates both ways.</summary>
public sealed class LetterboxTransformTests
{
    [Fact]
    public void Mapping_uses_the_rounded_size_on_each_axis()
    {
        // 1279×719 into 640×640: scale 0.50039, the resize makes 640×360, so the image's far corner is the far
        // corner of the scaled area exactly, which a single scale misses by 0.2 px vertically.
        var fit = LetterboxTransform.Fit(1279, 719, 640, 640);
        Assert.Equal((640, 360), (fit.ScaledWidth, fit.ScaledHeight));
        var (x, y) = fit.ToInput(1279, 719);
        Assert.Equal(640f, x, 1e-3f);
        Assert.Equal(fit.PadY + 360, y, 1e-3f);
        Assert.Equal((1279f, 719f), fit.ToOriginal(x, y));
        // A transform made without the source size keeps the single scale.
        var bare = new LetterboxTransform(0.5f, 0, 10, 100, 50, 100, 100);
        Assert.Equal((20f, 20f), bare.ToOriginal(10, 20));
    }

    [Theory]
    [InlineData(1280, 720, 640, 640, true)]
    [InlineData(720, 1280, 640, 640, true)]
    [InlineData(1279, 719, 640, 640, true)]
    [InlineData(333, 999, 640, 384, true)]
    [InlineData(1920, 1080, 960, 544, false)]
    [InlineData(17, 5, 640, 640, true)]
    public void Points_boxes_and_keypoints_round_trip(int w, int h, int inW, int inH, bool centre)
    {
        var fit = LetterboxTransform.Fit(w, h, inW, inH, centre);
        Assert.InRange(fit.ScaledWidth, 1, inW);
        Assert.InRange(fit.ScaledHeight, 1, inH);
        Assert.True(fit.ScaledWidth == inW || fit.ScaledHeight == inH, "one side fills the input");
        Assert.Equal(centre ? (inW - fit.ScaledWidth) / 2 : 0, fit.PadX);
        Assert.Equal(centre ? (inH - fit.ScaledHeight) / 2 : 0, fit.PadY);
        // The image's corners land on the corners of the scaled area.
        var whole = fit.ToInput(new Box(0, 0, w, h));
        Assert.Equal((fit.PadX, fit.PadY), (whole.X1, whole.Y1));
        Assert.Equal(fit.PadX + fit.ScaledWidth, whole.X2, 1e-3f);
        Assert.Equal(fit.PadY + fit.ScaledHeight, whole.Y2, 1e-3f);

        var rng = new Random(w * 31 + h);
        for (var i = 0; i < 100; i++)
        {
            float x = rng.NextSingle() * w, y = rng.NextSingle() * h;
            var (ix, iy) = fit.ToInput(x, y);
            Assert.InRange(ix, fit.PadX - 1e-3f, fit.PadX + fit.ScaledWidth + 1e-3f);
            Assert.InRange(iy, fit.PadY - 1e-3f, fit.PadY + fit.ScaledHeight + 1e-3f);
            var (ox, oy) = fit.ToOriginal(ix, iy);
            Assert.Equal(x, ox, 1e-3f * w);
            Assert.Equal(y, oy, 1e-3f * h);

            var box = new Box(x / 2, y / 2, x, y);
            var back = fit.ToOriginal(fit.ToInput(box));
            Assert.Equal(box.X1, back.X1, 1e-3f * w);
            Assert.Equal(box.Y2, back.Y2, 1e-3f * h);
            var k = fit.ToOriginal(new Keypoint(ix, iy, 0.25f));
            Assert.Equal((x, y, 0.25f), (k.X, k.Y, k.Confidence), new Near(1e-3f * Math.Max(w, h)));
        }
    }

    [Fact]
    public void Padding_maps_outside_the_image_and_clipping_brings_it_back()
    {
        // 1280×720 into 640×640: 640×360 at y 140; the input's top-left corner is above the image.
        var fit = LetterboxTransform.Fit(1280, 720, 640, 640);
        var outside = fit.ToOriginal(new Box(0, 0, 640, 640));
        Assert.Equal(new Box(0, -280, 1280, 1000), outside);
        Assert.Equal(new Box(0, 0, 1280, 720), outside.Clip(1280, 720));
        Assert.Equal(new Keypoint(0, 720, 0.5f), fit.ToOriginal(new Keypoint(-4, 639, 0.5f)).Clip(1280, 720));
    }

    private sealed class Near(float tolerance) : IEqualityComparer<(float, float, float)>
    {
        public bool Equals((float, float, float) a, (float, float, float) b) =>
            MathF.Abs(a.Item1 - b.Item1) <= tolerance && MathF.Abs(a.Item2 - b.Item2) <= tolerance && a.Item3 == b.Item3;
        public int GetHashCode((float, float, float) v) => 0;
    }
}
