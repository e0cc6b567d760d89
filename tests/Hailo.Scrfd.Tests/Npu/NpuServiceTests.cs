using System.Net;
using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using HailoScrfd;
using Xunit;

namespace Hailo.Scrfd.Tests.Npu;

/// <summary>
/// hailo-scrfd on the NPU backend against the shim's fake: a fake scrfd_10g.hef encoding the fixture's scene; the
/// API finds the faces where the canned heads put them (the fake ignores the image itself).
/// </summary>
[Collection("fake-shim")]
public sealed class NpuServiceTests : IAsyncLifetime
{
    private string _models = "";
    private RunningService? _service;

    /// <summary>Writes a fake scrfd_10g.hef with <see cref="ScrfdServiceFixture.Scene"/> into models/scrfd_10g/.</summary>
    internal static void WriteFakeHef(string models) =>
        FakeFaceHef.Scrfd(Path.Combine(models, ScrfdModels.NpuDefault), "scrfd_10g.hef", PlantedFaces.Levels(ScrfdServiceFixture.Scene()));

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        _models = Path.Combine(FakeShim.StateDir, "scrfd-models-" + Guid.NewGuid().ToString("N"));
        WriteFakeHef(_models);
        var config = new ScrfdConfig { Device = Backend.Npu };
        config.Models.Dir = _models;
        config.Models.SearchPaths = [];
        _service = await RunningService.StartAsync(ScrfdService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    [Fact]
    public async Task Npu_backend_detects_and_aligns_the_canned_faces()
    {
        var client = _service!.Client;
        var png = new ByteArrayContent(ScrfdServiceFixture.Image()) { Headers = { ContentType = new("image/png") } };
        var r = await client.PostAsync("/v1/detect", png);
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("npu", body.GetProperty("backend").GetString());
        Assert.Equal("scrfd_10g.hef", body.GetProperty("model_file").GetString());
        Assert.Equal(2, body.GetProperty("num_faces").GetInt32());
        var e = ScrfdServiceFixture.Expected[0];
        var bbox = body.GetProperty("faces")[0].GetProperty("bbox").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(e.Box.X1, bbox[0], 0.5);
        Assert.Equal(e.Box.Height, bbox[3], 0.5);
        var aligned = JsonDocument.Parse(await (await client.PostAsync("/v1/align",
            new ByteArrayContent(ScrfdServiceFixture.Image()) { Headers = { ContentType = new("image/png") } })).Content.ReadAsStringAsync()).RootElement;
        var m = aligned.GetProperty("faces")[0].GetProperty("transform").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(ScrfdServiceFixture.PlacedA.Inverse().A, m[0], 1e-3);
    }
}
