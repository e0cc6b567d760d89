using System.Diagnostics;
using System.Net.Http.Headers;
using Hailo.TestSupport;

namespace Hailo.Bench;

/// <summary>What every service benchmark measures the same way: the Native AOT binary, start-up and idle RSS, latency samples.</summary>
internal static class ServiceBench
{
    /// <summary>
    /// The linux-x64 Native AOT binary of a service, published first when missing or older than any source it is
    /// built from (the service, shared/, the build properties), so that figures never describe stale code.
    /// </summary>
    public static string Binary(string repo, string service)
    {
        var binary = Path.Combine(repo, "build", "publish", service, "linux-x64", service);
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= NewestSource(repo, service)) return binary;
        Console.WriteLine($"publishing {service} (missing or older than its sources)");
        using var proc = Process.Start(new ProcessStartInfo(Path.Combine(repo, ".ci", "publish-check"), $"{service} linux-x64 {Path.Combine(repo, "build", "publish")}") { UseShellExecute = false })!;
        proc.WaitForExit();
        if (proc.ExitCode != 0) throw new InvalidOperationException($"publishing {service} failed with {proc.ExitCode}");
        return binary;
    }

    private static DateTime NewestSource(string repo, string service)
    {
        static bool IsSource(string f) => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal)
            || f.EndsWith(".props", StringComparison.Ordinal);
        var files = new[] { Path.Combine(repo, "services", service), Path.Combine(repo, "shared") }
            .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .Where(f => IsSource(f) && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Concat(Directory.EnumerateFiles(repo, "Directory.*.props"));
        return files.Select(File.GetLastWriteTimeUtc).DefaultIfEmpty(DateTime.MinValue).Max();
    }

    /// <summary>exec → READY=1 (median of <paramref name="runs"/>) and RSS one second after READY of the first run.</summary>
    public static async Task<(double ReadyMs, long Rss)> Startup(string binary, string[] args, int runs = 5)
    {
        var ready = new List<double>();
        long rss = 0;
        for (var i = 0; i < runs; i++)
        {
            await using var p = ServiceProcess.Start(binary, args);
            ready.Add((await p.WaitForDatagram("READY=1", TimeSpan.FromMinutes(2))).TotalMilliseconds);
            if (i > 0) continue;
            await Task.Delay(1000);
            rss = Stats.Rss(p.Pid);
        }
        return (Stats.Median(ready), rss);
    }

    /// <summary>
    /// POSTs the JPEG and reads the answer into a buffer reused across calls, as a client that handles a stream of
    /// answers would: a fresh, growing buffer per answer (ReadAsByteArrayAsync) cost this client more than the service's
    /// whole encoding of a 5 MB depth answer (new pages fault at ~18 µs each on these machines). The memory returned is
    /// valid until the next call.
    /// </summary>
    public static async Task<ReadOnlyMemory<byte>> Post(HttpClient client, string path, byte[] jpeg)
    {
        using var content = new ByteArrayContent(jpeg);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        using var r = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await r.Content.ReadAsStreamAsync();
        var length = 0;
        while (true)
        {
            if (length == s_answer.Length) Array.Resize(ref s_answer, s_answer.Length * 2);
            var n = await stream.ReadAsync(s_answer.AsMemory(length));
            if (n == 0) break;
            length += n;
        }
        var body = s_answer.AsMemory(0, length);
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException(System.Text.Encoding.UTF8.GetString(body.Span));
        return body;
    }

    private static byte[] s_answer = new byte[16 << 20];

    /// <summary>Milliseconds of each of <paramref name="iterations"/> runs of <paramref name="work"/> after a warm-up.</summary>
    public static List<double> Time(int iterations, Action work, int warmup = 20)
    {
        for (var i = 0; i < warmup; i++) work();
        var samples = new List<double>(iterations);
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            work();
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        return samples;
    }
}
