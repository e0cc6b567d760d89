using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using HailoFlorence;
using Xunit;

namespace Hailo.Florence.Tests;

/// <summary>What the service says when it cannot serve: device npu (no Hailo-10H Florence-2 HEF exists) and a missing model.</summary>
public sealed class BackendTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("florence-backend-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private async Task<RunningService> Start(Backend device, bool withModel)
    {
        if (withModel) FlorenceTestModel.Write(Path.Combine(_dir, FlorenceModels.CpuDefault));
        var config = new FlorenceConfig { Device = device };
        config.Models.Dir = _dir;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        var s = await RunningService.StartAsync(FlorenceService.Definition, config);
        await s.StartupCompleted;
        return s;
    }

    [Fact]
    public async Task Device_npu_is_degraded_and_says_no_hef_exists()
    {
        await using var s = await Start(Backend.Npu, withModel: true);
        var r = await s.Client.GetAsync("/health");
        var text = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        var health = JsonDocument.Parse(text).RootElement;
        Assert.Equal("npu", health.GetProperty("backend").GetString());
        Assert.Contains("Hailo publishes no Florence-2 HEF for Hailo-10H", health.GetProperty("backend_reason").GetString());
        var png = FlorenceServiceFixture.Image(255, 255, 255);
        var caption = await s.Client.PostAsync("/v1/caption", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, caption.StatusCode);
        var e = JsonDocument.Parse(await caption.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(503, e.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Device_auto_uses_the_cpu()
    {
        await using var s = await Start(Backend.Auto, withModel: true);
        var health = JsonDocument.Parse(await s.Client.GetStringAsync("/health")).RootElement;
        Assert.Equal("cpu", health.GetProperty("backend").GetString());
        Assert.Equal("ok", health.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_missing_model_is_a_503_that_says_where_to_get_it()
    {
        await using var s = await Start(Backend.Cpu, withModel: false);
        var h = await s.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, h.StatusCode);
        var health = JsonDocument.Parse(await h.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("pull florence-2-base", health.GetProperty("fix").GetString());
        var r = await s.Client.PostAsync("/v1/vqa", new StringContent(
            $$"""{"image":"{{Convert.ToBase64String(FlorenceServiceFixture.Image(1, 2, 3))}}","question":"why?"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        var e = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(JsonValueKind.String, e.GetProperty("error").ValueKind);
        Assert.Contains("florence-2-base", e.GetProperty("message").GetString());
    }
}
