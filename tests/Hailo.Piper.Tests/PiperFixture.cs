using System.Text.Json;
using Hailo.TestSupport;
using HailoPiper;
using HailoPiper.Voices;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Hailo.Piper.Tests;

/// <summary>Test voices on disk: a Piper voice directory (.onnx + .onnx.json) the catalog picks up.</summary>
public static class TestVoices
{
    /// <summary>Writes &lt;dir&gt;/&lt;name&gt;/&lt;name&gt;.onnx (a stand-in: the fake loader never reads it) and its .onnx.json.</summary>
    public static void WritePiperVoice(string modelsDir, string name, int rate, string language, params string[] speakers)
    {
        var dir = Directory.CreateDirectory(Path.Combine(modelsDir, name)).FullName;
        File.WriteAllBytes(Path.Combine(dir, name + ".onnx"), [0x08, 0x07]);
        var map = string.Join(",", speakers.Select((s, i) => $"{JsonSerializer.Serialize(s)}:{i}"));
        File.WriteAllText(Path.Combine(dir, name + ".onnx.json"),
            "{\"audio\":{\"sample_rate\":" + rate + ",\"quality\":\"medium\"},\"espeak\":{\"voice\":\"en-us\"},\"language\":{\"code\":\"" + language +
            "\"},\"num_speakers\":" + Math.Max(1, speakers.Length) + ",\"speaker_id_map\":{" + map + "},\"phoneme_id_map\":{\"_\":[0]}}");    }
}

/// <summary>The service with the fake voice loader, a catalog voice installed (en_US-lessac-medium) and one found on disk.</summary>
public sealed class PiperFixture : IAsyncLifetime
{
    public string Models { get; } = Directory.CreateTempSubdirectory("hailo-piper-api-").FullName;
    public FakeVoiceLoader Loader { get; } = new();
    public RunningService Service { get; private set; } = null!;
    public HttpClient Client => Service.Client;

    public static PiperConfig Config(string models)
    {
        var config = new PiperConfig();
        config.Models.Dir = models;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        // The API tests were written against espeak-ng's voice as the default; the shipped default (flite:slt) is
        // what RealVoiceTests and ShippedConfigTests check.
        config.Piper.DefaultVoice = "espeak:en-us";
        foreach (var n in PiperModels.OpenAiVoiceNames) config.Piper.OpenaiVoices[n] = "espeak:en-us";
        return config;
    }

    public async Task InitializeAsync()
    {
        TestVoices.WritePiperVoice(Models, "en_US-lessac-medium", 22050, "en_US");
        TestVoices.WritePiperVoice(Models, "xx_XX-multi-low", 16000, "xx_XX", "alice", "bob");
        var config = Config(Models);
        config.Piper.OpenaiVoices["nova"] = "en_US-lessac-medium";
        Service = await RunningService.StartAsync(PiperService.Definition, config, b => b.Services.AddSingleton<IVoiceLoader>(Loader));
        await Service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        Directory.Delete(Models, true);
    }
}
