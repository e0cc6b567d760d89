using Hailo.Media;
using Hailo.Runtime.Npu;
using Hailo.TestSupport;
using Hailo.Vision;
using HailoPose.Pipeline;
using Xunit;

namespace Hailo.Pose.Tests.Npu;

/// <summary>
/// The NPU adapter against fake "HEFs" with yolov8s_pose's real I/O and quantisation, whose canned outputs encode
/// known people. Proves the adapter side: heads found by shape whatever the output order, the native uint8/uint16
/// frames de-quantised with each stream's own parameters, the letterbox into the 640×640 input and back, NMS. The
/// fake ignores the input image, so nothing here says anything about a real HEF's accuracy: that needs a Hailo-10H.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuPoseModelTests : IDisposable
{
    private readonly VDevice _vd;
    private readonly string _dir;

    public NpuPoseModelTests()
    {
        _ = FakeShim.Runtime;
        _vd = VDevice.Open();
        _dir = Path.Combine(FakeShim.StateDir, "pose-" + Guid.NewGuid().ToString("N"));
    }

    public void Dispose()
    {
        _vd.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    [Theory]
    [InlineData(1280, 720)]
    [InlineData(720, 1280)]
    [InlineData(1920, 1080)]
    [InlineData(333, 999)]
    [InlineData(640, 640)]
    public void Fake_hef_people_come_back_within_a_pixel_of_where_they_are_in_the_image(int width, int height)
    {
        var fit = LetterboxTransform.Fit(width, height, 640, 640);
        var people = Pipeline.YoloPoseHeadsTests.PeopleFor(width, height);
        var enc = new PoseHeadEncoder();
        foreach (var p in people) enc.Add(p.ToInput(fit));
        var hef = FakePoseHef.Write(_dir, "yolov8s_pose.hef", enc);

        using var model = new NpuPoseModel(VisionModel.Load(_vd, hef));
        Assert.Equal((640, 640), model.InputSize);
        Assert.Equal([8, 16, 32], model.Strides);
        Assert.False(model.ScoresAreLogits);
        using var pipeline = new PosePipeline(model, "yolov8s_pose");
        using var image = RgbaImage.Filled(width, height, 90, 120, 150);
        var outcome = pipeline.Run(image, new PoseOptions(0.5f, 0.45f, 10));
        PoseAssert.AllMatch(people, outcome.People, 1.0f);
        Assert.Equal(fit, outcome.Letterbox);
        Assert.True(outcome.Timer.ModelMs >= 0 && outcome.Timer.PostprocessMs > 0);
    }

    [Fact]
    public void Heads_are_found_in_stride_order_whatever_the_output_order()
    {
        var enc = new PoseHeadEncoder();
        enc.Add(KnownPerson.Standing(100, 100, 300, 500, 0.8f));
        using var inOrder = new NpuPoseModel(VisionModel.Load(_vd, FakePoseHef.Write(_dir, "a.hef", enc, shuffle: false)));
        using var shuffled = new NpuPoseModel(VisionModel.Load(_vd, FakePoseHef.Write(_dir, "b.hef", enc, shuffle: true)));
        using var image = RgbaImage.Filled(640, 640, 0, 0, 0);
        var a = new PosePipeline(inOrder, "a").Run(image, new PoseOptions(0.5f, 0.45f, 10)).People;
        var b = new PosePipeline(shuffled, "b").Run(image, new PoseOptions(0.5f, 0.45f, 10)).People;
        Assert.Single(a);
        Assert.Equal(a[0].X1, b[0].X1);
        Assert.Equal(a[0].Keypoints[16], b[0].Keypoints[16]);
    }

    [Fact]
    public void A_score_head_with_a_negative_range_is_read_as_logits()
    {
        var enc = new PoseHeadEncoder();
        using var model = new NpuPoseModel(VisionModel.Load(_vd, FakePoseHef.Write(_dir, "logits.hef", enc, scoreMin: -8)));
        Assert.True(model.ScoresAreLogits);
    }

    [Fact]
    public void A_hef_without_pose_heads_is_refused_with_what_it_has()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "other.hef");
        File.WriteAllText(path, """
            {"kind": "vision", "inputs": [{"name": "x/input_layer1", "shape": [640, 640, 3], "type": "UINT8"}],
             "outputs": [{"name": "x/conv1", "shape": [80, 80, 64], "type": "UINT8"}, {"name": "x/conv2", "shape": [80, 80, 80], "type": "UINT8"}]}
            """);
        var e = Assert.Throws<InvalidDataException>(() => new NpuPoseModel(VisionModel.Load(_vd, path)));
        Assert.Contains("80×80 outputs are not a 64-channel box, 1-channel score and 51-channel keypoint head", e.Message);
        Assert.Contains("x/conv2", e.Message);
    }
}
