using System.Net;
using System.Text;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Clip.Tests.Process;

/// <summary>
/// The hailo-clip executable itself: systemd notify datagrams, classify and the SQLite index through the CPU backend
/// with the generated towers, the NPU backend through the fake shim, the degraded start without a model, SIGTERM and
/// a refused config. Runs the JIT build by default, the Native AOT binary when AOT_BINARY_HAILO_CLIP names it.
/// </summary>
[Collection("fake-shim")]
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-clip")
{
    private string IndexPath => Path.Combine(Models, "index.sqlite");

    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Cpu_backend_loads_notifies_ready_classifies_indexes_and_stops_on_sigterm()
    {
        ClipServiceFixture.WriteModel(Models);
        await using var p = StartWithWatchdog(Args("--device", "cpu", "--index.path", IndexPath));
        await p.WaitForDatagram("READY=1", LoadTimeout);
        AssertDatagram(p, "STATUS=ready (cpu", "clip-vit-b-32");
        var red = Convert.ToBase64String(ClipServiceFixture.Image(250, 0, 0));
        var body = await Json(await p.Client.PostAsync("/v1/classify", Json($$"""{"image":"{{red}}","prompts":["green","red"]}""")));
        Assert.Equal("red", body.GetProperty("classifications")[0].GetProperty("text").GetString());
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/index", Json($$"""{"id":"r","image":"{{red}}"}"""))).StatusCode);
        var found = await Json(await p.Client.PostAsync("/v1/search", Json("""{"text":"red"}""")));
        Assert.Equal("r", found.GetProperty("results")[0].GetProperty("id").GetString());
        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Npu_backend_runs_in_the_binary_against_the_fake_shim()
    {
        Npu.FakeClipHefs.Write(Models);
        await using var p = await StartOnFakeNpu("--index.path", IndexPath);
        var body = await Json(await p.Client.PostAsync("/v1/embed/text", Json("""{"text":"red blue"}""")));
        Assert.Equal("npu", body.GetProperty("backend").GetString());
        Assert.Equal(1.0, body.GetProperty("embedding")[1].GetDouble(), 6);
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_names_the_pull()
    {
        await using var p = Start(Args("--device", "cpu", "--index.path", IndexPath));
        var health = await AssertStartsDegraded(p, "STATUS=degraded: model clip-vit-b-32 is missing");
        Assert.Contains("pull", health.GetProperty("fix").GetString());
        var r = await p.Client.PostAsync("/v1/embed/text", Json("""{"text":"red"}"""));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        ClipServiceFixture.WriteModel(Models);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.PostAsync("/v1/embed/text", Json("""{"text":"red"}"""))).StatusCode);
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem() =>
        await AssertConfigRefused("clip:\n  top_k: 0\n  logit_scale: -1\n  cpu_model: clip-rn50\nindex:\n  max_items: 0\n",
            "clip.top_k: must be between 1 and 4096", "clip.logit_scale: must be greater than 0 and at most 1000",
            "clip.cpu_model: 'clip-rn50' is not a known CPU model", "index.max_items: must be between 1 and 10000000");
}
