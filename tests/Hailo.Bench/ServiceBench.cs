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

    public static async Task<byte[]> Post(HttpClient client, string path, byte[] jpeg)
    {
        using var content = new ByteArrayContent(jpeg);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var r = await client.PostAsync(path, content);
        var body = await r.Content.ReadAsByteArrayAsync();
        if (!r.IsSuccessStatusCode) throw new InvalidOperationException(System.Text.Encoding.UTF8.GetString(body));
        return body;
    }

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
