using System.Net;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Scrfd.Tests.Process;

/// <summary>
/// The hailo-scrfd executable: a request on the CPU backend with a generated model, the NPU backend through the fake
/// shim, the degraded start without a model, config errors. JIT build by default; the AOT binary when
/// AOT_BINARY_HAILO_SCRFD names it.
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-scrfd")
{
    private static ByteArrayContent Image() => new(ScrfdServiceFixture.Image()) { Headers = { ContentType = new("image/png") } };

    [Fact]
    public async Task Cpu_backend_serves_and_stops_on_sigterm()
    {
        ScrfdServiceFixture.WriteModel(Models);
        await using var p = StartWithWatchdog(Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        var body = await Json(await p.Client.PostAsync("/v1/detect", Image()));
        Assert.Equal(2, body.GetProperty("num_faces").GetInt32());
        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim()
    {
        Npu.NpuServiceTests.WriteFakeHef(Models);
        await using var p = await StartOnFakeNpu();
        var body = await Json(await p.Client.PostAsync("/v1/detect", Image()));
        Assert.Equal(2, body.GetProperty("num_faces").GetInt32());
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_says_where_to_put_the_file()
    {
        await using var p = Start(Args("--device", "cpu"));
        await AssertStartsDegraded(p, "STATUS=degraded: model scrfd_2.5g_bnkps is missing",
            $"put scrfd_2.5g_bnkps.onnx into {Path.Combine(Models, "scrfd_2.5g_bnkps")}/");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await p.Client.PostAsync("/v1/detect", Image())).StatusCode);
        ScrfdServiceFixture.WriteModel(Models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/align", Image())).StatusCode);
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem() =>
        await AssertConfigRefused("scrfd:\n  nms_threshold: 3\n  aligned_format: gif\n",
            "scrfd.nms_threshold: must be greater than 0 and at most 1", "scrfd.aligned_format: must be jpeg or png");
}
