using Hailo.Core;
using Hailo.Runtime;
using Hailo.TestSupport;
using HailoOllama;
using Xunit;

namespace Hailo.Ollama.Tests;

/// <summary>The NPU probe is a service: a test (or another host) registers its own <c>Func&lt;NpuProbe&gt;</c>.</summary>
public sealed class ProbeTests
{
    [Fact]
    public async Task Device_auto_asks_the_probe_registered_in_the_services()
    {
        var models = Directory.CreateTempSubdirectory("hailo-ollama-probe-").FullName;
        try
        {
            var c = OllamaFixture.Config(models);
            c.Device = Backend.Auto;
            // A model with an HEF in the catalog, so that auto asks whether there is an NPU.
            c.Ollama.DefaultModel = "qwen2.5:1.5b";
            c.Models.Preload = false;
            await ProbeChecks.AutoUsesTheRegisteredProbeAsync(OllamaService.Definition, c);
        }
        finally
        {
            Directory.Delete(models, true);
        }
    }
}
