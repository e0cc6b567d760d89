using Hailo.Core;
using Hailo.Media;
using Hailo.TestSupport;
using HailoDepth;
using Xunit;

namespace Hailo.Depth.Tests;

/// <summary>
/// One hailo-depth instance on the CPU backend with a generated MiDaS-small-like model (real file name and I/O),
/// and the 1280×720 test image: bright left half, dark right half, so the expected depths are known.
/// </summary>
public sealed class DepthServiceFixture : IAsyncLifetime
{
    public const int Width = 1280, Height = 720;
    public static readonly (byte R, byte G, byte B) Left = (250, 250, 250), Right = (10, 20, 30);
    private RunningService? _service;

    public string ModelsDir { get; } = Directory.CreateTempSubdirectory("hailo-depth-models-").FullName;
    public RunningService Service => _service ?? throw new InvalidOperationException("not started");
    public HttpClient Client => Service.Client;

    /// <summary>Relative depth of each half: 1 / (ImageNet-normalised channel mean + 3), the model's output inverted.</summary>
    public static float LeftDepth => 1 / (DepthOnnx.ChannelMean(Normalization.ImageNet, Left.R, Left.G, Left.B) + 3);
    public static float RightDepth => 1 / (DepthOnnx.ChannelMean(Normalization.ImageNet, Right.R, Right.G, Right.B) + 3);

    public static void WriteModel(string modelsDir)
    {
        var dir = Path.Combine(modelsDir, DepthModels.CpuDefault);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "model-small.onnx"), DepthOnnx.MidasLike());
    }

    public static byte[] Image(ImageFormat format = ImageFormat.Png)
    {
        using var img = DepthOnnx.Halves(Width, Height, Left, Right);
        return img.Encode(format, 95);
    }

    public async Task InitializeAsync()
    {
        WriteModel(ModelsDir);
        var config = new DepthConfig { Device = Backend.Cpu };
        config.Models.Dir = ModelsDir;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        _service = await RunningService.StartAsync(DepthService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(ModelsDir, true);
    }
}

[CollectionDefinition("depth-service")]
public sealed class DepthServiceCollection : ICollectionFixture<DepthServiceFixture>;
