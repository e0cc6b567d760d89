using System.Net;
using System.Text.Json;
using Xunit;

namespace Hailo.TestSupport;

/// <summary>
/// What every service's <c>ServiceProcessTests</c> share: the executable under test (the JIT build, or the Native AOT
/// binary named by AOT_BINARY_HAILO_&lt;NAME&gt;, as <c>make test-aot</c> sets it), a models directory of its own, the
/// usual arguments and the checks of the process lifecycle (READY and STATUS= datagrams, /health, SIGTERM, commands,
/// config errors). The facts declared here run once for each service that derives from it.
/// </summary>
public abstract class ServiceProcessTestBase : IDisposable
{
    protected const int SigTerm = 15;
    protected static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    protected static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(60);

    protected ServiceProcessTestBase(string service)
    {
        Service = service;
        Binary = ServiceProcess.Binary(service, AotBinaryVariable(service));
        Models = Directory.CreateTempSubdirectory(service + "-proc-").FullName;
    }

    /// <summary>The service's name, e.g. hailo-ocr.</summary>
    protected string Service { get; }

    /// <summary>The executable under test.</summary>
    protected string Binary { get; }

    /// <summary>An empty models directory of this test's own, deleted afterwards.</summary>
    protected string Models { get; }

    /// <summary>
    /// Starts the binary the way systemd's MemoryDenyWriteExecute=yes confines it: prctl(PR_SET_MDWE,
    /// PR_MDWE_REFUSE_EXEC_GAIN) (Linux ≥ 6.3), which exec keeps, so no mapping may become writable and executable.
    /// A JIT cannot run like this; the Native AOT binary must.
    /// </summary>
    protected ServiceProcess StartDenyingWriteExecute(string[] args)
    {
        const string wrapper = """
            import ctypes, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(65, 1, 0, 0, 0) != 0 or libc.prctl(66, 0, 0, 0, 0) != 1:
                sys.exit("prctl(PR_SET_MDWE) is not available: errno %d" % ctypes.get_errno())
            os.execv(sys.argv[1], sys.argv[1:])
            """;
        return ServiceProcess.Start("/usr/bin/python3", ["-c", wrapper, Binary, .. args]);
    }

    /// <summary>hailo-ocr → AOT_BINARY_HAILO_OCR (the Makefile's <c>tr a-z- A-Z_</c>).</summary>
    public static string AotBinaryVariable(string service) => "AOT_BINARY_" + service.ToUpperInvariant().Replace('-', '_');

