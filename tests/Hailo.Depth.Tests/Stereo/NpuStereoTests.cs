using System.Net;
using System.Text.Json;
using Hailo.Core;
using Hailo.Media;
using Hailo.Runtime;
using Hailo.Runtime.Npu;
using Hailo.TestSupport;
using HailoDepth;
using HailoDepth.Pipeline.Stereo;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Hailo.Depth.Tests.Stereo;

/// <summary>
/// A fake StereoNet "HEF" with the real I/O of Hailo's Hailo-10H build (<see cref="FakeNpuHefs.StereoNet"/>: two
/// uint8 368×1232×3 inputs, one uint8 368×1232×1 map), listed right input first as a reminder that the left one is found by its name. Its map is the
/// red channel of the input named `input_layer1`, at scale 0.5: a pair whose left image has red R answers R/2
/// network pixels everywhere, and one whose right image went into the left input answers the right image's red.
/// </summary>
internal static class FakeStereoHef
{
    public static string Write(string modelsDir) => FakeNpuHefs.StereoNet(Path.Combine(modelsDir, DepthModels.StereoNpuDefault));

    public static byte[] Png(int w, int h, byte red)
    {
        using var image = RgbaImage.Filled(w, h, red, 60, 60);
        return image.Encode(ImageFormat.Png);
    }
}

