using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hailo.Hosting.Models;
using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>
/// `pull` against a download server that never takes the connection (a blackholed host, as offline machines often
/// have) fails within its connect timeout instead of hanging for the operating system's minutes of SYN retries.
/// The server is a local socket whose accept queue is full, so Linux drops further SYNs unanswered.
/// </summary>
public sealed class PullTimeoutTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hailo-pull").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public async Task Pull_from_a_host_that_never_answers_fails_within_the_connect_timeout()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        // Fill the accept queue (never accepted) until a connect no longer completes.
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 64; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(s);
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
                try { await s.ConnectAsync(IPAddress.Loopback, port, cts.Token); }
                catch (OperationCanceledException) { break; }
            }
            Assert.True(fillers.Count < 64, "the accept queue did not fill up");

            var definition = TestService.Create(new FakeModelControl());
            definition = new ServiceDefinition<TestConfig>
            {
                // Not "hailo-test": its environment prefix HAILO_TEST_ would read the test run's HAILO_TEST_MODELS as a config key.
                Name = "hailo-far", DefaultPort = definition.DefaultPort, Summary = definition.Summary, ConfigType = definition.ConfigType,
                Defaults = definition.Defaults, Configure = definition.Configure, Map = definition.Map,
                Catalog = [new ModelManifest("far-model", Hailo.Core.Backend.Cpu, "a model on an unreachable host", "none",
                    [new ModelFile("far.bin", null, null, Url: $"http://127.0.0.1:{port}/far.bin", Unverified: true)])],
            };
            var watch = Stopwatch.StartNew();
            var pull = ServiceHost.MainAsync(["pull", "far-model", "--config", "/dev/null", "--models-dir", _dir], definition);
            var finished = await Task.WhenAny(pull, Task.Delay(ServiceHost.PullConnectTimeout + TimeSpan.FromSeconds(20)));
            Assert.True(finished == pull, $"pull still waiting for the connection after {watch.Elapsed.TotalSeconds:0} s");
            Assert.Equal(1, await pull);
            Assert.InRange(watch.Elapsed, ServiceHost.PullConnectTimeout - TimeSpan.FromSeconds(1), ServiceHost.PullConnectTimeout + TimeSpan.FromSeconds(5));
            Assert.False(File.Exists(Path.Combine(_dir, "far-model", "far.bin")));
        }
        finally
        {
            foreach (var s in fillers) s.Dispose();
        }
    }
}
