using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hailo.Hosting.Systemd;

/// <summary>
/// Tells systemd what the service is doing: READY=1 once the HTTP port is open and start-up loading is
/// over, STATUS= on every state change, WATCHDOG=1 only while healthy, STOPPING=1 on stop.
/// </summary>
/// <param name="stallLimit">Work that reports no progress for this long is stuck: the pings stop.</param>
/// <param name="watchdogInterval">How often to ping (half of systemd's WATCHDOG_USEC), or null when no watchdog is asked for.</param>
internal sealed class SystemdIntegration(
    SystemdNotifier notifier,
    ServiceState state,
    IHostApplicationLifetime lifetime,
    ILogger<SystemdIntegration> log,
    TimeSpan stallLimit,
    TimeSpan? watchdogInterval) : BackgroundService
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

        if (watchdogInterval is not { } interval) return;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                // The tick itself proves the thread pool is alive. Work may run for an hour (a long transcription)
                // as long as it keeps reporting progress; work silent far beyond that means the pipeline is
                // wedged, so stop petting and let systemd restart us.
                var stall = state.LongestStall;
                if (stall < stallLimit) notifier.Notify("WATCHDOG=1");
                else log.LogError("an inference has made no progress for {Seconds:F0} s; withholding the watchdog ping", stall.TotalSeconds);
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
