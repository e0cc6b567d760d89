using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hailo.TestSupport;

namespace Hailo.Fuzz;

/// <summary>What one request did: fine, or a finding of some kind with the detail to report.</summary>
public sealed record Outcome(string? Finding, int Status, string Detail, TimeSpan Elapsed)
{
    public bool Ok => Finding is null;
    public bool Admitted => Ok && Status is >= 200 and < 300;
}

/// <summary>
/// A family's service running as a real process (the JIT build, or the Native AOT binary named by
/// AOT_BINARY_HAILO_&lt;NAME&gt;) on the CPU backend, and the checks every answer must pass: no 5xx but 503 with
/// Retry-After, every 4xx a JSON body in the family's shape, the process alive.
/// </summary>
public sealed partial class Target : IAsyncDisposable
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    public Family Family { get; }
    public ServiceProcess Process { get; }
    public int? WyomingPort { get; private set; }
    private readonly HttpClient _client;

    private Target(Family family, ServiceProcess process)
    {
        Family = family;
        Process = process;
        _client = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            // A large upload waits for the service's "100 Continue" (or its 413) as a careful client does; the default
            // 1 s runs out while a loaded service is busy, and the body then races the 413 and the closed connection.
            Expect100ContinueTimeout = TimeSpan.FromSeconds(30),
        })
        { BaseAddress = new Uri($"http://127.0.0.1:{process.Port}"), Timeout = Timeout.InfiniteTimeSpan };
    }

    public static string Binary(Family f) => ServiceProcess.Binary(f.Service, ServiceProcessTestBase.AotBinaryVariable(f.Service));

    /// <param name="options">The family's options instead of <see cref="Family.ExtraArgs"/> (the NPU fleet's), with <paramref name="environment"/> instead of <see cref="Family.Environment"/>.</param>
    public static async Task<Target> StartAsync(Family family, string modelsDir, string[]? extra = null, string? binary = null,
        string[]? options = null, IDictionary<string, string?>? environment = null)
    {
        string[] args = ["--port", "{port}", "--models-dir", modelsDir, "--models.search_paths", "", "--config", "/dev/null", .. options ?? family.ExtraArgs, .. extra ?? []];
        for (var attempt = 1; ; attempt++)
        {
            try { return await StartOnceAsync(family, binary, args, environment); }
            // Another program may take the port between its pick and the service's bind: a new port, once more.
            catch (TimeoutException e) when (attempt < 3 && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                Console.WriteLine($"  {family.Service}: its port was taken before it could listen; starting it on another");
            }
        }
    }

    private static async Task<Target> StartOnceAsync(Family family, string? binary, string[] args, IDictionary<string, string?>? environment)
    {
        var p = ServiceProcess.Start(binary ?? Binary(family), args, environment ?? family.Environment);
        try
        {
            await p.WaitForDatagram("READY=1", TimeSpan.FromMinutes(2));
            var t = new Target(family, p);
            if (args.Contains("--wyoming.enabled"))
            {
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
                while (t.WyomingPort is null && DateTime.UtcNow < deadline)
                {
                    if (WyomingListening().Match(p.Stdout + p.Stderr) is { Success: true } m) t.WyomingPort = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                    else await Task.Delay(50);
                }
                if (t.WyomingPort is null) throw new InvalidOperationException("the Wyoming server did not say where it listens\n" + p.Stdout + p.Stderr);
            }
            return t;
        }
        catch
        {
            await p.DisposeAsync();
            throw;
        }
    }

    [GeneratedRegex(@"Wyoming (?:speech-to-text|text-to-speech) on [^:\s]+:(\d+)")]
    private static partial Regex WyomingListening();

    public Task<Outcome> SendAsync(FuzzRequest r) => r.Wyoming ? SendWyomingAsync(r.Body) : SendHttpAsync(r);

    private async Task<Outcome> SendHttpAsync(FuzzRequest r)
    {
        var start = Stopwatch.GetTimestamp();
        using var cts = new CancellationTokenSource(RequestTimeout);
        try
        {
            using var request = new HttpRequestMessage(new HttpMethod(r.Method), r.Path) { Content = new ByteArrayContent(r.Body) };
            if (r.ContentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", r.ContentType);
            // A body past the route's limit is refused (413) before it is read; with 100-continue the refusal reaches
            // the client instead of a connection closed under its upload.
            if (r.Body.Length > 256 * 1024) request.Headers.ExpectContinue = true;
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            var body = await response.Content.ReadAsByteArrayAsync(cts.Token);
            var status = (int)response.StatusCode;
            var elapsed = Stopwatch.GetElapsedTime(start);
            var text = Excerpt(body);
            if (status >= 500)
            {
                if (status == 503 && response.Headers.RetryAfter is not null) return new(null, status, text, elapsed);
                return new("5xx", status, $"{status} {text}", elapsed);
            }
            if (status >= 400 && ShapeProblem(Family.Shape(PathOnly(r.Path)), status, response.Content.Headers.ContentType?.MediaType, body) is { } problem)
                return new("bad-4xx-body", status, $"{status}: {problem}: {text}", elapsed);
            return new(null, status, text, elapsed);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            await Task.Delay(200); // let a dying process finish dying
            if (Process.HasExited) return new("crash", 0, $"the service exited with {Process.ExitCode}: {e.Message}\n{Tail(Process.Stderr + Process.Stdout)}", elapsed);
            if (cts.IsCancellationRequested) return new("hang", 0, $"no answer within {RequestTimeout.TotalSeconds:0} s", elapsed);
            return new("aborted", 0, $"the connection broke without an answer: {e.Message}", elapsed);
        }
    }

    private static string PathOnly(string path) => path.Split('?')[0];

    /// <summary>Why a 4xx body is not the family's JSON error, or null when it is.</summary>
    public static string? ShapeProblem(ErrorShape shape, int status, string? mediaType, byte[] body)
    {
        if (mediaType != "application/json") return $"content type '{mediaType}' is not application/json";
        JsonElement root;
        try { root = JsonDocument.Parse(body).RootElement; }
        catch (JsonException e) { return "the body is not JSON: " + e.Message; }
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error", out var error)) return "no \"error\"";
        static bool Str(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0;
        switch (shape)
        {
            case ErrorShape.Ollama:
                return error.ValueKind == JsonValueKind.String && error.GetString()!.Length > 0 ? null : "\"error\" is not a non-empty string";
            case ErrorShape.Florence:
                if (!Str(root, "error") || !Str(root, "message")) return "\"error\" (the code) or \"message\" is not a non-empty string";
                return root.TryGetProperty("status", out var fs) && fs.ValueKind == JsonValueKind.Number && fs.GetInt32() == status ? null : "\"status\" is not the HTTP status";
            case ErrorShape.OpenAi:
                if (error.ValueKind != JsonValueKind.Object) return "\"error\" is not an object";
                if (!Str(error, "message") || !Str(error, "type")) return "\"error\" lacks message or type";
                return error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _) ? null : "\"error\" lacks param or code";
            default:
                if (error.ValueKind != JsonValueKind.Object) return "\"error\" is not an object";
                if (!Str(error, "code") || !Str(error, "message")) return "\"error\" lacks code or message";
                return error.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt32() == status ? null : "\"error\".status is not the HTTP status";
        }
    }

    private async Task<Outcome> SendWyomingAsync(byte[] bytes)
    {
        var start = Stopwatch.GetTimestamp();
        using var cts = new CancellationTokenSource(RequestTimeout);
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, WyomingPort!.Value, cts.Token);
            var stream = tcp.GetStream();
            try
            {
                await stream.WriteAsync(bytes, cts.Token);
                tcp.Client.Shutdown(SocketShutdown.Send);
            }
            catch (IOException) { } // the server may close on a framing error before reading everything: allowed
            var buffer = new byte[65536];
            var received = new MemoryStream();
            try
            {
                int n;
                while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0) received.Write(buffer, 0, n);
            }
            catch (IOException) { } // reset by the server after an error event: allowed
            var elapsed = Stopwatch.GetElapsedTime(start);
            await Task.Delay(20);
            if (Process.HasExited) return new("crash", 0, $"the service exited with {Process.ExitCode}\n{Tail(Process.Stderr + Process.Stdout)}", elapsed);
            return new(null, 0, Excerpt(received.ToArray()), elapsed);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            await Task.Delay(200);
            if (Process.HasExited) return new("crash", 0, $"the service exited with {Process.ExitCode}: {e.Message}\n{Tail(Process.Stderr + Process.Stdout)}", elapsed);
            return cts.IsCancellationRequested ? new("hang", 0, $"the Wyoming connection neither answered nor closed within {RequestTimeout.TotalSeconds:0} s", elapsed)
                : new("aborted", 0, e.Message, elapsed);
        }
    }

    /// <summary>Wyoming still works: describe → info.</summary>
    public async Task<string?> WyomingProblemAsync()
    {
        if (WyomingPort is null) return null;
        var r = await SendWyomingAsync(WhisperFamily.Event("describe", null, null));
        if (!r.Ok) return r.Detail;
        return r.Detail.Contains("\"info\"", StringComparison.Ordinal) ? null : "describe got no info event: " + r.Detail;
    }

    /// <summary>GET /health's status, or 0 when it does not answer.</summary>
    public async Task<int> HealthAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            using var r = await _client.GetAsync("/health", cts.Token);
            return (int)r.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException) { return 0; }
    }

    /// <summary>The "backend" /health names (npu, cpu), or "?" when it does not say.</summary>
    public async Task<string> BackendAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var text = await _client.GetStringAsync("/health", cts.Token);
            return JsonDocument.Parse(text).RootElement.TryGetProperty("backend", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString()! : "?";
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException) { return "?"; }
    }

    /// <summary>A counter or gauge of /metrics (the first sample of <paramref name="name"/>), or null when it is not there.</summary>
    public async Task<long?> MetricAsync(string name)
    {
        try
        {
            var text = await _client.GetStringAsync("/metrics");
            var m = Regex.Match(text, "^" + Regex.Escape(name) + @"(?:\{[^}]*\})? (\d+)", RegexOptions.Multiline);
            return m.Success ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
        }
        catch (HttpRequestException) { return null; }
    }

    /// <summary>The managed heap's size as the service's /metrics reports it ("managed heap ? MiB" when it cannot).</summary>
    public async Task<string> ManagedHeapAsync()
    {
        try
        {
            var text = await _client.GetStringAsync("/metrics");
            static string MiB(string bytes) => $"{long.Parse(bytes, System.Globalization.CultureInfo.InvariantCulture) / 1048576.0:0.0}";
            var m = Regex.Match(text, @"^dotnet_gc_heap_bytes (\d+)", RegexOptions.Multiline);
            var parts = Regex.Matches(text, @"^dotnet_gc_heap_size_after_gc_bytes\{part=""(\w+)""\} (\d+)", RegexOptions.Multiline)
                .Select(p => $"{p.Groups[1].Value} {MiB(p.Groups[2].Value)}");
            var committed = Regex.Match(text, @"^dotnet_gc_committed_bytes (\d+)", RegexOptions.Multiline);
            var passes = Regex.Match(text, @"^hailo_idle_memory_passes_total (\d+)", RegexOptions.Multiline);
            var gen2 = Regex.Match(text, @"^dotnet_gc_collections_total\{generation=""2""\} (\d+)", RegexOptions.Multiline);
            return m.Success ? $"managed heap {MiB(m.Groups[1].Value)} MiB (after the last GC: {string.Join(", ", parts)}; committed {(committed.Success ? MiB(committed.Groups[1].Value) : "?")}; idle passes {(passes.Success ? passes.Groups[1].Value : "?")}; gen2 collections {(gen2.Success ? gen2.Groups[1].Value : "?")})" : "managed heap ? MiB";
        }
        catch (HttpRequestException) { return "managed heap ? MiB"; }
    }

    private static string Excerpt(byte[] body)
    {
        var s = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 600));
        return body.Length > 600 ? s + "…" : s;
    }

    private static string Tail(string s) => s.Length > 3000 ? "…" + s[^3000..] : s;

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await Process.DisposeAsync();
    }
}
