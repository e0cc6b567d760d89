using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using HailoOcr;
using Xunit;
using static Hailo.Ocr.Tests.Npu.FakeOcrTensors;

namespace Hailo.Ocr.Tests.Npu;

/// <summary>
/// The whole service on the NPU backend, against the shim's fake: backend selection, the NPU pipeline behind the
/// HTTP API, a device lost mid-service (503, then recovery without a restart). The fake's canned tensors make the
/// answer known; what a real HEF reads needs a Pi with the Hailo-10H.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuServiceTests : IAsyncLifetime
{
    private string _models = "";
    private RunningService? _service;
    private HttpClient Client => _service!.Client;

    public async Task InitializeAsync()
    {
        _ = NpuTestShim.Runtime;
        _models = Path.Combine(FakeShim.StateDir, "ocr-models-" + Guid.NewGuid().ToString("N"));
        var dir = Path.Combine(_models, OcrModels.NpuDefault);
        // A text rectangle at x 100..500, y 200..240 of the 960×544 map, and recognition frames reading "Hailo 10H".
        NpuTestShim.Model("ocr_det.json", "ocr_det_map.bin", DetMapU8(960, 544, (100, 200, 500, 240)), dir, OcrModels.NpuDetFile);
        NpuTestShim.Model("ocr_rec.json", "ocr_rec_out.bin", Probabilities(Frames("Hailo 10H")), dir, OcrModels.NpuRecFile);
        var config = new OcrConfig { Device = Backend.Npu };
        config.Models.Dir = _models;
        config.Models.SearchPaths = [];
        _service = await RunningService.StartAsync(OcrService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private static HttpContent Image()
    {
        using var img = Hailo.Media.RgbaImage.Filled(960, 544, 240, 240, 240);
        return new ByteArrayContent(img.Encode(Hailo.Media.ImageFormat.Png)) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } };
    }

    [Fact]
    public async Task Npu_backend_is_chosen_and_serves_the_api()
    {
        var health = JsonDocument.Parse(await Client.GetStringAsync("/health")).RootElement;
        Assert.Equal("npu", health.GetProperty("backend").GetString());
        Assert.Contains("device: npu; FAKE", health.GetProperty("backend_reason").GetString());
        Assert.Equal("paddleocr-hailo10h", health.GetProperty("models")[0].GetProperty("name").GetString());
        Assert.True(health.GetProperty("ready").GetBoolean());

        var r = await Client.PostAsync("/v1/ocr/extract", Image());
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("Hailo 10H", body.GetProperty("text").GetString());
        Assert.Equal("npu", body.GetProperty("model").GetProperty("backend").GetString());
        Assert.Equal("ocr_det.hef", body.GetProperty("model").GetProperty("detection_model").GetString());
        // The rectangle, grown by the unclip distance, in image pixels (map and image are both 960×544).
        var bbox = body.GetProperty("regions")[0].GetProperty("bbox");
        Assert.InRange(bbox[0][0].GetDouble(), 60, 100);
        Assert.InRange(bbox[2][0].GetDouble(), 500, 540);
        Assert.InRange(bbox[0][1].GetDouble(), 160, 200);
        Assert.InRange(bbox[2][1].GetDouble(), 240, 280);
    }

    [Fact]
    public async Task Chinese_is_refused_on_the_english_only_npu_model()
    {
        var json = $$"""{"image":"{{Convert.ToBase64String(await Image().ReadAsByteArrayAsync())}}","languages":["zh"]}""";
        var r = await Client.PostAsync("/v1/ocr/extract", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("unsupported_language", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Device_lost_answers_503_and_the_service_recovers_when_the_device_answers_again()
    {
        Assert.Equal(HttpStatusCode.OK, (await Client.PostAsync("/v1/ocr/extract", Image())).StatusCode);
        using (FakeShim.Faults("device_lost"))
        {
            var r = await Client.PostAsync("/v1/ocr/extract", Image());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.NotNull(r.Headers.RetryAfter);
            var text = await r.Content.ReadAsStringAsync();
            Assert.Contains("backend_fault", text);
            Assert.Contains("HAILO_", text);
            var health = await Client.GetAsync("/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("NPU fault", await health.Content.ReadAsStringAsync());
        }
        // After the back-off the next request reloads the pipeline on the (again answering) device.
        HttpResponseMessage? ok = null;
        for (var i = 0; i < 40 && ok?.StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(250);
            ok = await Client.PostAsync("/v1/ocr/extract", Image());
        }
        Assert.Equal(HttpStatusCode.OK, ok!.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Client.GetAsync("/health")).StatusCode);
    }
}

[CollectionDefinition("fake-shim")]
public sealed class FakeShimCollection;
