using Hailo.Media;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Depth.Tests;

/// <summary>
/// The committed smoke-test fixtures (.ci/qemu-smoke runs the arm64 binary on them, since the real model cannot be
/// fetched in CI): the generated MiDaS-small-like model-small.onnx and the 1280×720 two-halves image. They must be
/// exactly what the generators make (HAILO_WRITE_FIXTURES=1 rewrites them).
/// </summary>
public sealed class SmokeFixtureTests
{
    private static readonly string Dir = Path.Combine(Repo.Root, "tests", "Hailo.Depth.Tests", "fixtures", "smoke");
    private static string ModelPath => Path.Combine(Dir, "midas-small", "model-small.onnx");
    private static string ImagePath => Path.Combine(Dir, "halves-1280x720.png");

    [Fact]
    public void Committed_fixtures_are_what_the_generators_make()
    {
        var model = DepthOnnx.MidasLike();
        if (Environment.GetEnvironmentVariable("HAILO_WRITE_FIXTURES") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(ModelPath)!);
            File.WriteAllBytes(ModelPath, model);
            File.WriteAllBytes(ImagePath, DepthServiceFixture.Image());
        }
        Assert.Equal(model, File.ReadAllBytes(ModelPath));
        using var image = ImageDecoder.Decode(File.ReadAllBytes(ImagePath));
        Assert.Equal((1280, 720), (image.Width, image.Height));
        Assert.Equal(DepthServiceFixture.Left.R, image.Row(10)[40]);
        Assert.Equal(DepthServiceFixture.Right.B, image.Row(10)[4 * 1270 + 2]);
        // What .ci/qemu-smoke checks the arm64 binary's answer against (normalize=false, npy).
        Assert.Equal(0.18683, DepthServiceFixture.LeftDepth, 1e-4);
        Assert.Equal(0.73418, DepthServiceFixture.RightDepth, 1e-4);
    }
}
