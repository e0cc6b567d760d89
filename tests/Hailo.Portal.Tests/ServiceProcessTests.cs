using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Hailo.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace Hailo.Portal.Tests;

/// <summary>
/// The hailo-portal executable (the Native AOT binary when AOT_BINARY_HAILO_PORTAL names it, else the JIT build) against
/// the private bus and fake systemd: READY, the cards, a stop through D-Bus with the CSRF token, the token it creates when
/// widened, the refusal to start without a place for one, and its idle memory.
/// </summary>
public sealed class ServiceProcessTests(ITestOutputHelper output) : ServiceProcessTestBase("hailo-portal"), IAsyncLifetime
{
    private Fleet fleet = null!;

    public async Task InitializeAsync() => fleet = await Fleet.StartAsync();

    public async Task DisposeAsync() => await fleet.DisposeAsync();

    protected override string[] Args(params string[] extra) => IsolatedArgs(Models, [.. fleet.Args(), .. extra]);

    [Fact]
    public async Task Lists_the_units_and_stops_one_through_dbus()
    {
        await using var p = Start(Args());
        await p.WaitForDatagram("READY=1", StartTimeout);
        var services = JsonDocument.Parse(await p.Client.GetStringAsync("/api/services")).RootElement.GetProperty("services");
        Assert.Equal(7, services.GetArrayLength());
        var csrf = JsonDocument.Parse(await p.Client.GetStringAsync("/api/session")).RootElement.GetProperty("csrf_token").GetString();
        var stop = new HttpRequestMessage(HttpMethod.Post, "/api/services/whisper/stop");
        stop.Headers.Add("X-CSRF-Token", csrf);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.SendAsync(stop)).StatusCode);
        Assert.Contains("StopUnit hailo-whisper.service replace", fleet.Systemd.Calls);
        Assert.Equal(HttpStatusCode.Forbidden, (await p.Client.PostAsync("/api/services/whisper/start", null)).StatusCode);
        // The "try it" forward and the pull stream in the binary.
        var speak = new HttpRequestMessage(HttpMethod.Post, "/api/services/piper/try")
        {
            Content = new StringContent("""{"input":"hi","response_format":"wav"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        speak.Headers.Add("X-CSRF-Token", csrf);
        Assert.Equal(FakeApis.Wav(), await (await p.Client.SendAsync(speak)).Content.ReadAsByteArrayAsync());
        var pull = new HttpRequestMessage(HttpMethod.Post, "/api/services/ollama/pull");
        pull.Headers.Add("X-CSRF-Token", csrf);
        Assert.EndsWith("""{"status":"success"}""", (await (await p.Client.SendAsync(pull)).Content.ReadAsStringAsync()).Trim());
        var logs = JsonDocument.Parse(await p.Client.GetStringAsync("/api/services/pose/logs?lines=3")).RootElement.GetProperty("lines");
        Assert.Contains("-u hailo-pose.service", logs[0].GetString());
        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Widened_it_creates_a_token_and_requires_it()
    {
        var state = Path.Combine(fleet.Dir, "state");
        await using var p = Start(Args("--host", "0.0.0.0"));
        await p.WaitForDatagram("READY=1", StartTimeout);
        var token = (await File.ReadAllTextAsync(Path.Combine(state, "token"))).Trim();
        Assert.Equal(HttpStatusCode.Unauthorized, (await p.Client.GetAsync("/api/services")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.GetAsync("/")).StatusCode);
        var m = new HttpRequestMessage(HttpMethod.Get, "/api/services");
        m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.SendAsync(m)).StatusCode);
    }

    [Fact]
    public async Task Widened_without_a_place_for_the_token_it_does_not_start()
    {
        var (code, _, err) = await Run(Args("--host", "0.0.0.0", "--portal.state_dir", "/proc/hailo-portal-no"));
        Assert.Equal(2, code);
        Assert.Contains("needs a bearer token", err);
    }

    /// <summary>
    /// Idle resident memory after serving the page and a round of cards: ≤ 35 MB for the Native AOT binary (the JIT build
    /// carries the JIT and is only reported).
    /// </summary>
    [Fact]
    public async Task Idle_memory()
    {
        await using var p = Start(Args());
        await p.WaitForDatagram("READY=1", StartTimeout);
        await p.Client.GetStringAsync("/");
        await p.Client.GetStringAsync("/assets/app.js");
        for (var i = 0; i < 5; i++) await p.Client.GetStringAsync("/api/services");
        await p.Client.GetStringAsync("/api/services/pose/metrics");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var rss = File.ReadAllLines($"/proc/{p.Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var kb = long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"{Binary}: idle {rss.Trim()} ({kb / 1024.0:0.0} MiB)");
        if (Environment.GetEnvironmentVariable(AotBinaryVariable(Service)) is { Length: > 0 })
            Assert.True(kb <= 35 * 1000, $"idle RSS {kb} kB is above 35 MB");
    }
}
