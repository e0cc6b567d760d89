using Hailo.Core;
using Hailo.Media;
using Hailo.TestSupport;
using HailoFlorence;
using Xunit;

namespace Hailo.Florence.Tests;

/// <summary>One hailo-florence on the CPU backend with the generated model of <see cref="FlorenceTestModel"/> installed as florence-2-base.</summary>
public sealed class FlorenceServiceFixture : IAsyncLifetime
{
    private RunningService? _service;

    public string Dir { get; } = Directory.CreateTempSubdirectory("hailo-florence-").FullName;
    public string ModelsDir => Path.Combine(Dir, "models");
    public RunningService Service => _service ?? throw new InvalidOperationException("not started");
    public HttpClient Client => Service.Client;

    public static byte[] Image(byte r, byte g, byte b, int width = 320, int height = 240, ImageFormat format = ImageFormat.Png)
    {
        using var img = RgbaImage.Filled(width, height, r, g, b);
        return img.Encode(format, 95);
    }

    public async Task InitializeAsync()
    {
        FlorenceTestModel.Write(Path.Combine(ModelsDir, FlorenceModels.CpuDefault));
        var config = new FlorenceConfig { Device = Backend.Cpu };
        config.Models.Dir = ModelsDir;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        // The generated vocabulary spells most words byte by byte, so the prompts it echoes repeat trigrams that
        // Florence-2's real vocabulary holds as single tokens: the n-gram ban stays off here (tested on its own).
        config.Florence.NoRepeatNgramSize = 0;
        _service = await RunningService.StartAsync(FlorenceService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(Dir, true);
    }
}

[CollectionDefinition("florence-service")]
public sealed class FlorenceServiceCollection : ICollectionFixture<FlorenceServiceFixture>;
