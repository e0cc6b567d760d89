using System.Net;
using Hailo.Media;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Pose.Tests.Process;

/// <summary>
/// The hailo-pose executable itself: systemd notify datagrams, a request through the CPU backend with a generated
/// model, the NPU backend through the fake shim, the degraded start without a model, SIGTERM, commands and exit codes.
/// Runs the JIT build by default, the Native AOT binary when AOT_BINARY_HAILO_POSE names it (CI does both).
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-pose")
{
    private static ByteArrayContent Image()
    {
        using var img = RgbaImage.Filled(1280, 720, 128, 128, 128);
        return new ByteArrayContent(img.Encode(ImageFormat.Jpeg)) { Headers = { ContentType = new("image/jpeg") } };
    }

    [Fact]
    public async Task Cpu_backend_loads_the_model_notifies_ready_serves_and_stops_on_sigterm()
    {
        PoseServiceFixture.WriteModel(Models);
        await using var p = StartWithWatchdog(Args("--device", "cpu"));
        await p.WaitForDatagram("STATUS=loading model yolov8s-pose", StartTimeout);
        await p.WaitForDatagram("READY=1", LoadTimeout);
        AssertDatagram(p, "STATUS=ready (cpu", "yolov8s-pose");
        var r = await p.Client.PostAsync("/v1/pose/detect", Image());
        var body = await Json(r);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(3, body.GetProperty("count").GetInt32());
        var png = await p.Client.PostAsync("/v1/pose/detect?format=png", Image());
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim()
    {
        var expected = Npu.NpuServiceTests.WriteFakeHef(Models);
        await using var p = await StartOnFakeNpu();
        var body = await Json(await p.Client.PostAsync("/v1/pose/detect", Image()));
        Assert.Equal(3, body.GetProperty("count").GetInt32());
        Assert.Equal(expected[0].X1, body.GetProperty("poses")[0].GetProperty("box")[0].GetDouble(), 1.0);
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_says_where_to_put_the_file()
    {
        await using var p = Start(Args("--device", "cpu"));
        var health = await AssertStartsDegraded(p, "STATUS=degraded: model yolov8s-pose is missing",
            $"put yolov8s-pose.onnx into {Path.Combine(Models, "yolov8s-pose")}/");
        Assert.Contains("yolo export", health.GetProperty("fix").GetString());
        var r = await p.Client.PostAsync("/v1/pose/detect", Image());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("yolov8s-pose.onnx", await r.Content.ReadAsStringAsync());
        // Once the file is there, the next request loads it: no restart.
        PoseServiceFixture.WriteModel(Models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/pose/detect", Image())).StatusCode);
    }

    [Fact]
    public async Task Pull_of_a_bring_your_own_model_explains_itself_and_commands_work()
    {
        var (code, _, stderr) = await Run(["pull", "--config", "/dev/null", "--models-dir", Models]);
        Assert.Equal(1, code);
        Assert.Contains("yolov8s-pose.onnx has no download address; copy it into", stderr);
        await AssertCommandPrints(["models", "--config", "/dev/null", "--models-dir", Models], "yolov8s_pose", "yolov8m_pose.hef");
        await AssertCommandPrints(["print-config", "--config", "/dev/null"], new Dictionary<string, string?> { ["HAILO_POSE_POSE__MAX_DETECTIONS"] = "25" },
            "port: 11440", "max_detections: 25");
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem()
    {
        await AssertConfigRefused("pose:\n  skeletons: true\n", "pose.skeletons: unknown key");
        await AssertConfigRefused("pose:\n  iou_threshold: 3\n  max_detections: 0\n  cpu_model: yolov9\n",
            "pose.iou_threshold: must be greater than 0 and at most 1", "pose.max_detections: must be between 1 and 300",
            "pose.cpu_model: 'yolov9' is not a known CPU model");
    }
}
