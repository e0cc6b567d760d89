using Hailo.Core;
using Hailo.Media;
using Hailo.TestSupport;
using HailoClip;
using Xunit;

namespace Hailo.Clip.Tests;

/// <summary>
/// One hailo-clip instance on the CPU backend with the generated towers of <see cref="ClipTestModel"/> installed as
/// clip-vit-b-32 (the real export's file names and I/O signature), and an image index in a temporary directory.
/// </summary>
public sealed class ClipServiceFixture : IAsyncLifetime
{
    private RunningService? _service;

    public string Dir { get; } = Directory.CreateTempSubdirectory("hailo-clip-").FullName;
    public string ModelsDir => Path.Combine(Dir, "models");
    public string IndexPath => Path.Combine(Dir, "index", "index.sqlite");
    public RunningService Service => _service ?? throw new InvalidOperationException("not started");
    public HttpClient Client => Service.Client;

    /// <summary>Writes the generated model where the service looks for clip-vit-b-32.</summary>
    public static void WriteModel(string modelsDir) =>
        ClipTestModel.Write(Path.Combine(modelsDir, ClipModels.CpuDefault), "vision_model.onnx", "text_model.onnx", "merges.txt");

    public static byte[] Image(byte r, byte g, byte b, int width = 320, int height = 240, ImageFormat format = ImageFormat.Png)
    {
        using var img = RgbaImage.Filled(width, height, r, g, b);
        return img.Encode(format, 95);
    }

    public async Task InitializeAsync()
    {
        WriteModel(ModelsDir);
        var config = new ClipConfig { Device = Backend.Cpu };
        config.Models.Dir = ModelsDir;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        config.Index.Path = IndexPath;
        config.Index.MaxItems = 50;
        _service = await RunningService.StartAsync(ClipService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Dir, true);
    }
}

[CollectionDefinition("clip-service")]
public sealed class ClipServiceCollection : ICollectionFixture<ClipServiceFixture>;
