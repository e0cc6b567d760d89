using System.Numerics;
using Hailo.Core;
using Hailo.Face;
using Hailo.Media;
using Hailo.TestSupport;
using HailoScrfd;
using Xunit;

namespace Hailo.Scrfd.Tests;

/// <summary>
/// One hailo-scrfd instance on the CPU backend with a generated scrfd_2.5g_bnkps.onnx (the real nine-output signature)
/// encoding a 1280×720 scene: face A whose landmarks are the ArcFace template under a known similarity transform,
/// face B (a plain box with landmarks), each with a weaker duplicate for NMS, and face C scoring 0.3. The model
/// input is 640×640, so image pixels are input pixels × 2.
/// </summary>
public sealed class ScrfdServiceFixture : IAsyncLifetime
{
    public const int Width = 1280, Height = 720;
    /// <summary>Where the template sits in the image for face A: ×3 (×1.5 in the input), turned 15°, at (300, 120).</summary>
    public static readonly SimilarityTransform PlacedA = SimilarityTransform.FromScaleAngle(3, 15 * Math.PI / 180, 300, 120);

    private RunningService? _service;

    public string ModelsDir { get; } = Directory.CreateTempSubdirectory("hailo-scrfd-models-").FullName;
    public RunningService Service => _service ?? throw new InvalidOperationException("not started");
    public HttpClient Client => Service.Client;

    /// <summary>The faces in image pixels, best first: A 0.9, B 0.7 (C at 0.3 is under the default threshold).</summary>
    public static readonly PlantedFace[] Expected = Scene().Select(f => new PlantedFace(
        new Hailo.Vision.Box(f.Box.X1 * 2, f.Box.Y1 * 2, f.Box.X2 * 2, f.Box.Y2 * 2), f.Landmarks.Select(p => p * 2).ToArray(), f.Score)).ToArray();

    /// <summary>The scene in model-input pixels.</summary>
    public static PlantedFace[] Scene()
    {
        var landmarksA = FaceLandmarks.ArcFaceTemplate.Select(p => PlacedA.Apply(p) / 2).ToArray();
        var boxA = new Hailo.Vision.Box(landmarksA.Min(p => p.X) - 30, landmarksA.Min(p => p.Y) - 40, landmarksA.Max(p => p.X) + 30, landmarksA.Max(p => p.Y) + 20);
        return [new PlantedFace(boxA, landmarksA, 0.9f), PlantedFaces.Face(400, 100, 460, 180, 0.7f), PlantedFaces.Face(500, 250, 540, 300, 0.3f)];
    }

    public static void WriteModel(string modelsDir)
    {
        var dir = Path.Combine(modelsDir, ScrfdModels.CpuDefault);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, ScrfdModels.CpuDefault + ".onnx"), PlantedFaces.ScrfdModel(Scene()));
    }

    private static readonly (byte R, byte G, byte B)[] Marks = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)];

    /// <summary>A light grey image with a coloured 11×11 square on each of face A's landmarks.</summary>
    public static byte[] Image(ImageFormat format = ImageFormat.Png)
    {
        var rgba = new byte[Width * Height * 4];
        for (var i = 0; i < rgba.Length; i += 4) (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (200, 190, 180, 255);
        var a = Expected[0].Landmarks;
        for (var k = 0; k < 5; k++)
            for (var y = (int)MathF.Round(a[k].Y) - 5; y <= (int)MathF.Round(a[k].Y) + 5; y++)
                for (var x = (int)MathF.Round(a[k].X) - 5; x <= (int)MathF.Round(a[k].X) + 5; x++)
                {
                    var o = (y * Width + x) * 4;
                    (rgba[o], rgba[o + 1], rgba[o + 2]) = Marks[k];
                }
        using var img = RgbaImage.FromRgba(rgba, Width, Height);
        return img.Encode(format, 95);
    }

    public static (byte R, byte G, byte B) Mark(int k) => Marks[k];

    public async Task InitializeAsync()
    {
        WriteModel(ModelsDir);
        var config = new ScrfdConfig { Device = Backend.Cpu };
        config.Models.Dir = ModelsDir;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        _service = await RunningService.StartAsync(ScrfdService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(ModelsDir, true);
    }
}

[CollectionDefinition("scrfd-service")]
public sealed class ScrfdServiceCollection : ICollectionFixture<ScrfdServiceFixture>;
