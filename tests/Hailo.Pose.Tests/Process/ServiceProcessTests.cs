using System.Net;
using System.Text.Json;
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
public sealed class ServiceProcessTests : IDisposable
{
    private static string Binary => ServiceProcess.Binary("hailo-pose", "AOT_BINARY_HAILO_POSE");
    private const int SigTerm = 15;
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-pose-proc-").FullName;

    public void Dispose() => Directory.Delete(_models, true);

    private string[] Args(params string[] extra) =>
        ["--port", "{port}", "--models-dir", _models, "--models.search_paths", "", "--config", "/dev/null", "--threads", "1", .. extra];

    private static ByteArrayContent Image()
    {
        using var img = RgbaImage.Filled(1280, 720, 128, 128, 128);
        return new ByteArrayContent(img.Encode(ImageFormat.Jpeg)) { Headers = { ContentType = new("image/jpeg") } };
    }

    [Fact]
    public async Task Cpu_backend_loads_the_model_notifies_ready_serves_and_stops_on_sigterm()
    {
        PoseServiceFixture.WriteModel(_models);
        await using var p = ServiceProcess.Start(Binary, Args("--device", "cpu"), new Dictionary<string, string?> { ["WATCHDOG_USEC"] = "400000" });
        await p.WaitForDatagram("STATUS=loading model yolov8s-pose", TimeSpan.FromSeconds(30));
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(60));
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=ready (cpu", StringComparison.Ordinal) && d.Message.Contains("yolov8s-pose", StringComparison.Ordinal));
        var r = await p.Client.PostAsync("/v1/pose/detect", Image());
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(3, body.GetProperty("count").GetInt32());
        var png = await p.Client.PostAsync("/v1/pose/detect?format=png", Image());
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        p.Signal(SigTerm);
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains(p.Datagrams, d => d.Message.StartsWith("STOPPING=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim()
    {
        _ = FakeShim.Runtime;
        var expected = Npu.NpuServiceTests.WriteFakeHef(_models);
        var env = new Dictionary<string, string?>
        {
            ["HAILO_SHIM_PATH"] = FakeShim.LibraryPath, ["HS_BACKEND"] = "fake", ["HS_FAKE_STATE_DIR"] = FakeShim.StateDir,
        };
        await using var p = ServiceProcess.Start(Binary, Args("--device", "npu"), env);
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(60));
        var health = JsonDocument.Parse(await (await p.Client.GetAsync("/health")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("npu", health.GetProperty("backend").GetString());
        Assert.True(health.GetProperty("ready").GetBoolean(), health.ToString());
        var body = JsonDocument.Parse(await (await p.Client.PostAsync("/v1/pose/detect", Image())).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(3, body.GetProperty("count").GetInt32());
        Assert.Equal(expected[0].X1, body.GetProperty("poses")[0].GetProperty("box")[0].GetDouble(), 1.0);
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_says_where_to_put_the_file()
    {
        await using var p = ServiceProcess.Start(Binary, Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(30));
        var fix = $"put yolov8s-pose.onnx into {Path.Combine(_models, "yolov8s-pose")}/";
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=degraded: model yolov8s-pose is missing", StringComparison.Ordinal)
                                           && d.Message.Contains(fix, StringComparison.Ordinal));
        var health = await p.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var h = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("missing", h.GetProperty("models")[0].GetProperty("state").GetString());
        Assert.Contains("yolo export", h.GetProperty("fix").GetString());
        var r = await p.Client.PostAsync("/v1/pose/detect", Image());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("yolov8s-pose.onnx", await r.Content.ReadAsStringAsync());
        // Once the file is there, the next request loads it: no restart.
        PoseServiceFixture.WriteModel(_models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/pose/detect", Image())).StatusCode);
    }

    [Fact]
    public async Task Pull_of_a_bring_your_own_model_explains_itself_and_commands_work()
    {
        var (code, stdout, stderr) = await ServiceProcess.RunToEnd(Binary, ["pull", "--config", "/dev/null", "--models-dir", _models]);
        Assert.Equal(1, code);
        Assert.Contains("yolov8s-pose.onnx has no download address; copy it into", stderr);
        (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["models", "--config", "/dev/null", "--models-dir", _models]);
        Assert.Equal(0, code);
        Assert.Contains("yolov8s_pose", stdout);
        Assert.Contains("yolov8m_pose.hef", stdout);
        (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["--version"]);
        Assert.Equal(0, code);
        Assert.StartsWith("hailo-pose 1.0.0", stdout);
        (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["print-config", "--config", "/dev/null"], new Dictionary<string, string?> { ["HAILO_POSE_POSE__MAX_DETECTIONS"] = "25" });
        Assert.Equal(0, code);
        Assert.Contains("port: 11440", stdout);
        Assert.Contains("max_detections: 25", stdout);
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem()
    {
        var yaml = Path.Combine(_models, "bad.yaml");
        await File.WriteAllTextAsync(yaml, "pose:\n  skeletons: true\n");
        var (code, _, err) = await ServiceProcess.RunToEnd(Binary, ["check-config", "--config", yaml]);
        Assert.Equal(2, code);
        Assert.Contains("pose.skeletons: unknown key", err);
        await File.WriteAllTextAsync(yaml, "pose:\n  iou_threshold: 3\n  max_detections: 0\n  cpu_model: yolov9\n");
        (code, _, err) = await ServiceProcess.RunToEnd(Binary, ["check-config", "--config", yaml]);
        Assert.Equal(2, code);
        Assert.Contains("pose.iou_threshold: must be greater than 0 and at most 1", err);
        Assert.Contains("pose.max_detections: must be between 1 and 300", err);
        Assert.Contains("pose.cpu_model: 'yolov9' is not a known CPU model", err);
    }
}
