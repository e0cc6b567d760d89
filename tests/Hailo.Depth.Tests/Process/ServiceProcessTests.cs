using System.Net;
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
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-depth")
{
    private static ByteArrayContent Image() => new(DepthServiceFixture.Image()) { Headers = { ContentType = new("image/png") } };

    [Fact]
    public async Task Cpu_backend_loads_the_model_notifies_ready_serves_and_stops_on_sigterm()
    {
        DepthServiceFixture.WriteModel(Models);
        await using var p = StartWithWatchdog(Args("--device", "cpu"));
        await p.WaitForDatagram("STATUS=loading model midas-small", StartTimeout);
        await p.WaitForDatagram("READY=1", LoadTimeout);
        AssertDatagram(p, "STATUS=ready (cpu", "midas-small");
        var r = await p.Client.PostAsync("/v1/depth/estimate?output_format=npy&normalize=false", Image());
        var body = await Json(r);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var npy = Convert.FromBase64String(body.GetProperty("depth_npy").GetString()!);
        Assert.Equal(DepthServiceFixture.LeftDepth, BitConverter.ToSingle(npy, 128 + 4 * (5 * 1280 + 5)), 1e-4f);
        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim()
    {
        Npu.FakeDepthHef.Write(Path.Combine(Models, DepthModels.NpuDefault), "scdepthv3.hef", Npu.FakeDepthHef.Ramp(out var logit));
        Stereo.FakeStereoHef.Write(Models);
        await using var p = await StartOnFakeNpu();
        using var img = RgbaImage.Filled(320, 256, 5, 5, 5);
        var content = new ByteArrayContent(img.Encode(ImageFormat.Png)) { Headers = { ContentType = new("image/png") } };
        var body = await Json(await p.Client.PostAsync("/v1/depth/estimate?output_format=npy&normalize=false", content));
        Assert.Equal("metre", body.GetProperty("unit").GetString());
        var npy = Convert.FromBase64String(body.GetProperty("depth_npy").GetString()!);
        Assert.Equal(Npu.FakeDepthHef.Depth(logit(200)), BitConverter.ToSingle(npy, 128 + 4 * (10 * 320 + 200)), 1e-4);

        // Stereo pairs go to the (fake) StereoNet beside it: left red 100 → 50 network pixels → 25 at half its width.
        var stereo = await Json(await p.Client.PostAsync("/v1/depth/stereo",
            Stereo.StereoApiTests.Form(Stereo.FakeStereoHef.Png(616, 200, 100), Stereo.FakeStereoHef.Png(616, 200, 30), fields: [("normalize", "false")])));
        Assert.Equal("npu", stereo.GetProperty("backend").GetString());
        Assert.Equal(25, stereo.GetProperty("stats").GetProperty("median").GetDouble(), 3);
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_names_the_pull()
    {
        await using var p = Start(Args("--device", "cpu"));
        await AssertStartsDegraded(p, "STATUS=degraded: model midas-small is missing", $"hailo-depth pull midas-small --models-dir {Models}");
        var r = await p.Client.PostAsync("/v1/depth/estimate", Image());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("pull midas-small", await r.Content.ReadAsStringAsync());
        DepthServiceFixture.WriteModel(Models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/depth/estimate", Image())).StatusCode);
    }

    [Fact]
    public async Task Commands_and_bad_config()
    {
        await AssertCommandPrints(["models", "--config", "/dev/null", "--models-dir", Models], "model-small.onnx", "scdepthv3.hef");
        await AssertCommandPrints(["print-config", "--config", "/dev/null", "--depth.colormap", "turbo"], "port: 11439", "colormap: \"turbo\"");
        await AssertConfigRefused("depth:\n  colormap: rainbow\n  output_format: tiff\n",
            "depth.colormap: 'rainbow' is not one of: viridis, plasma, magma, turbo, jet", "depth.output_format: 'tiff' is not one of");
    }
}

[CollectionDefinition("fake-shim")]
public sealed class FakeShimCollection;
