using Hailo.Media;
using Hailo.Runtime.Onnx;
using Hailo.TestSupport;
using HailoPose.Pipeline;
using Xunit;

namespace Hailo.Pose.Tests;

/// <summary>
/// The committed smoke-test fixtures (.ci/qemu-smoke runs the arm64 binary on them, since no real pose model can be
/// fetched): a compact generated yolov8s-pose.onnx encoding the 1280×720 scene and a 1280×720 image. They must be
/// exactly what the generator makes (HAILO_WRITE_FIXTURES=1 rewrites them) and decode to the scene's people.
/// </summary>
public sealed class SmokeFixtureTests
{
    private static readonly string Dir = Path.Combine(Repo.Root, "tests", "Hailo.Pose.Tests", "fixtures", "smoke");
    private static string ModelPath => Path.Combine(Dir, "yolov8s-pose", "yolov8s-pose.onnx");
    private static string ImagePath => Path.Combine(Dir, "image-1280x720.png");

    [Fact]
    public void Committed_fixtures_are_what_the_generator_makes_and_decode_to_the_scene()
    {
        var (expected, encoded) = PoseOnnx.Scene(1280, 720);
        var model = PoseOnnx.Build(encoded, compact: true);
        if (Environment.GetEnvironmentVariable("HAILO_WRITE_FIXTURES") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(ModelPath)!);
            File.WriteAllBytes(ModelPath, model);
            using var img = RgbaImage.Filled(1280, 720, 128, 128, 128);
            File.WriteAllBytes(ImagePath, img.Encode(ImageFormat.Png));
        }
        Assert.Equal(model, File.ReadAllBytes(ModelPath));
        Assert.True(model.Length < 16_000, $"the fixture is {model.Length} bytes");
        using var image = ImageDecoder.Decode(File.ReadAllBytes(ImagePath));
        Assert.Equal((1280, 720), (image.Width, image.Height));
        using var pipeline = new PosePipeline(new OnnxPoseModel(new OnnxModel(ModelPath, 1)), "smoke");
        PoseAssert.AllMatch(expected, pipeline.Run(image, new PoseOptions(0.5f, 0.45f, 10)).People, 0.05f);
    }
}
