using Hailo.Media;
using Hailo.Runtime.Onnx;
using HailoDepth;
using HailoDepth.Pipeline;
using Xunit;

namespace Hailo.Depth.Tests.Pipeline;

/// <summary>
/// The CPU adapter and pipeline on generated models whose output is a known function of the input: proves loading,
/// the resize to the input, normalisation and channel order, the depth formula the manifest names and the resize back.
/// Says nothing about depth quality (that needs the real MiDaS or scdepthv3 weights).
/// </summary>
public sealed class OnnxDepthModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depth-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private DepthPipeline Pipeline(byte[] model, DepthModel spec)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".onnx");
        File.WriteAllBytes(path, model);
        return new DepthPipeline(new OnnxDepthModel(new OnnxModel(path, 1), spec), spec);
    }

    [Theory]
    [InlineData(200, 100, 30)]
    [InlineData(0, 0, 0)]
    [InlineData(255, 255, 255)]
    public void Midas_like_uniform_image_gives_the_inverse_of_the_imagenet_normalised_mean(byte r, byte g, byte b)
    {
        using var p = Pipeline(DepthOnnx.MidasLike(), DepthModels.MidasSmall);
        Assert.Equal((256, 256), p.Spec is { } s ? (s.InputWidth, s.InputHeight) : default);
        using var image = RgbaImage.Filled(640, 480, r, g, b);
        var result = p.Run(image);
        var expected = 1 / (DepthOnnx.ChannelMean(Normalization.ImageNet, r, g, b) + 3);
        Assert.Equal((640, 480), (result.Width, result.Height));
        Assert.All(result.Depth, d => Assert.Equal(expected, d, 1e-4f));
        Assert.Equal(expected, result.Stats!.Median, 1e-4f);
    }

    [Fact]
    public void Scdepth_like_two_halves_keep_their_depths_on_their_sides()
    {
        using var p = Pipeline(DepthOnnx.ScdepthLike(), DepthModels.ScdepthV3Onnx);
        var n = DepthModels.ScdepthV3Onnx.Normalization;
        using var image = DepthOnnx.Halves(1280, 720, (250, 250, 250), (10, 20, 30));
        var result = p.Run(image);
        double Depth(float logit) => 1 / (10 / (1 + Math.Exp(-logit)) + 0.009);
        var left = Depth(DepthOnnx.ChannelMean(n, 250, 250, 250));
        var right = Depth(DepthOnnx.ChannelMean(n, 10, 20, 30));
        Assert.True(left < right, "the brighter half is nearer for this model");
        for (var y = 0; y < 720; y += 90)
        {
            Assert.Equal(left, result.Depth[y * 1280 + 100], 1e-4);
            Assert.Equal(right, result.Depth[y * 1280 + 1180], 1e-4);
        }
        Assert.Equal(left, result.Stats!.Min, 1e-4);
        Assert.Equal(right, result.Stats!.Max, 1e-4);
        // Not asked for, not computed; the map is the same.
        var without = p.Run(image, statistics: false);
        Assert.Null(without.Stats);
        Assert.Equal(result.Depth, without.Depth);
    }

    [Fact]
    public void A_jpeg_decoded_reduced_for_the_model_gives_the_map_at_the_source_size()
    {
        // The service decodes a JPEG at the DCT scale covering the model input (480×270 for 1280×720 into 320×256);
        // the map must still cover the source image, each half keeping its depth.
        using var p = Pipeline(DepthOnnx.ScdepthLike(), DepthModels.ScdepthV3Onnx);
        var n = DepthModels.ScdepthV3Onnx.Normalization;
        byte[] jpeg;
        using (var source = DepthOnnx.Halves(1280, 720, (250, 250, 250), (10, 20, 30))) jpeg = source.Encode(ImageFormat.Jpeg, 95);
        using var image = ImageDecoder.Decode(jpeg, atLeast: (_, _) => p.InputSize);
        Assert.Equal((480, 270), (image.Width, image.Height));
        var result = p.Run(image);
        Assert.Equal((1280, 720), (result.Width, result.Height));
        Assert.Equal(1280 * 720, result.Depth.Length);
        double Depth(float logit) => 1 / (10 / (1 + Math.Exp(-logit)) + 0.009);
        var left = Depth(DepthOnnx.ChannelMean(n, 250, 250, 250));
        var right = Depth(DepthOnnx.ChannelMean(n, 10, 20, 30));
        for (var y = 0; y < 720; y += 90)
        {
            Assert.Equal(left, result.Depth[y * 1280 + 100], left * 0.02);
            Assert.Equal(right, result.Depth[y * 1280 + 1180], right * 0.02);
        }
    }

    [Fact]
    public void The_first_input_plane_is_red()
    {
        // A model whose logit is the first input plane only: a red-left, blue-right image must be near on the left.
        using var p = Pipeline(DepthOnnx.ScdepthLike(firstPlaneOnly: true), DepthModels.ScdepthV3Onnx);
        var n = DepthModels.ScdepthV3Onnx.Normalization;
        using var image = DepthOnnx.Halves(320, 256, (255, 0, 0), (0, 0, 255));
        var r = p.Run(image);
        double Depth(float logit) => 1 / (10 / (1 + Math.Exp(-logit)) + 0.009);
        Assert.Equal(Depth(255 * n.ScaleR + n.OffsetR), r.Depth[10], 1e-4);
        Assert.Equal(Depth(n.OffsetR), r.Depth[310], 1e-4);
    }

    [Fact]
    public void A_model_with_a_multi_channel_output_is_refused_at_load()
    {
        var w = new Hailo.TestSupport.OnnxWriter().Input("x", [1, 3, 256, 256]).Output("y", [1, 3, 256, 256]);
        w.Node("Identity", ["x"], "y");
        var path = Path.Combine(_dir, "rgb.onnx");
        File.WriteAllBytes(path, w.ToBytes());
        var e = Assert.Throws<InvalidDataException>(() => new OnnxDepthModel(new OnnxModel(path, 1), DepthModels.MidasSmall));
        Assert.Contains("expected an output [1, H, W] or [1, 1, H, W]", e.Message);
    }
}
