using System.Net;
using System.Text.Json;
using Hailo.Media;
using Hailo.TestSupport;
using HailoDepth;
using Xunit;

namespace Hailo.Depth.Tests.Process;

/// <summary>
/// The hailo-depth executable itself: systemd notify datagrams, a request through the CPU backend with a generated
/// model, the NPU backend through the fake shim, the degraded start without a model, SIGTERM, commands and exit codes.
/// Runs the JIT build by default, the Native AOT binary when AOT_BINARY_HAILO_DEPTH names it (CI does both).
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests : IDisposable
{
    private static string Binary => ServiceProcess.Binary("hailo-depth", "AOT_BINARY_HAILO_DEPTH");
    private const int SigTerm = 15;
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-depth-proc-").FullName;

    public void Dispose() => Directory.Delete(_models, true);

    private string[] Args(params string[] extra) =>
        ["--port", "{port}", "--models-dir", _models, "--models.search_paths", "", "--config", "/dev/null", "--threads", "1", .. extra];

    private static ByteArrayContent Image() => new(DepthServiceFixture.Image()) { Headers = { ContentType = new("image/png") } };

    [Fact]
    public async Task Cpu_backend_loads_the_model_notifies_ready_serves_and_stops_on_sigterm()
    {
        DepthServiceFixture.WriteModel(_models);
        await using var p = ServiceProcess.Start(Binary, Args("--device", "cpu"), new Dictionary<string, string?> { ["WATCHDOG_USEC"] = "400000" });
        await p.WaitForDatagram("STATUS=loading model midas-small", TimeSpan.FromSeconds(30));
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(60));
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=ready (cpu", StringComparison.Ordinal) && d.Message.Contains("midas-small", StringComparison.Ordinal));
        var r = await p.Client.PostAsync("/v1/depth/estimate?output_format=npy&normalize=false", Image());
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var npy = Convert.FromBase64String(body.GetProperty("depth_npy").GetString()!);
        Assert.Equal(DepthServiceFixture.LeftDepth, BitConverter.ToSingle(npy, 128 + 4 * (5 * 1280 + 5)), 1e-4f);
        p.Signal(SigTerm);
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains(p.Datagrams, d => d.Message.StartsWith("STOPPING=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim()
    {
        _ = FakeShim.Runtime;
        Npu.FakeDepthHef.Write(Path.Combine(_models, DepthModels.NpuDefault), "scdepthv3.hef", Npu.FakeDepthHef.Ramp(out var logit));
        var env = new Dictionary<string, string?>
        {
            ["HAILO_SHIM_PATH"] = FakeShim.LibraryPath, ["HS_BACKEND"] = "fake", ["HS_FAKE_STATE_DIR"] = FakeShim.StateDir,
        };
        await using var p = ServiceProcess.Start(Binary, Args("--device", "npu"), env);
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(60));
        var health = JsonDocument.Parse(await (await p.Client.GetAsync("/health")).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("npu", health.GetProperty("backend").GetString());
        Assert.True(health.GetProperty("ready").GetBoolean(), health.ToString());
        using var img = RgbaImage.Filled(320, 256, 5, 5, 5);
        var content = new ByteArrayContent(img.Encode(ImageFormat.Png)) { Headers = { ContentType = new("image/png") } };
        var body = JsonDocument.Parse(await (await p.Client.PostAsync("/v1/depth/estimate?output_format=npy&normalize=false", content)).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("metre", body.GetProperty("unit").GetString());
        var npy = Convert.FromBase64String(body.GetProperty("depth_npy").GetString()!);
        Assert.Equal(Npu.FakeDepthHef.Depth(logit(200)), BitConverter.ToSingle(npy, 128 + 4 * (10 * 320 + 200)), 1e-4);
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_names_the_pull()
    {
        await using var p = ServiceProcess.Start(Binary, Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(30));
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=degraded: model midas-small is missing", StringComparison.Ordinal)
                                           && d.Message.Contains($"hailo-depth pull midas-small --models-dir {_models}", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await p.Client.GetAsync("/health")).StatusCode);
        var r = await p.Client.PostAsync("/v1/depth/estimate", Image());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("pull midas-small", await r.Content.ReadAsStringAsync());
        DepthServiceFixture.WriteModel(_models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/depth/estimate", Image())).StatusCode);
    }

    [Fact]
    public async Task Commands_and_bad_config()
    {
        var (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["models", "--config", "/dev/null", "--models-dir", _models]);
        Assert.Equal(0, code);
        Assert.Contains("model-small.onnx", stdout);
        Assert.Contains("scdepthv3.hef", stdout);
        (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["print-config", "--config", "/dev/null", "--depth.colormap", "turbo"]);
        Assert.Equal(0, code);
        Assert.Contains("port: 11439", stdout);
        Assert.Contains("colormap: \"turbo\"", stdout);
        var yaml = Path.Combine(_models, "bad.yaml");
        await File.WriteAllTextAsync(yaml, "depth:\n  colormap: rainbow\n  output_format: tiff\n");
        string err;
        (code, _, err) = await ServiceProcess.RunToEnd(Binary, ["check-config", "--config", yaml]);
        Assert.Equal(2, code);
        Assert.Contains("depth.colormap: 'rainbow' is not one of: viridis, plasma, magma, turbo, jet", err);
        Assert.Contains("depth.output_format: 'tiff' is not one of", err);
    }
}

[CollectionDefinition("fake-shim")]
public sealed class FakeShimCollection;