    public void Dispose()
    {
        Directory.Delete(Models, true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Port, models directory, no search paths and no config file: nothing of the machine leaks in.</summary>
    protected static string[] IsolatedArgs(string modelsDir, params string[] extra) =>
        ["--port", "{port}", "--models-dir", modelsDir, "--models.search_paths", "", "--config", "/dev/null", .. extra];

    /// <summary>The arguments of a served process: <see cref="IsolatedArgs"/> on <see cref="Models"/> with one thread.</summary>
    protected virtual string[] Args(params string[] extra) => IsolatedArgs(Models, ["--threads", "1", .. extra]);

    protected ServiceProcess Start(string[] args, IDictionary<string, string?>? env = null) => ServiceProcess.Start(Binary, args, env);

    /// <summary>Starts with systemd's watchdog armed at 400 ms (WATCHDOG_USEC).</summary>
    protected ServiceProcess StartWithWatchdog(params string[] args) =>
        Start(args, new Dictionary<string, string?> { ["WATCHDOG_USEC"] = "400000" });

    /// <summary>
    /// Starts on the NPU backend with the shim's fake underneath (the models must be written first), waits for READY
    /// and checks that /health reports the NPU, ready.
    /// </summary>
    protected async Task<ServiceProcess> StartOnFakeNpu(params string[] extra)
    {
        _ = FakeShim.Runtime;
        var env = new Dictionary<string, string?>
        {
            ["HAILO_SHIM_PATH"] = FakeShim.LibraryPath, ["HS_BACKEND"] = "fake", ["HS_FAKE_STATE_DIR"] = FakeShim.StateDir,
        };
        var p = Start(Args(["--device", "npu", .. extra]), env);
        try
        {
            await p.WaitForDatagram("READY=1", LoadTimeout);
            var health = await GetJson(p, "/health");
            Assert.Equal("npu", health.GetProperty("backend").GetString());
            Assert.True(health.GetProperty("ready").GetBoolean(), health.ToString());
            return p;
        }
        catch
        {
            await p.DisposeAsync();
            throw;
        }
    }

    /// <summary>Asserts that one datagram carries every fragment.</summary>
    protected static void AssertDatagram(ServiceProcess p, params string[] fragments)
    {
        var datagrams = p.Datagrams;
        Assert.True(datagrams.Any(d => fragments.All(f => d.Message.Contains(f, StringComparison.Ordinal))),
            $"no datagram with all of [{string.Join(", ", fragments)}]; got: {string.Join(" | ", datagrams.Select(d => d.Message))}");
    }

    /// <summary>SIGTERM: the process says STOPPING=1 and exits with 0.</summary>
    protected static async Task AssertStopsCleanlyOnSigterm(ServiceProcess p)
    {
        p.Signal(SigTerm);
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains(p.Datagrams, d => d.Message.StartsWith("STOPPING=1", StringComparison.Ordinal));
    }

    /// <summary>
    /// A start without the model: READY all the same, STATUS= says degraded with the status fragments (the fix), and
    /// /health answers 503 with the model missing. Returns the /health body.
    /// </summary>
    protected static async Task<JsonElement> AssertStartsDegraded(ServiceProcess p, params string[] statusFragments)
    {
        await p.WaitForDatagram("READY=1", StartTimeout);
        AssertDatagram(p, ["STATUS=degraded", .. statusFragments]);
        var health = await p.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.Clone();
        Assert.Equal("missing", body.GetProperty("models")[0].GetProperty("state").GetString());
        return body;
    }

    protected static async Task<JsonElement> Json(HttpResponseMessage r) =>
        JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    protected static async Task<JsonElement> GetJson(ServiceProcess p, string path) => await Json(await p.Client.GetAsync(path));

    /// <summary>Runs a command of the binary to its end.</summary>
    protected Task<(int Code, string Stdout, string Stderr)> Run(string[] args, IDictionary<string, string?>? env = null) =>
        ServiceProcess.RunToEnd(Binary, args, env);

    /// <summary>Runs a command that must succeed and print every one of <paramref name="expected"/>; returns its stdout.</summary>
    protected async Task<string> AssertCommandPrints(string[] args, IDictionary<string, string?>? env, params string[] expected)
    {
        var (code, stdout, stderr) = await Run(args, env);
        Assert.True(code == 0, $"{string.Join(' ', args)} exited with {code}\nstderr: {stderr}\nstdout: {stdout}");
        foreach (var e in expected) Assert.Contains(e, stdout);
        return stdout;
    }

    protected Task<string> AssertCommandPrints(string[] args, params string[] expected) => AssertCommandPrints(args, null, expected);

    /// <summary>
    /// A config file the service refuses: the command (check-config unless <paramref name="args"/> says otherwise, e.g.
    /// the service itself with options) exits 2 and names every problem on stderr. Returns stderr.
    /// </summary>
    protected async Task<string> AssertConfigRefused(string yaml, string[] args, params string[] problems)
    {
        var file = Path.Combine(Models, "bad.yaml");
        await File.WriteAllTextAsync(file, yaml);
        var (code, _, err) = await Run([.. args, "--config", file]);
        Assert.True(code == 2, $"{string.Join(' ', args)} --config exited with {code}, not 2\nstderr: {err}");
        foreach (var problem in problems) Assert.Contains(problem, err);
        return err;
    }

    protected Task<string> AssertConfigRefused(string yaml, params string[] problems) => AssertConfigRefused(yaml, ["check-config"], problems);

    [Fact]
    public async Task Version_and_help_name_the_service()
    {
        var version = await AssertCommandPrints(["--version"]);
        Assert.StartsWith($"{Service} 1.0.0", version);
        await AssertCommandPrints(["--help"], $"usage: {Service} [command] [options]", "pull [MODEL...]");
    }

    /// <summary>
    /// The binary itself (the Native AOT one under make test-aot, where the schema exporter has no reflection to fall
    /// back on) serves a valid OpenAPI document. The service's own routes are checked in its in-process tests.
    /// </summary>
    [Fact]
    public async Task OpenApi_document_is_served_and_valid()
    {
        await using var p = Start(Args(["--models.preload", "false"]));
        await p.WaitForDatagram("READY=1", StartTimeout);
        var doc = await OpenApiDocument.FetchAndAssertValid(p.Client, ["/health", "/health/ready", "/metrics"]);
        Assert.Equal(Service, doc.GetProperty("info").GetProperty("title").GetString());
    }

    [Fact]
    public async Task Host_config_errors_exit_2_with_the_fix()
    {
        // The service itself refuses to start, before it listens; check-config says the same.
        await AssertConfigRefused("server:\n  prot: 1\n", ["--device", "tpu"], "server.prot: unknown key", "did you mean 'port'");
        await AssertConfigRefused("server:\n  prot: 1\n", "server.prot: unknown key", "did you mean 'port'");
        await AssertConfigRefused("", ["check-config", "--device", "tpu"], "device: 'tpu' is not one of: auto, npu, cpu");
        // A blank token file would switch auth off: refused, and the service does not start.
        var blank = Path.Combine(Models, "token");
        await File.WriteAllTextAsync(blank, "\n");
        await AssertConfigRefused($"server:\n  auth_token_file: {blank}\n", ["--device", "cpu"], "server.auth_token_file", "is empty");
        await AssertConfigRefused("server:\n  allowed_origin: [\"*\"]\n", "did you mean 'allowed_origins'");
        // A service started with a config file that is not there stops at once, before listening.
        var (code, _, err) = await Run(["--config", Path.Combine(Models, "nope.yaml")]);
        Assert.Equal(2, code);
        Assert.Contains("does not exist", err);
    }
}
