using Hailo.Core;
using Hailo.TestSupport;
using HailoOllama;
using Xunit;

namespace Hailo.Ollama.Tests;

/// <summary>The service on a free port with a tiny random qwen2 GGUF installed as the default model (qwen2.5:0.5b).</summary>
public sealed class OllamaFixture : IAsyncLifetime
{
    public string ModelsDir { get; } = Directory.CreateTempSubdirectory("hailo-ollama-test-").FullName;
    public RunningService Service { get; private set; } = null!;
    public HttpClient Client => Service.Client;

    public static string WriteDefaultModel(string modelsDir, int seed = 1)
    {
        var dir = Path.Combine(modelsDir, "qwen2.5:0.5b");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "qwen2.5-0.5b-instruct-q4_k_m.gguf");
        GgufWriter.Write(path, new GgufWriter.Spec("qwen2", Seed: seed));
        return path;
    }

    public static OllamaConfig Config(string modelsDir)
    {
        var c = new OllamaConfig { Device = Backend.Cpu };
        c.Models.Dir = modelsDir;
        c.Models.SearchPaths = [];
        c.Cpu.Threads = 1;
        c.Ollama.NumCtx = 512;
        c.Ollama.MaxNumCtx = 4096;
        c.Server.MaxQueuedRequests = 2;
        // No KV-cache arbitration unless a test gives its own bus (never the machine's system bus).
        c.KvCache.Bus = "none";
        return c;
    }

    public async Task InitializeAsync()
    {
        WriteDefaultModel(ModelsDir);
        Service = await RunningService.StartAsync(OllamaService.Definition, Config(ModelsDir));
        await Service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        Directory.Delete(ModelsDir, true);
    }
}
