using Hailo.Hosting;
using Hailo.Hosting.Metrics;

namespace Hailo.GenAI.Api;

/// <summary>
/// <see cref="IGenAiHost"/> for a service under Hailo.Hosting: the default model's state goes to the
/// <see cref="ServiceState"/> (/health, STATUS=), loads and refusals to <see cref="ServiceMetrics"/>, and each
/// generation is a watchdog work item.
/// </summary>
public sealed class ServiceGenAiHost(ServiceState state, ServiceMetrics metrics) : IGenAiHost
{
    public void DefaultModelChanged(string name, ModelPhase phase, string? detail = null) =>
        state.SetModel(new ModelStatus(name, phase switch
        {
            ModelPhase.Loading => ModelState.Loading,
            ModelPhase.Ready => ModelState.Ready,
            ModelPhase.Failed => ModelState.Failed,
            _ => ModelState.Idle,
        }, detail));

    public void Rejected(string model) => metrics.CountRejected(model);

    public void Loaded(string model, double seconds) => metrics.ObserveLoad(model, seconds);

    public IDisposable BeginWork(out Action progress)
    {
        var work = state.BeginWork();
        progress = work.Progress;
        return work;
    }
}
