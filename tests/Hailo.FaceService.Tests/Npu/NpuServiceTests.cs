using System.Net;
using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using HailoFace;
using Xunit;

namespace Hailo.FaceService.Tests.Npu;

/// <summary>
/// hailo-face on the NPU backend against the shim's fake: fake scrfd_10g and arcface_mobilefacenet HEFs. The fake
/// returns one canned embedding whatever the face, so this proves the NPU path end to end (detect, align, embed,
/// gallery), not recognition.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuServiceTests : IAsyncLifetime
{
    private string _dir = "";
    private RunningService? _service;

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        _dir = Path.Combine(FakeShim.StateDir, "face-npu-" + Guid.NewGuid().ToString("N"));
        var models = Path.Combine(_dir, "models", FaceModels.NpuDefault);
        FakeFaceHef.Scrfd(models, "scrfd_10g.hef", PlantedFaces.Levels([FaceServiceFixture.Face]));
        FakeFaceHef.ArcFace(models, "arcface_mobilefacenet.hef", Enumerable.Range(0, 512).Select(i => MathF.Cos(i * 0.21f)).ToArray());
        var config = new FaceConfig { Device = Backend.Npu };
        config.Models.Dir = Path.Combine(_dir, "models");
        config.Models.SearchPaths = [];
        config.Gallery.Path = Path.Combine(_dir, "gallery.db");
        _service = await RunningService.StartAsync(HailoFace.FaceService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    [Fact]
    public async Task Npu_backend_detects_embeds_and_recognises()
    {
        var client = _service!.Client;
        HttpContent Png() => new ByteArrayContent(FaceServiceFixture.Alice.Value) { Headers = { ContentType = new("image/png") } };
        var detect = JsonDocument.Parse(await (await client.PostAsync("/v1/detect", Png())).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("npu", detect.GetProperty("backend").GetString());
        Assert.Equal(200, detect.GetProperty("faces")[0].GetProperty("bbox")[0].GetDouble(), 0.5);
        var embed = JsonDocument.Parse(await (await client.PostAsync("/v1/embed", Png())).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(512, embed.GetProperty("dimension").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/database/add?name=npu", Png())).StatusCode);
        var r = JsonDocument.Parse(await (await client.PostAsync("/v1/recognize", Png())).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("npu", r.GetProperty("faces")[0].GetProperty("identity").GetString());
    }
}
