using Hailo.Core;
using Hailo.Media;
using Hailo.TestSupport;
using HailoFace;
using Xunit;

namespace Hailo.FaceService.Tests;

/// <summary>
/// One hailo-face instance on the CPU backend with generated models of the real signatures: a SCRFD that finds one
/// face at a known place in any image that is not black, and an ArcFace stand-in whose embedding is a fixed random
/// projection of the pooled aligned crop (so crops of different colour give clearly different embeddings, the same
/// crop the same one). "People" are therefore images of different colours: what the tests prove is the pipeline and
/// the gallery, not recognition of real faces.
/// </summary>
public sealed class FaceServiceFixture : IAsyncLifetime
{
    public const int Size = 640;
    /// <summary>The planted face in image pixels (the image is 640×640, so input pixels are image pixels).</summary>
    public static readonly PlantedFace Face = PlantedFaces.Face(200, 100, 330, 260);

    private RunningService? _service;
    public string Dir { get; } = Directory.CreateTempSubdirectory("hailo-face-").FullName;
    public string ModelsDir => Path.Combine(Dir, "models");
    public string GalleryPath => Path.Combine(Dir, "gallery.db");
    public RunningService Service => _service ?? throw new InvalidOperationException("not started");
    public HttpClient Client => Service.Client;

    public static void WriteModels(string modelsDir)
    {
        var dir = Path.Combine(modelsDir, FaceModels.CpuDefault);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "scrfd_2.5g_bnkps.onnx"), PlantedFaces.ScrfdModel([Face]));
        File.WriteAllBytes(Path.Combine(dir, "w600k_mbf.onnx"), FaceOnnx.ArcFace());
    }

    /// <summary>An image of one colour: a "person" to the generated models.</summary>
    public static byte[] Person(byte r, byte g, byte b, ImageFormat format = ImageFormat.Png)
    {
        using var img = RgbaImage.Filled(Size, Size, r, g, b);
        return img.Encode(format, 95);
    }

    public static readonly Lazy<byte[]> Alice = new(() => Person(220, 60, 60));
    public static readonly Lazy<byte[]> Bob = new(() => Person(60, 60, 220));
    public static readonly Lazy<byte[]> Stranger = new(() => Person(60, 220, 60));

    public async Task InitializeAsync()
    {
        WriteModels(ModelsDir);
        var config = new FaceConfig { Device = Backend.Cpu };
        config.Models.Dir = ModelsDir;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        config.Gallery.Path = GalleryPath;
        config.Server.MaxQueuedRequests = 64;
        _service = await RunningService.StartAsync(HailoFace.FaceService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(Dir, true);
    }
}

[CollectionDefinition("face-service")]
public sealed class FaceServiceCollection : ICollectionFixture<FaceServiceFixture>;
