using System.Text.Json;
using Hailo.Hosting;
using Hailo.Hosting.Config;
using Hailo.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Hailo.TestSupport;

/// <summary>The NPU probe a service asks is the one registered in its services, not a static hook.</summary>
public static class ProbeChecks
{
    /// <summary>
    /// Starts the service with a registered probe that finds no NPU and checks that /health reports the CPU with the
    /// probe's own words (with `device: auto` and an NPU model in the config's choice).
    /// </summary>
    public static async Task AutoUsesTheRegisteredProbeAsync<TConfig>(ServiceDefinition<TConfig> definition, TConfig config) where TConfig : ServiceConfig
    {
        await using var s = await RunningService.StartAsync(definition, config,
            b => b.Services.AddSingleton<Func<NpuProbe>>(() => new NpuProbe(false, "no NPU (the test's probe)")));
        await s.StartupCompleted;
        // Not ready (no model installed): /health answers 503 with the same body.
        var r = await s.Client.GetAsync("/health");
        var h = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("cpu", h.GetProperty("backend").GetString());
        Assert.Equal("device: auto; no NPU (the test's probe); using the CPU", h.GetProperty("backend_reason").GetString());
    }
}
