using System.Text.Json;
using Hailo.Runtime;
using Hailo.TestSupport;
using HailoOcr;
using Microsoft.Extensions.DependencyInjection;
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
            await using var s = await RunningService.StartAsync(OcrService.Definition, config,
                b => b.Services.AddSingleton<Func<NpuProbe>>(() => new NpuProbe(false, "no NPU (the test's probe)")));
            await s.StartupCompleted;
            // Not ready (no model installed): /health answers 503 with the same body.
            var r = await s.Client.GetAsync("/health");
            var h = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("cpu", h.GetProperty("backend").GetString());
            Assert.Equal("device: auto; no NPU (the test's probe); using the CPU", h.GetProperty("backend_reason").GetString());
        }
        finally
        {
            Directory.Delete(config.Models.Dir, true);
        }
    }
}