/// <summary>
/// The NPU stereo adapter and the service's stereo backend choice on the shim's fake device. What this proves is the
/// host side: which image goes into which input, de-quantisation, the stretch back to the pair's size with the
/// disparities scaled by the width ratio, the range and validity handling, /health, /v1/info and the 503 of a missing
/// HEF. The fake computes nothing stereo: StereoNet's accuracy is not measured here.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuStereoTests : IDisposable
{
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-depth-stereonet-").FullName;

    public NpuStereoTests() => _ = FakeShim.Runtime;

    public void Dispose() => Directory.Delete(_models, true);

    [Fact]
    public void The_left_image_goes_into_input_layer1_and_disparities_scale_with_the_width()
    {
        var hef = FakeStereoHef.Write(_models);
        using var vd = VDevice.Open();
        using var model = new NpuStereoModel(VisionModel.Load(vd, hef));
        Assert.Equal(1, model.LeftInput);
        Assert.Equal((1232, 368), model.InputSize);
        // Half the network's width: 100 red → 50 network pixels → 25 pixels of this pair.
        using var left = RgbaImage.Filled(616, 200, 100, 60, 60);
        using var right = RgbaImage.Filled(616, 200, 30, 60, 60);
        var map = model.Match(left, right);
        Assert.Equal((616, 200), (map.Width, map.Height));
        Assert.All(new[] { 0, 615, 200 * 616 / 2 + 300, 616 * 200 - 1 }, i => Assert.Equal(25f, map.Disparity[i], 4));
        Assert.Equal(616 * 200, map.ValidCount);

        // A zero disparity has no depth: flagged, not answered.
        using var black = RgbaImage.Filled(616, 200, 0, 60, 60);
        var none = model.Match(black, right);
        Assert.Equal(0, none.ValidCount);
        Assert.True(float.IsNaN(none.Disparity[0]));
        Assert.Equal((byte)StereoInvalid.NoMatch, none.Invalid[0]);
    }

    [Fact]
    public void A_hef_that_is_not_a_stereo_network_is_refused()
    {
        var dir = Path.Combine(_models, "x");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "mono.hef");
        File.WriteAllText(path, """
            {"kind": "vision", "inputs": [{"name": "x/input_layer1", "shape": [8, 8, 3], "type": "UINT8"}],
             "outputs": [{"name": "x/conv1", "shape": [8, 8, 1], "type": "UINT8"}]}
            """);
        using var vd = VDevice.Open();
        var e = Assert.Throws<InvalidDataException>(() => new NpuStereoModel(VisionModel.Load(vd, path)));
        Assert.Contains("two image inputs", e.Message);
    }

    private async Task<RunningService> Start(string stereoDevice, bool withHef, Backend device = Backend.Auto, bool preload = true)
    {
        if (withHef) FakeStereoHef.Write(_models);
        var config = new DepthConfig { Device = device };
        config.Models.Dir = _models;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        config.Stereo.Device = stereoDevice;
        config.Models.Preload = preload;
        var s = await RunningService.StartAsync(DepthService.Definition, config,
            b => b.Services.AddSingleton<Func<NpuProbe>>(() => new NpuProbe(true, "the test's probe: a Hailo-10H")));
        await s.StartupCompleted;
        return s;
    }

    private static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    private static async Task<string> StereoDetail(RunningService s) =>
        (await Json(await s.Client.GetAsync("/health"))).GetProperty("details").GetProperty("stereo").GetString()!;

    [Fact]
    public async Task With_the_hef_installed_auto_matches_pairs_on_the_npu()
    {
        await using var s = await Start("auto", withHef: true);
        Assert.StartsWith("npu: stereonet (stereo.device: auto; the test's probe", await StereoDetail(s));
        var info = await Json(await s.Client.GetAsync("/v1/info"));
        Assert.Equal("stereonet", info.GetProperty("stereo_model").GetProperty("name").GetString());
        Assert.Equal("npu", info.GetProperty("stereo_model").GetProperty("backend").GetString());

        var r = await s.Client.PostAsync("/v1/depth/stereo",
            StereoApiTests.Form(FakeStereoHef.Png(616, 200, 100), FakeStereoHef.Png(616, 200, 30), fields: [("output_format", "npy"), ("normalize", "false")]));
        var body = await Json(r);
        Assert.True(r.IsSuccessStatusCode, body.ToString());
        Assert.Equal("stereonet", body.GetProperty("model").GetString());
        Assert.Equal("npu", body.GetProperty("backend").GetString());
        Assert.Equal(1.0, body.GetProperty("valid_fraction").GetDouble());
        Assert.Equal(25, body.GetProperty("stats").GetProperty("median").GetDouble(), 3);

        // With a baseline and focal length: depth = f·B / d.
        r = await s.Client.PostAsync("/v1/depth/stereo",
            StereoApiTests.Form(FakeStereoHef.Png(616, 200, 100), FakeStereoHef.Png(616, 200, 30), fields: [("focal_px", "500"), ("baseline_m", "0.1"), ("normalize", "false")]));
        body = await Json(r);
        Assert.True(r.IsSuccessStatusCode, body.ToString());
        Assert.Equal("metre", body.GetProperty("unit").GetString());
        Assert.Equal(2.0, body.GetProperty("stats").GetProperty("median").GetDouble(), 3);

        // Disparities beyond the requested range are no match, as the CPU matcher never finds them.
        r = await s.Client.PostAsync("/v1/depth/stereo",
            StereoApiTests.Form(FakeStereoHef.Png(616, 200, 100), FakeStereoHef.Png(616, 200, 30), fields: [("num_disparities", "20")]));
        body = await Json(r);
        Assert.True(r.IsSuccessStatusCode, body.ToString());
        Assert.Equal(0.0, body.GetProperty("valid_fraction").GetDouble());
        Assert.Equal(616 * 200, body.GetProperty("invalid").GetProperty("no_match").GetInt32());

        // The same checks as on the CPU: a pair of two sizes is a 400.
        r = await s.Client.PostAsync("/v1/depth/stereo", StereoApiTests.Form(FakeStereoHef.Png(616, 200, 100), FakeStereoHef.Png(600, 200, 30)));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("image_size_mismatch", (await Json(r)).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Without_the_hef_auto_matches_on_the_cpu_and_npu_says_what_is_missing()
    {
        await using (var auto = await Start("auto", withHef: false))
        {
            var detail = await StereoDetail(auto);
            Assert.StartsWith("cpu: semi-global matching (stereo.device: auto;", detail);
            Assert.Contains("stereonet.hef", detail);
            var health = await Json(await auto.Client.GetAsync("/health"));
            Assert.DoesNotContain(health.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == "stereonet");
        }

        // Shown from the start, also when nothing is preloaded.
        await using (var cpu = await Start("auto", withHef: true, device: Backend.Cpu, preload: false))
            Assert.Equal("cpu: semi-global matching (device: cpu)", await StereoDetail(cpu));

        Directory.Delete(Path.Combine(_models, DepthModels.StereoNpuDefault), true);
        await using var npu = await Start("npu", withHef: false);
        Assert.StartsWith("npu: stereonet (stereo.device: npu;", await StereoDetail(npu));
        var r = await npu.Client.PostAsync("/v1/depth/stereo", StereoApiTests.Form(FakeStereoHef.Png(64, 32, 100), FakeStereoHef.Png(64, 32, 30)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        var error = (await Json(r)).GetProperty("error");
        Assert.Contains("stereonet.hef", error.GetProperty("message").GetString());
        var model = (await Json(await npu.Client.GetAsync("/health"))).GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "stereonet");
        Assert.Equal("missing", model.GetProperty("state").GetString());
    }
}
