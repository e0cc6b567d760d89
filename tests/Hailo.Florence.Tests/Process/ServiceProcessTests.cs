using System.Net;
using System.Text;
using Hailo.TestSupport;
using HailoFlorence;
using Xunit;

namespace Hailo.Florence.Tests.Process;

/// <summary>
/// The hailo-florence executable itself: systemd notify datagrams, a caption and a detection through the CPU backend
/// with the generated model, the degraded start without a model, device npu degraded with its reason, SIGTERM and a
/// refused config. Runs the JIT build by default, the Native AOT binary when AOT_BINARY_HAILO_FLORENCE names it.
/// </summary>
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-florence")
{
    private void WriteModel() => FlorenceTestModel.Write(Path.Combine(Models, FlorenceModels.CpuDefault));

    private static HttpContent Png(byte[] b) => new ByteArrayContent(b) { Headers = { ContentType = new("image/png") } };

    [Fact]
    public async Task Cpu_backend_loads_notifies_ready_answers_and_stops_on_sigterm()
    {
        WriteModel();
        await using var p = StartWithWatchdog(Args("--device", "cpu"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        AssertDatagram(p, "STATUS=ready (cpu", "florence-2-base");
        var caption = await Json(await p.Client.PostAsync("/v1/caption", Png(FlorenceServiceFixture.Image(255, 255, 255))));
        Assert.Equal("What does the image describe?", caption.GetProperty("caption").GetString());
        var od = await Json(await p.Client.PostAsync("/v1/florence/od", Png(FlorenceServiceFixture.Image(255, 0, 0))));
        Assert.Equal("cat", od.GetProperty("bboxes")[0].GetProperty("label").GetString());
        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_names_the_pull()
    {
        await using var p = Start(Args("--device", "cpu"));
        var health = await AssertStartsDegraded(p, "STATUS=degraded: model florence-2-base is missing");
        Assert.Contains("pull", health.GetProperty("fix").GetString());
        var r = await p.Client.PostAsync("/v1/caption", Png(FlorenceServiceFixture.Image(1, 2, 3)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        WriteModel();
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/caption", Png(FlorenceServiceFixture.Image(1, 2, 3)))).StatusCode);
    }

    [Fact]
    public async Task Device_npu_starts_degraded_saying_no_hef_exists()
    {
        WriteModel();
        await using var p = Start(Args("--device", "npu"));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        // The model preloads and fails: the NPU has nothing to run (whether or not a device is there).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        System.Text.Json.JsonElement health;
        do
        {
            var r = await p.Client.GetAsync("/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            health = System.Text.Json.JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();
        } while (health.GetProperty("models")[0].GetProperty("state").GetString() != "failed" && DateTime.UtcNow < deadline && await Delay());
        Assert.Equal("npu", health.GetProperty("backend").GetString());
        Assert.Contains("Hailo publishes no Florence-2 HEF for Hailo-10H", health.GetProperty("backend_reason").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await p.Client.PostAsync("/v1/caption", Png(FlorenceServiceFixture.Image(1, 2, 3)))).StatusCode);
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(100);
        return true;
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem() =>
        await AssertConfigRefused("florence:\n  max_length: 0\n  temperature: -1\n  cpu_model: florence-2-large\n  ollama_task: <VQA>\n",
            "florence.max_length: must be between 1 and 1024", "florence.temperature: must be between 0 and 2",
            "florence.cpu_model: 'florence-2-large' is not a known CPU model", "florence.ollama_task: '<VQA>' is not a Florence-2 task");
}
