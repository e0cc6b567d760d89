using Hailo.Core;
using Hailo.Media;
using Hailo.TestSupport;
using HailoPose;
using Xunit;

namespace Hailo.Pose.Tests;

/// <summary>
/// One hailo-pose instance on the CPU backend with a generated yolov8s-pose.onnx (real I/O signature) that encodes the
/// 1280×720 scene of <see cref="PoseOnnx.Scene"/>: three people, two duplicates for NMS, one below the threshold.
/// </summary>
public sealed class PoseServiceFixture : IAsyncLifetime
{
    public const int Width = 1280, Height = 720;
    private RunningService? _service;

    public string ModelsDir { get; } = Directory.CreateTempSubdirectory("hailo-pose-models-").FullName;
    public RunningService Service => _service ?? throw new InvalidOperationException("not started");
    public HttpClient Client => Service.Client;
    public KnownPerson[] Expected { get; private set; } = [];

    /// <summary>Writes the generated model where the service looks for yolov8s-pose.</summary>
    public static KnownPerson[] WriteModel(string modelsDir)
    {
        var (expected, encoded) = PoseOnnx.Scene(Width, Height);
        var dir = Path.Combine(modelsDir, PoseModels.CpuDefault);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "yolov8s-pose.onnx"), PoseOnnx.Build(encoded));
        return expected;
    }

    public static byte[] Image(ImageFormat format = ImageFormat.Png)
    {
        using var img = RgbaImage.Filled(Width, Height, 200, 190, 180);
        return img.Encode(format, 90);
    }

    public async Task InitializeAsync()
    {
        Expected = WriteModel(ModelsDir);
        var config = new PoseConfig { Device = Backend.Cpu };
        config.Models.Dir = ModelsDir;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        _service = await RunningService.StartAsync(PoseService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(ModelsDir, true);
    }
}

[CollectionDefinition("pose-service")]
public sealed class PoseServiceCollection : ICollectionFixture<PoseServiceFixture>;
