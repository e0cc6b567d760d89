using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Hailo.Core;
using Hailo.Media;
using Hailo.TestSupport;
using Hailo.Vision;
using HailoPose;
using Xunit;

namespace Hailo.Pose.Tests.Npu;

/// <summary>
/// The whole service on the NPU backend against the shim's fake: backend selection, the NPU pipeline behind the API
/// (people where the canned head tensors put them), a device lost mid-service (503, then recovery without a restart).
/// </summary>
[Collection("fake-shim")]
public sealed class NpuServiceTests : IAsyncLifetime
{
    private string _models = "";
    private RunningService? _service;
    private KnownPerson[] _expected = [];
    private HttpClient Client => _service!.Client;

    /// <summary>Writes a fake yolov8s_pose.hef encoding the people of a 1280×720 image into models/yolov8s_pose/.</summary>
    public static KnownPerson[] WriteFakeHef(string models)
    {
        var fit = LetterboxTransform.Fit(1280, 720, 640, 640);
        var people = Pipeline.YoloPoseHeadsTests.PeopleFor(1280, 720);
        var enc = new PoseHeadEncoder();
        foreach (var p in people) enc.Add(p.ToInput(fit));
        FakePoseHef.Write(Path.Combine(models, PoseModels.NpuDefault), "yolov8s_pose.hef", enc);
        return people;
    }

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        _models = Path.Combine(FakeShim.StateDir, "pose-models-" + Guid.NewGuid().ToString("N"));
        _expected = WriteFakeHef(_models);
        var config = new PoseConfig { Device = Backend.Npu };
        config.Models.Dir = _models;
        config.Models.SearchPaths = [];
        _service = await RunningService.StartAsync(PoseService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private static HttpContent Image()
    {
        using var img = RgbaImage.Filled(1280, 720, 240, 240, 240);
        return new ByteArrayContent(img.Encode(ImageFormat.Jpeg)) { Headers = { ContentType = new MediaTypeHeaderValue("image/jpeg") } };
    }

    [Fact]
    public async Task Npu_backend_is_chosen_and_finds_the_people_of_the_canned_heads()
    {
        var health = JsonDocument.Parse(await Client.GetStringAsync("/health")).RootElement;
        Assert.Equal("npu", health.GetProperty("backend").GetString());
        Assert.Equal("yolov8s_pose", health.GetProperty("models")[0].GetProperty("name").GetString());
        Assert.True(health.GetProperty("ready").GetBoolean());

        var r = await Client.PostAsync("/v1/pose/detect", Image());
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("npu", body.GetProperty("model").GetProperty("backend").GetString());
        Assert.Equal("yolov8s_pose.hef", body.GetProperty("model").GetProperty("file").GetString());
        Assert.Equal(3, body.GetProperty("count").GetInt32());
        for (var i = 0; i < 3; i++)
        {
            var box = body.GetProperty("poses")[i].GetProperty("box").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            Assert.Equal(_expected[i].X1, box[0], 1.0);
            Assert.Equal(_expected[i].Y2, box[3], 1.0);
        }
    }

    [Fact]
    public async Task Device_lost_answers_503_and_the_service_recovers_when_the_device_answers_again()
    {
        Assert.Equal(HttpStatusCode.OK, (await Client.PostAsync("/v1/pose/detect", Image())).StatusCode);
        using (FakeShim.Faults("device_lost"))
        {
            var r = await Client.PostAsync("/v1/pose/detect", Image());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.NotNull(r.Headers.RetryAfter);
            Assert.Contains("backend_fault", await r.Content.ReadAsStringAsync());
            Assert.Contains("NPU fault", await (await Client.GetAsync("/health")).Content.ReadAsStringAsync());
        }
        HttpResponseMessage? ok = null;
        for (var i = 0; i < 40 && ok?.StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(250);
            ok = await Client.PostAsync("/v1/pose/detect", Image());
        }
        Assert.Equal(HttpStatusCode.OK, ok!.StatusCode);
    }
}

[CollectionDefinition("fake-shim")]
public sealed class FakeShimCollection;
