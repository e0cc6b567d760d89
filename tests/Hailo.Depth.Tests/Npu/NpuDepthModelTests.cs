using System.Globalization;
using System.Runtime.InteropServices;
using Hailo.Media;
using Hailo.Runtime.Npu;
using Hailo.TestSupport;
using HailoDepth;
using HailoDepth.Pipeline;
using Xunit;

namespace Hailo.Depth.Tests.Npu;

/// <summary>Writes a fake scdepthv3 "HEF": input 256×320×3 uint8, output 256×320×1 uint16 logits with the given codes.</summary>
internal static class FakeDepthHef
{
    public const float Scale = 0.00035f, ZeroPoint = 30000;

    public static string Write(string dir, string fileName, ushort[] codes, int width = 320, int height = 256)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, fileName + ".bin"), MemoryMarshal.AsBytes(codes.AsSpan()).ToArray());
        var json = string.Create(CultureInfo.InvariantCulture, $$$"""
            {"kind": "vision",
             "inputs": [{"name": "scdepthv3/input_layer1", "shape": [256, 320, 3], "type": "UINT8", "order": "NHWC", "quant": {"scale": 1.0, "zp": 0}}],
             "outputs": [{"name": "scdepthv3/conv31", "shape": [{{{height}}}, {{{width}}}, 1], "type": "UINT16", "order": "NHWC",
                          "quant": {"scale": {{{Scale:R}}}, "zp": {{{ZeroPoint:R}}}, "min": {{{-ZeroPoint * Scale:R}}}, "max": {{{(65535 - ZeroPoint) * Scale:R}}}},
                          "data_file": "{{{fileName}}}.bin"}]}
            """);
        var path = Path.Combine(dir, fileName);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Logit codes rising linearly from left to right: logit(x) = −6 + 12·x/319.</summary>
    public static ushort[] Ramp(out Func<int, double> logitAtColumn)
    {
        logitAtColumn = x => Math.Round((-6 + 12.0 * x / 319) / Scale) * Scale;
        var codes = new ushort[256 * 320];
        for (var y = 0; y < 256; y++)
            for (var x = 0; x < 320; x++)
                codes[y * 320 + x] = (ushort)(Math.Round((-6 + 12.0 * x / 319) / Scale) + ZeroPoint);
        return codes;
    }

    public static double Depth(double logit) => 1 / (10 / (1 + Math.Exp(-logit)) + 0.009);
}

/// <summary>
/// The NPU adapter against a fake scdepthv3 "HEF" with the real I/O (uint8 256×320×3 in, uint16 256×320×1 out) and
/// canned logits: proves stream discovery, de-quantisation, the scdepth formula and the resize back. The fake ignores
/// the image, so nothing here reflects the real HEF's depth quality.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuDepthModelTests : IDisposable
{
    private readonly VDevice _vd;
    private readonly string _dir;

    public NpuDepthModelTests()
    {
        _ = FakeShim.Runtime;
        _vd = VDevice.Open();
        _dir = Path.Combine(FakeShim.StateDir, "depth-" + Guid.NewGuid().ToString("N"));
    }

    public void Dispose()
    {
        _vd.Dispose();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    [Fact]
    public void Uint16_logits_become_scdepth_depth_at_the_model_size()
    {
        var hef = FakeDepthHef.Write(_dir, "scdepthv3.hef", FakeDepthHef.Ramp(out var logit));
        using var model = new NpuDepthModel(VisionModel.Load(_vd, hef));
        Assert.Equal((320, 256), model.InputSize);
        Assert.Equal((320, 256), model.OutputSize);
        using var pipeline = new DepthPipeline(model, DepthModels.ScdepthV3Hailo);
        using var image = RgbaImage.Filled(320, 256, 1, 2, 3);
        var r = pipeline.Run(image);
        foreach (var x in new[] { 0, 1, 100, 160, 319 })
            Assert.Equal(FakeDepthHef.Depth(logit(x)), r.Depth[77 * 320 + x], 1e-5);
        Assert.True(r.Depth[0] > r.Depth[319], "higher logits are nearer");
        Assert.Equal(FakeDepthHef.Depth(logit(319)), r.Stats!.Min, 1e-5);
    }

    [Theory]
    [InlineData(1280, 720)]
    [InlineData(160, 512)]
    public void The_map_is_resized_back_to_the_image(int width, int height)
    {
        var hef = FakeDepthHef.Write(_dir, "scdepthv3.hef", FakeDepthHef.Ramp(out var logit));
        using var pipeline = new DepthPipeline(new NpuDepthModel(VisionModel.Load(_vd, hef)), DepthModels.ScdepthV3Hailo);
        using var image = RgbaImage.Filled(width, height, 9, 9, 9);
        var r = pipeline.Run(image);
        Assert.Equal(width * height, r.Depth.Length);
        // Image column x samples model column (x + 0.5)·320/width − 0.5; interpolate the model's depths there.
        foreach (var x in new[] { width / 7, width / 2, width - width / 5 })
        {
            var m = (x + 0.5) * 320 / width - 0.5;
            int m0 = (int)Math.Floor(m), m1 = m0 + 1;
            var expected = FakeDepthHef.Depth(logit(m0)) + (FakeDepthHef.Depth(logit(m1)) - FakeDepthHef.Depth(logit(m0))) * (m - m0);
            Assert.Equal(expected, r.Depth[(height / 3) * width + x], 1e-4);
        }
    }

    [Fact]
    public void A_hef_without_a_one_channel_map_is_refused()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "x.hef");
        File.WriteAllText(path, """
            {"kind": "vision", "inputs": [{"name": "x/in", "shape": [256, 320, 3], "type": "UINT8"}],
             "outputs": [{"name": "x/conv1", "shape": [256, 320, 2], "type": "UINT16"}]}
            """);
        var e = Assert.Throws<InvalidDataException>(() => new NpuDepthModel(VisionModel.Load(_vd, path)));
        Assert.Contains("expected exactly one 1-channel depth map", e.Message);
    }
}
