using System.Net;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using HailoClip;
using Xunit;

namespace Hailo.Clip.Tests.Npu;

/// <summary>
/// The whole service on the NPU backend against the shim's fake (<see cref="FakeClipHefs"/>): backend selection, the
/// host side of the text encoder (token ids → end-token row → text projection → L2), the image encoder's
/// de-quantisation, classify and embeddings on the NPU, and a device lost mid-service (503, then recovery). The fake
/// ignores its inputs, so the token-embedding lookup's values are not observable here.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuServiceTests : IAsyncLifetime
{
    private string _dir = "";
    private RunningService? _service;
    private HttpClient Client => _service!.Client;

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        _dir = Path.Combine(FakeShim.StateDir, "clip-" + Guid.NewGuid().ToString("N"));
        FakeClipHefs.Write(Path.Combine(_dir, "models"));
        var config = new ClipConfig { Device = Backend.Npu };
        config.Models.Dir = Path.Combine(_dir, "models");
        config.Models.SearchPaths = [];
        config.Index.Path = Path.Combine(_dir, "index.sqlite");
        _service = await RunningService.StartAsync(ClipService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, true);
    }

    private static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> Body(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Npu_backend_embeds_text_from_the_end_token_row_through_the_projection()
    {
        var health = JsonDocument.Parse(await Client.GetStringAsync("/health")).RootElement;
        Assert.Equal("npu", health.GetProperty("backend").GetString());
        Assert.True(health.GetProperty("ready").GetBoolean());

        var body = await Body(await Client.PostAsync("/v1/embed/text", Json("""{"texts": ["red", "red blue", "red blue green"]}""")));
        Assert.Equal("npu", body.GetProperty("backend").GetString());
        Assert.Equal("clip_vit_b_32", body.GetProperty("model").GetString());
        for (var k = 0; k < 3; k++)
        {
            var e = body.GetProperty("embeddings")[k].EnumerateArray().Select(x => x.GetDouble()).ToArray();
            Assert.Equal(512, e.Length);
            for (var i = 0; i < 512; i++) Assert.Equal(i == k ? 1.0 : 0.0, e[i], 6);
        }
    }

    [Fact]
    public async Task Npu_image_embedding_is_dequantised_and_normalised_and_classify_ranks_by_it()
    {
        var png = Convert.ToBase64String(ClipServiceFixture.Image(1, 2, 3));
        var img = await Body(await Client.PostAsync("/v1/embed/image", Json($$"""{"image": "{{png}}"}""")));
        var e = img.GetProperty("embedding").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var n = Math.Sqrt(0.5 * 0.5 + 0.3 * 0.3);
        Assert.Equal(0.5 / n, e[0], 5);
        Assert.Equal(-0.3 / n, e[1], 5);
        Assert.All(e[2..], x => Assert.Equal(0, x, 6));

        var c = await Body(await Client.PostAsync("/v1/classify", Json($$"""{"image": "{{png}}", "prompts": ["red blue green", "red", "red blue"], "softmax": false, "threshold": -1}""")));
        var ranked = c.GetProperty("classifications").EnumerateArray().Select(x => (x.GetProperty("text").GetString(), x.GetProperty("score").GetDouble())).ToArray();
        Assert.Equal("red", ranked[0].Item1);
        Assert.Equal(0.5 / n, ranked[0].Item2, 5);
        Assert.Equal("red blue green", ranked[1].Item1);
        Assert.Equal("red blue", ranked[2].Item1);
        Assert.Equal(-0.3 / n, ranked[2].Item2, 5);
    }

    [Fact]
    public async Task Device_lost_answers_503_and_the_service_recovers()
    {
        var png = Convert.ToBase64String(ClipServiceFixture.Image(9, 9, 9));
        var request = $$"""{"image": "{{png}}"}""";
        Assert.Equal(HttpStatusCode.OK, (await Client.PostAsync("/v1/embed/image", Json(request))).StatusCode);
        using (FakeShim.Faults("device_lost"))
        {
            var r = await Client.PostAsync("/v1/embed/image", Json(request));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Contains("backend_fault", await r.Content.ReadAsStringAsync());
        }
        HttpResponseMessage? ok = null;
        for (var i = 0; i < 40 && ok?.StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(250);
            ok = await Client.PostAsync("/v1/embed/image", Json(request));
        }
        Assert.Equal(HttpStatusCode.OK, ok!.StatusCode);
    }
}

[CollectionDefinition("fake-shim")]
public sealed class FakeShimCollection;
