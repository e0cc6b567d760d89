using System.Net.Sockets;
using System.Text;
using Hailo.Hosting.Systemd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>A clock the test moves by hand (ages and stalls of work items are read from it).</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks;
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

internal sealed class ManualLifetime : IHostApplicationLifetime
{
    private readonly CancellationTokenSource _started = new(), _stopping = new(), _stopped = new();
    public CancellationToken ApplicationStarted => _started.Token;
    public CancellationToken ApplicationStopping => _stopping.Token;
    public CancellationToken ApplicationStopped => _stopped.Token;
    public void Start() => _started.Cancel();
    public void StopApplication() => _stopping.Cancel();
}

/// <summary>
/// The systemd watchdog against a real notify socket: the integration pings on a short real interval while the work
/// items' ages and progress are read from a manual clock, so "ten minutes of transcription" takes milliseconds.
/// </summary>
public sealed class WatchdogTests : IDisposable
{
    private static readonly TimeSpan StallLimit = TimeSpan.FromMinutes(2);
    private readonly string _dir = Directory.CreateTempSubdirectory("hailo-notify-").FullName;
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly string _path;

    public WatchdogTests()
    {
        _path = Path.Combine(_dir, "notify");
        _socket.Bind(new UnixDomainSocketEndPoint(_path));
    }

    public void Dispose()
    {
        _socket.Dispose();
        Directory.Delete(_dir, true);
    }

    /// <summary>Datagrams received within <paramref name="window"/>.</summary>
    private async Task<List<string>> Receive(TimeSpan window)
    {
        var got = new List<string>();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(window);
        try
        {
            while (true)
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                got.Add(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException) { }
        return got;
    }

    private static int Pings(List<string> messages) => messages.Count(m => m == "WATCHDOG=1");

    /// <summary>Datagrams until <paramref name="done"/> holds or 10 s pass (a loaded machine delays the ticks).</summary>
    private async Task<List<string>> ReceiveUntil(Func<List<string>, bool> done)
    {
        var got = new List<string>();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (!done(got))
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                got.Add(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException) { }
        return got;
    }

    private Task<List<string>> NextPing() => ReceiveUntil(m => Pings(m) > 0);

    /// <summary>Lets a tick that read the clock before it moved send its ping, and drops it.</summary>
    private Task Drain() => Receive(TimeSpan.FromMilliseconds(500));

    [Fact]
    public async Task Long_work_that_reports_progress_keeps_the_pings_and_silent_work_loses_them()
    {
        var clock = new ManualClock();
        var state = new ServiceState("hailo-test", "1.0.0", clock);
        var lifetime = new ManualLifetime();
        using var notifier = new SystemdNotifier(_path);
        using var integration = new SystemdIntegration(notifier, state, lifetime, NullLogger<SystemdIntegration>.Instance,
            StallLimit, TimeSpan.FromMilliseconds(20));
        await integration.StartAsync(CancellationToken.None);
        lifetime.Start();
        state.CompleteStartup();
        var startup = await ReceiveUntil(m => m.Any(x => x.StartsWith("READY=1", StringComparison.Ordinal)) && Pings(m) > 0);
        Assert.Contains(startup, m => m.StartsWith("READY=1", StringComparison.Ordinal));
        Assert.True(Pings(startup) > 0);

        // Ten minutes of one work item (one long transcription), reporting progress every minute: pinged throughout.
        using (var work = state.BeginWork())
        {
            for (var minute = 1; minute <= 10; minute++)
            {
                clock.Advance(TimeSpan.FromMinutes(1));
                work.Progress();
                Assert.True(Pings(await NextPing()) > 0, $"no watchdog ping at minute {minute} of work that reports progress");
            }
            Assert.Equal(TimeSpan.FromMinutes(10), state.OldestWorkAge);

            // The same item stops reporting: once it is silent for longer than the limit, the pings stop.
            clock.Advance(StallLimit + TimeSpan.FromSeconds(1));
            await Drain();
            Assert.Equal(0, Pings(await Receive(TimeSpan.FromMilliseconds(300))));

            // Progress again (it was slow, not wedged): the pings come back.
            work.Progress();
            Assert.True(Pings(await NextPing()) > 0);
        }

        // A second item that never reports progress is stuck after the limit even though another one is moving.
        using (var moving = state.BeginWork())
        using (state.BeginWork())
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            moving.Progress();
            Assert.True(Pings(await NextPing()) > 0);
            clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
            moving.Progress();
            await Drain();
            Assert.Equal(0, Pings(await Receive(TimeSpan.FromMilliseconds(300))));
        }

        // Idle again: pinged.
        Assert.True(Pings(await NextPing()) > 0);
        await integration.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void Stall_is_measured_from_the_last_progress_of_the_most_silent_item()
    {
        var clock = new ManualClock();
        var state = new ServiceState("hailo-test", "1.0.0", clock);
        Assert.Equal(TimeSpan.Zero, state.LongestStall);
        using var a = state.BeginWork();
        clock.Advance(TimeSpan.FromSeconds(30));
        using var b = state.BeginWork();
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(40), state.LongestStall);
        a.Progress();
        Assert.Equal(TimeSpan.FromSeconds(10), state.LongestStall);
        clock.Advance(TimeSpan.FromSeconds(5));
        b.Progress();
        Assert.Equal(TimeSpan.FromSeconds(5), state.LongestStall);
        Assert.Equal(TimeSpan.FromSeconds(45), state.OldestWorkAge);
        a.Dispose();
        b.Dispose();
        Assert.Equal(TimeSpan.Zero, state.LongestStall);
    }
}
