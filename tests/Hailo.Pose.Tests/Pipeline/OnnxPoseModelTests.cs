using Hailo.Media;
using Hailo.Runtime.Onnx;
using HailoPose.Pipeline;
using Xunit;

namespace Hailo.Pose.Tests.Pipeline;

/// <summary>
/// The CPU adapter on generated ONNX models with the real YOLOv8-pose export signature. Proves loading through ONNX
/// Runtime, the input tensor (letterbox, RGB planes, /255, pad 114), the export's output layout, NMS and the way back
/// to image pixels. The people are constants in the model, so this says nothing about detecting real people.
/// </summary>
public sealed class OnnxPoseModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pose-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private PosePipeline Pipeline(byte[] model)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".onnx");
        File.WriteAllBytes(path, model);
        return new PosePipeline(new OnnxPoseModel(new OnnxModel(path, 1)), "test");
    }

    [Theory]
    [InlineData(1280, 720)]
    [InlineData(720, 1280)]
    [InlineData(1920, 1080)]
    [InlineData(640, 640)]
    [InlineData(333, 999)]
    public void Encoded_people_come_back_in_image_pixels_and_duplicates_are_suppressed(int width, int height)
    {
        var (expected, encoded) = PoseOnnx.Scene(width, height);
        using var pipeline = Pipeline(PoseOnnx.Build(encoded));
        using var image = RgbaImage.Filled(width, height, 30, 60, 90);
        var outcome = pipeline.Run(image, new PoseOptions(0.5f, 0.45f, 10));
        PoseAssert.AllMatch(expected, outcome.People, 0.05f);
        Assert.Equal([0.91f, 0.85f, 0.62f], outcome.People.Select(p => p.Score));
        // Without NMS pressure the duplicates survive; below the threshold nothing else appears.
        Assert.Equal(5, pipeline.Run(image, new PoseOptions(0.5f, 0.99f, 10)).People.Count);
        Assert.Equal(6, pipeline.Run(image, new PoseOptions(0.2f, 0.99f, 10)).People.Count);
        Assert.Single(pipeline.Run(image, new PoseOptions(0.5f, 0.45f, 1)).People);
    }

    [Theory]
    [InlineData(1280, 720)]
    [InlineData(1920, 1080)]
    [InlineData(720, 1280)]
    public void A_jpeg_decoded_reduced_for_the_letterbox_gives_people_in_source_pixels(int width, int height)
    {
        // The service decodes a JPEG at the DCT scale covering the letterboxed size (640×360 for 1280×720); the
        // people must still come back in the source image's pixels.
        var (expected, encoded) = PoseOnnx.Scene(width, height);
        using var pipeline = Pipeline(PoseOnnx.Build(encoded));
        byte[] jpeg;
        using (var source = RgbaImage.Filled(width, height, 30, 60, 90)) jpeg = source.Encode(ImageFormat.Jpeg);
        using var image = ImageDecoder.Decode(jpeg, atLeast: pipeline.FittedSize);
        Assert.True(image.IsReduced);
        Assert.True(image.Width < width);
        var outcome = pipeline.Run(image, new PoseOptions(0.5f, 0.45f, 10));
        PoseAssert.AllMatch(expected, outcome.People, 0.05f);
    }

    [Theory]
    [InlineData(1280, 720, 200, 100, 30)]
    [InlineData(500, 900, 10, 250, 120)]
    public void Preprocessing_feeds_rgb_planes_in_0_1_letterboxed_with_grey_114(int width, int height, byte r, byte g, byte b)
    {
        // The model adds 300·Δr + 600·Δg + 900·Δb (mean over channels) of its input's channel means to every output:
        // swapped channels, 0-255 values, another pad colour or a stretched image would move every keypoint.
        var (expected, encoded) = PoseOnnx.Scene(width, height);
        using var pipeline = Pipeline(PoseOnnx.Build(encoded, PoseOnnx.UniformImageMeans(width, height, r, g, b)));
        using var image = RgbaImage.Filled(width, height, r, g, b);
        PoseAssert.AllMatch(expected, pipeline.Run(image, new PoseOptions(0.5f, 0.45f, 10)).People, 0.1f);

        using var swapped = RgbaImage.Filled(width, height, b, g, r);
        var wrong = pipeline.Run(swapped, new PoseOptions(0.5f, 0.45f, 10)).People;
        Assert.False(wrong.Count == 3 && MathF.Abs(wrong[0].X1 - expected[0].X1) < 1, "a BGR image must not decode like the RGB one");
    }

    [Fact]
    public void A_model_with_another_output_is_refused_at_load()
    {
        var w = new Hailo.TestSupport.OnnxWriter().Input("images", [1, 3, 640, 640]).Output("out", [1, 84, 8400]);
        var c = w.Constant(new float[84 * 8400], [1, 84, 8400]);
        var m = w.Node("ReduceMean", ["images"], null, ("keepdims", 0L));
        w.Node("Add", [c, w.Node("Mul", [m, w.Constant([0f], [1])])], "out");
        var path = Path.Combine(_dir, "detect.onnx");
        File.WriteAllBytes(path, w.ToBytes());
        var e = Assert.Throws<InvalidDataException>(() => new OnnxPoseModel(new OnnxModel(path, 1)));
        Assert.Contains("expected an output [1, 56, N]", e.Message);
    }
}
