using Hailo.Runtime;
using Hailo.TestSupport;
using HailoOcr;
using Xunit;

namespace Hailo.Ocr.Tests;

/// <summary>The NPU probe that <see cref="ModelEngine{T}"/> asks is a service: tests register their own.</summary>
public sealed class ProbeTests
{
    [Fact]
    public async Task Device_auto_asks_the_probe_registered_in_the_services()
    {
        var config = new OcrConfig();
        config.Models.Dir = Directory.CreateTempSubdirectory("hailo-ocr-probe-").FullName;
        config.Models.SearchPaths = [];
        config.Models.Preload = false;
        try
        {
            await ProbeChecks.AutoUsesTheRegisteredProbeAsync(OcrService.Definition, config);
        }
        finally
        {
            Directory.Delete(config.Models.Dir, true);
        }
    }
}
