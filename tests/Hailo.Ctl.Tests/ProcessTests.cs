using System.Diagnostics;
using System.Text.Json;
using Hailo.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace Hailo.Ctl.Tests;

/// <summary>
/// The hailoctl executable as a process (the Native AOT binary named by AOT_BINARY_HAILOCTL, as make test-aot runs it; else
/// the JIT build beside the tests) against the private bus and fake systemd: the environment variables it reads, exit
/// codes, and no stack trace on garbage.
/// </summary>
public sealed class ProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private PrivateBus bus = null!;
    private FakeSystemd systemd = null!;
    private string configDir = null!;

    private static string Binary => Environment.GetEnvironmentVariable("AOT_BINARY_HAILOCTL") is { Length: > 0 } b ? b : Path.Combine(AppContext.BaseDirectory, "hailoctl");

    public async Task InitializeAsync()
    {
        bus = new PrivateBus();
        systemd = await FakeSystemd.StartAsync(bus.Address);
        configDir = Path.Combine(bus.Directory, "etc-hailo");
        Directory.CreateDirectory(configDir);
    }

    public async Task DisposeAsync()
    {
        await systemd.DisposeAsync();
        bus.Dispose();
    }

    private async Task<(int Code, string Out, string Err, TimeSpan Took)> Run(params string[] args)
    {
        Assert.True(File.Exists(Binary), $"{Binary} does not exist");
        var psi = new ProcessStartInfo(Binary, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["DBUS_SYSTEM_BUS_ADDRESS"] = bus.Address;
        psi.Environment["HAILOCTL_CONFIG_DIR"] = configDir;
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        sw.Stop();
        var err = await e;
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("Unhandled exception", err);
        return (p.ExitCode, await o, err, sw.Elapsed);
    }

    [Fact]
    public async Task Status_json_through_the_environment_and_its_wall_time()
    {
        await using var pose = await FakeService.StartAsync();
        File.WriteAllText(Path.Combine(configDir, "hailo-pose.yaml"), $"server:\n  port: {pose.Port}\n");
        systemd.Add("hailo-pose.service", u => u.MemoryCurrent = 1 << 25);
        systemd.Add("hailo-ocr.service", u => { u.ActiveState = "inactive"; u.SubState = "dead"; });
        var (code, stdout, _, _) = await Run("status", "--json", "pose");
        Assert.Equal(0, code);
        Assert.True(JsonDocument.Parse(stdout).RootElement.GetProperty("ready").GetBoolean());
        var times = new List<double>();
        for (var i = 0; i < 5; i++) times.Add((await Run("status", "--json")).Took.TotalMilliseconds);
        Assert.Equal(1, (await Run("status", "--json")).Code);
        times.Sort();
        output.WriteLine($"{Binary} status --json (2 units, 1 /health): median {times[2]:0} ms, min {times[0]:0} ms, max {times[4]:0} ms");
    }

    [Fact]
    public async Task Start_stop_and_the_refusal_as_a_process()
    {
        systemd.Add("hailo-pose.service", u => u.ActiveState = "inactive");
        var (code, stdout, _, _) = await Run("start", "hailo-pose.service");
        Assert.Equal(0, code);
        Assert.Equal("hailo-pose: started\n", stdout);
        systemd.Refuse = true;
        var (refused, _, err, _) = await Run("stop", "all");
        Assert.Equal(4, refused);
        Assert.Contains("sudo usermod -aG hailo-admin $USER", err);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("start", "no/such")]
    [InlineData("status", "--json", "--timeout", "x")]
    [InlineData("start", "nothing-installed")]
    public async Task Garbage_exits_2_without_a_stack_trace(params string[] args)
    {
        systemd.Add("hailo-pose.service");
        var (code, stdout, err, _) = await Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.StartsWith("hailoctl: ", err);
    }
}
