using Hailo.Hosting;
using Hailo.Hosting.Config;
using Hailo.Hosting.Models;
using Hailo.Runtime.Npu;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hailo.Runtime;

/// <summary>
/// How a one-model service registers its <see cref="ModelEngine{T}"/>: the CPU and NPU models named by its config,
/// looked up in its catalog, and the two loaders that turn a located model into the service's pipeline. The engine is
/// a singleton and preloadable (loaded at start when the config says so).
/// </summary>
public static class ModelEngineRegistration
{
    /// <summary>
    /// Registers the engine for <paramref name="cpuModel"/> / <paramref name="npuModel"/> (catalog names). A service
    /// whose model has no NPU build passes null: <c>device: auto</c> then takes the CPU, and <c>device: npu</c> calls
    /// <paramref name="loadNpu"/> with the CPU model, whose answer (an exception saying why) the service's health shows.
    /// </summary>
    public static void AddModelEngine<TConfig, T>(this ServiceContext<TConfig> ctx, string cpuModel, string? npuModel,
        Func<ModelManifest, ModelLocation, T> loadCpu, Func<ModelManifest, VDevice, ModelLocation, T> loadNpu)
        where TConfig : ServiceConfig where T : class, IDisposable
    {
        ctx.Builder.Services.AddSingleton(sp => CreateModelEngine(ctx, sp.GetRequiredService<ILoggerFactory>().CreateLogger<T>(),
            sp.GetService<Func<NpuProbe>>(), cpuModel, npuModel, loadCpu, loadNpu));
        ctx.Builder.Services.AddSingleton<IPreloadable>(sp => sp.GetRequiredService<ModelEngine<T>>());
    }

    private static ModelEngine<T> CreateModelEngine<TConfig, T>(ServiceContext<TConfig> ctx, ILogger log, Func<NpuProbe>? probe,
        string cpuModel, string? npuModel, Func<ModelManifest, ModelLocation, T> loadCpu, Func<ModelManifest, VDevice, ModelLocation, T> loadNpu)
        where TConfig : ServiceConfig where T : class, IDisposable
    {
        var cpu = ctx.Models.Get(cpuModel) ?? throw new InvalidOperationException($"unknown model {cpuModel}");
        var npu = npuModel is null ? null : ctx.Models.Get(npuModel) ?? throw new InvalidOperationException($"unknown model {npuModel}");
        return new ModelEngine<T>(ctx.Config, ctx.State, ctx.Metrics, ctx.Models, log, ctx.PullCommand, cpu, npu,
            loadCpu: loc => loadCpu(cpu, loc),
            loadNpu: (vdevice, loc) => loadNpu(npu ?? cpu, vdevice, loc),
            probe);
    }
}
