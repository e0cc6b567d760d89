using Hailo.Media;
using Hailo.Runtime.Onnx;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Face.Tests;

/// <summary>
/// The ONNX side through ONNX Runtime with generated models of the real signatures. What this proves: tensor
/// preparation, output identification by shape, decoding, NMS and letterbox undo of a model whose outputs are known —
/// not that a trained SCRFD or ArcFace finds or recognises real faces.
/// </summary>
public sealed class OnnxModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("face-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private FacePipeline Pipeline(IReadOnlyList<PlantedFace> faces) => new(
        new OnnxScrfdDetector(new OnnxModel(Write("scrfd.onnx", PlantedFaces.ScrfdModel(faces)), 1)),
        new OnnxArcFaceEmbedder(new OnnxModel(Write("arcface.onnx", FaceOnnx.ArcFace()), 1)), "test");

    [Fact]
    public void Planted_faces_come_back_at_their_places_on_a_square_image()
    {
        using var p = Pipeline([PlantedFaces.Face(100, 80, 220, 240), PlantedFaces.Face(400, 300, 440, 350, 0.7f)]);
        using var image = RgbaImage.Filled(640, 640, 128, 128, 128);
        var faces = p.Detect(image, new FaceDetectOptions(0.5f, 0.4f, 10), new FaceTimings());
        Assert.Equal(2, faces.Count);
        Assert.Equal((100f, 80f, 220f, 240f), (MathF.Round(faces[0].X1, 2), MathF.Round(faces[0].Y1, 2), MathF.Round(faces[0].X2, 2), MathF.Round(faces[0].Y2, 2)));
        Assert.Equal(0.9f, faces[0].Score, 4);
        Assert.Equal(400f + 0.3f * 40, faces[1].Landmarks[0].X, 2);
        Assert.Equal(300f + 0.35f * 50, faces[1].Landmarks[0].Y, 2);
    }

    [Fact]
    public void Letterbox_is_undone_for_a_wide_image_padded_below()
    {
        // 1280×720 fits 640×360 at scale ½, top-left: input pixels ×2 are image pixels.
        using var p = Pipeline([PlantedFaces.Face(100, 80, 220, 240)]);
        using var image = RgbaImage.Filled(1280, 720, 200, 200, 200);
        var faces = p.Detect(image, new FaceDetectOptions(0.5f, 0.4f, 10), new FaceTimings());
        var f = Assert.Single(faces);
        Assert.Equal(200f, f.X1, 1);
        Assert.Equal(160f, f.Y1, 1);
        Assert.Equal(440f, f.X2, 1);
        Assert.Equal(480f, f.Y2, 1);
        Assert.Equal(2 * (100 + 0.5f * 120), f.Landmarks[2].X, 1);
    }

    [Fact]
    public void A_black_image_has_no_face_and_max_faces_and_min_size_apply()
    {
        using var p = Pipeline([PlantedFaces.Face(100, 80, 220, 240), PlantedFaces.Face(400, 300, 440, 350, 0.7f)]);
        using (var black = RgbaImage.Filled(640, 640, 0, 0, 0))
            Assert.Empty(p.Detect(black, new FaceDetectOptions(0.5f, 0.4f, 10), new FaceTimings()));
        using var image = RgbaImage.Filled(640, 640, 128, 128, 128);
        Assert.Single(p.Detect(image, new FaceDetectOptions(0.5f, 0.4f, 1), new FaceTimings()));
        Assert.Single(p.Detect(image, new FaceDetectOptions(0.5f, 0.4f, 10, MinFaceSize: 60), new FaceTimings()));
    }

    [Fact]
    public void Embeddings_are_unit_length_repeatable_and_depend_on_the_face()
    {
        using var p = Pipeline([PlantedFaces.Face(100, 80, 220, 240)]);
        using var a = FaceAlignerTests.Marked(640, 640, PlantedFaces.Face(100, 80, 220, 240).Landmarks);
        using var b = RgbaImage.Filled(640, 640, 90, 160, 220);
        var face = p.Detect(a, new FaceDetectOptions(0.5f, 0.4f, 10), new FaceTimings())[0];
        var ea = p.Embed(a, face, new FaceTimings());
        var ea2 = p.Embed(a, face, new FaceTimings());
        var eb = p.Embed(b, face, new FaceTimings());
        Assert.Equal(512, ea.Length);
        Assert.Equal(1.0, Math.Sqrt(ea.Sum(x => (double)x * x)), 4);
        Assert.Equal(1f, Embeddings.Cosine(ea, ea2), 5);
        Assert.True(Embeddings.Cosine(ea, eb) < 0.99f);
    }

    [Fact]
    public void A_model_without_the_SCRFD_outputs_is_refused()
    {
        var w = new OnnxWriter().Input("input.1", [1, 3, 640, 640]);
        w.Node("ReduceMean", ["input.1"], "out", ("keepdims", 0L));
        w.Output("out", []);
        var path = Write("bad.onnx", w.ToBytes());
        var e = Assert.Throws<InvalidDataException>(() => new OnnxScrfdDetector(new OnnxModel(path, 1)));
        Assert.Contains("nine outputs", e.Message);
        Assert.Throws<InvalidDataException>(() => new OnnxArcFaceEmbedder(new OnnxModel(path, 1)));
    }

    [Fact]
    public void Outputs_are_told_apart_by_shape_not_order()
    {
        var levels = ScrfdDecoder.Levels(640, 640);
        var outputs = new List<FloatTensor>();
        foreach (var (n, i) in levels.Select((l, i) => (l.Anchors, i)))
        {
            outputs.Add(new FloatTensor(Enumerable.Repeat((float)i, n * 10).ToArray(), [1, n, 10]));
            outputs.Add(new FloatTensor(Enumerable.Repeat((float)i, n).ToArray(), [1, n, 1]));
            outputs.Add(new FloatTensor(Enumerable.Repeat((float)i, n * 4).ToArray(), [n, 4]));
        }
        outputs.Reverse();
        OnnxScrfdDetector.Assign(outputs, levels, "m");
        for (var i = 0; i < 3; i++)
        {
            Assert.All(levels[i].Scores, v => Assert.Equal(i, v));
            Assert.All(levels[i].Landmarks, v => Assert.Equal(i, v));
        }
        outputs.RemoveAt(0);
        outputs.Add(new FloatTensor(new float[7], [1, 7, 1]));
        Assert.Throws<InvalidDataException>(() => OnnxScrfdDetector.Assign(outputs, ScrfdDecoder.Levels(640, 640), "m"));
    }
}
