using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Hailo.TestSupport;

/// <summary>
/// A service binary started as a child process, with a unix datagram socket standing in for systemd's
/// NOTIFY_SOCKET. Used to test the real executable (JIT build, or the Native AOT one named by an env var).
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Socket? _notify;
    private readonly string _dir;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<(TimeSpan At, string Message)> _datagrams = [];
    private readonly Stopwatch _clock;
    private readonly Task? _reader;

    public int Port { get; }
    public HttpClient Client { get; }
    public Stopwatch Clock => _clock;

    /// <summary>The binary to test: $envVar if set (e.g. a Native AOT publish), else the service's own build output.</summary>
    public static string Binary(string service, string envVar)
    {
        if (Environment.GetEnvironmentVariable(envVar) is { Length: > 0 } p) return Path.GetFullPath(p);
        var config = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        return Path.Combine(Repo.Root, "services", service, "bin", config, "net10.0", service);
    }

    private ServiceProcess(string binary, IEnumerable<string> args, IDictionary<string, string?> env, bool withNotify)
    {
        _dir = Directory.CreateTempSubdirectory("hailo-proc").FullName;
        Port = TestPorts.Next();
        if (withNotify)
        {
            var path = Path.Combine(_dir, "notify.sock");
            _notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            _notify.Bind(new UnixDomainSocketEndPoint(path));
            env["NOTIFY_SOCKET"] = path;
        }
        var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a.Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        foreach (var (k, v) in env) psi.Environment[k] = v;
        psi.Environment["DOTNET_gcServer"] = "0";
        _clock = Stopwatch.StartNew();
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + binary);
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (_notify is not null) _reader = Task.Run(ReadDatagrams);
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}"), Timeout = TimeSpan.FromMinutes(3) };
    }

    public static ServiceProcess Start(string binary, IEnumerable<string> args, IDictionary<string, string?>? env = null, bool withNotify = true) =>
        new(binary, args, env ?? new Dictionary<string, string?>(), withNotify);

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;
    public int Pid => _process.Id;

    public IReadOnlyList<(TimeSpan At, string Message)> Datagrams
    {
        get { lock (_datagrams) return _datagrams.ToArray(); }
    }

    private void ReadDatagrams()
    {
        var buffer = new byte[4096];
        while (true)
        {
            int n;
            try { n = _notify!.Receive(buffer); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { return; }
            var text = Encoding.UTF8.GetString(buffer, 0, n);
            lock (_datagrams) _datagrams.Add((_clock.Elapsed, text));
        }
    }

    /// <summary>Waits until a datagram line starting with <paramref name="prefix"/> arrives; returns when it came.</summary>
    public async Task<TimeSpan> WaitForDatagram(string prefix, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var (at, msg) in Datagrams)
                if (msg.Split('\n').Any(l => l.StartsWith(prefix, StringComparison.Ordinal))) return at;
            if (_process.HasExited) break;
            await Task.Delay(10);
        }
        throw new TimeoutException($"no '{prefix}' datagram within {timeout}; got: {string.Join(" | ", Datagrams.Select(d => d.Message))}\nstderr: {Stderr}\nstdout: {Stdout}");
    }

    /// <summary>Polls GET path until it answers (any status); returns the response.</summary>
    public async Task<HttpResponseMessage> WaitForHttp(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"exited with {_process.ExitCode}\nstderr: {Stderr}\nstdout: {Stdout}");
            try { return await Client.GetAsync(path); }
            catch (HttpRequestException) { await Task.Delay(50); }
        }
        throw new TimeoutException($"{path} did not answer within {timeout}\nstderr: {Stderr}\nstdout: {Stdout}");
    }

    public void Signal(int signal) => _ = Kill(_process.Id, signal);

    public async Task<int> WaitForExit(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>Runs the binary to completion (for commands like check-config) and returns exit code and output.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunToEnd(string binary, IEnumerable<string> args, IDictionary<string, string?>? env = null)
    {
        await using var p = Start(binary, args, env, withNotify: false);
        var code = await p.WaitForExit(TimeSpan.FromMinutes(2));
        await Task.Delay(50); // let the async readers drain
        return (code, p.Stdout, p.Stderr);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _notify?.Dispose();
        if (_reader is not null) await _reader;
        _process.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
