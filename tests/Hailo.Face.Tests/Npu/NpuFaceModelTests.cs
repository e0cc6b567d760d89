using Hailo.Media;
using Hailo.Runtime.Npu;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Face.Tests.Npu;

/// <summary>
/// The NPU adapters against fake HEFs with scrfd_10g's and arcface_mobilefacenet's I/O and quantisation. Proves the
/// adapter side (heads found by grid and channel count whatever the order, uint8/uint16 de-quantisation, the
/// top-left letterbox and its undo, the embedding normalised); the fake ignores the image, so nothing here says
/// anything about a real HEF on a Hailo-10H.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuFaceModelTests : IDisposable
{
    private readonly VDevice _vd;
    private readonly string _dir;

    public NpuFaceModelTests()
    {
        _ = FakeShim.Runtime;
        _vd = VDevice.Open();
        _dir = Path.Combine(FakeShim.StateDir, "face-" + Guid.NewGuid().ToString("N"));
    }

    public void Dispose()
    {
        _vd.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    [Theory]
    [InlineData(640, 640)]
    [InlineData(1280, 720)]
    [InlineData(500, 1000)]
    public void Fake_hef_faces_come_back_where_they_are_in_the_image(int width, int height)
    {
        var fit = Hailo.Vision.LetterboxTransform.Fit(width, height, 640, 640, centre: false);
        var inImage = new[] { PlantedFaces.Face(0.2f * width, 0.2f * height, 0.2f * width + 90, 0.2f * height + 110), PlantedFaces.Face(0.6f * width, 0.5f * height, 0.6f * width + 40, 0.5f * height + 50, 0.7f) };
        var inInput = inImage.Select(f => new PlantedFace(fit.ToInput(f.Box), f.Landmarks.Select(p => { var (x, y) = fit.ToInput(p.X, p.Y); return new System.Numerics.Vector2(x, y); }).ToArray(), f.Score)).ToArray();
        var hef = FakeFaceHef.Scrfd(_dir, "scrfd_10g.hef", PlantedFaces.Levels(inInput));
        using var detector = new NpuScrfdDetector(VisionModel.Load(_vd, hef));
        Assert.Equal([8, 16, 32], detector.Strides);
        using var pipeline = new FacePipeline(detector, null, "scrfd_10g");
        using var image = RgbaImage.Filled(width, height, 90, 120, 150);
        var faces = pipeline.Detect(image, new FaceDetectOptions(0.5f, 0.4f, 10), new FaceTimings());
        Assert.Equal(2, faces.Count);
        for (var i = 0; i < 2; i++)
        {
            var tolerance = 0.05f / fit.Scale + 1;   // uint16 codes of 1/1000 stride units, scaled back to the image
            Assert.Equal(inImage[i].Box.X1, faces[i].X1, tolerance);
            Assert.Equal(inImage[i].Box.Y2, faces[i].Y2, tolerance);
            Assert.Equal(inImage[i].Landmarks[3].X, faces[i].Landmarks[3].X, tolerance);
            Assert.Equal(inImage[i].Score, faces[i].Score, 0.01f);
        }
    }

    [Fact]
    public void Fake_arcface_embedding_is_dequantised_and_normalised()
    {
        var canned = Enumerable.Range(0, 512).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        var hef = FakeFaceHef.ArcFace(_dir, "arcface_mobilefacenet.hef", canned);
        using var embedder = new NpuArcFaceEmbedder(VisionModel.Load(_vd, hef));
        Assert.Equal(512, embedder.Dimension);
        using var crop = RgbaImage.Filled(112, 112, 10, 20, 30);
        var v = embedder.Embed(crop, new FaceTimings());
        Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 4);
        Assert.True(Embeddings.Cosine(v, canned) > 0.999f);
    }

    [Fact]
    public void A_hef_without_SCRFD_heads_is_refused()
    {
        var hef = FakeFaceHef.ArcFace(_dir, "not_scrfd.hef", new float[512]);
        Assert.Throws<InvalidDataException>(() => new NpuScrfdDetector(VisionModel.Load(_vd, hef)));
    }
}
