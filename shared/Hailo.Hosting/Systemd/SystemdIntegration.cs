using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hailo.Hosting.Systemd;

/// <summary>
/// Tells systemd what the service is doing: READY=1 once the HTTP port is open and start-up loading is
/// over, STATUS= on every state change, WATCHDOG=1 only while healthy, STOPPING=1 on stop.
/// </summary>
internal sealed class SystemdIntegration(
    SystemdNotifier notifier,
    ServiceState state,
    IHostApplicationLifetime lifetime,
    ILogger<SystemdIntegration> log,
    TimeSpan stuckWorkLimit) : BackgroundService
{
    private string? _lastStatus;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        state.Changed += SendStatus;
        lifetime.ApplicationStopping.Register(() =>
        {
            state.MarkStopping();
            notifier.Notify("STOPPING=1");
        });
        SendStatus();

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled()))
        {
            try
            {
                await started.Task.ConfigureAwait(false);
                await state.StartupCompleted.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
        }
        notifier.Notify("READY=1\nSTATUS=" + state.StatusLine());
        log.LogInformation("{Service} {Status}", state.ServiceName, state.StatusLine());

        var interval = WatchdogInterval();
        if (interval is null) return;
        using var timer = new PeriodicTimer(interval.Value);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                // The tick itself proves the thread pool is alive; an inference stuck far beyond its
                // bound means the pipeline is wedged, so stop petting and let systemd restart us.
                var age = state.OldestWorkAge;
                if (age < stuckWorkLimit) notifier.Notify("WATCHDOG=1");
                else log.LogError("an inference has been running for {Seconds:F0} s; withholding the watchdog ping", age.TotalSeconds);
            }
        }
        catch (OperationCanceledException) { }
    }

    private void SendStatus()
    {
        var line = state.StatusLine();
        if (line == _lastStatus) return;
        _lastStatus = line;
        notifier.Notify("STATUS=" + line);
    }

    /// <summary>Half of WATCHDOG_USEC when systemd asked this very process for pings.</summary>
    internal static TimeSpan? WatchdogInterval()
    {
        if (!ulong.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), out var usec) || usec == 0) return null;
        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)) return null;
        return TimeSpan.FromMicroseconds(usec / 2);
    }
}
