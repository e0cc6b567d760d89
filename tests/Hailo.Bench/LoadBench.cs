using System.Diagnostics;
using Hailo.Fuzz;

namespace Hailo.Bench;

/// <summary>
/// The load test: 50 clients at once for a bounded time against the Native AOT binary, each sending a mix of
/// well-formed requests (the family's seeds) and mutated ones (the fuzzer's generator). Only 2xx, 4xx and 503 with
/// Retry-After may come back; p50/p99 latency of admitted (2xx) requests, throughput and RSS before and after.
/// </summary>
public sealed class LoadBench(string repo, Family family, int clients = 50, double seconds = 20, double badShare = 0.3)
{
    public async Task<Report> RunAsync()
    {
        var binary = ServiceBench.Binary(repo, family.Service);
        var report = new Report($"Load test by `make bench` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}: Native AOT linux-x64 binary, CPU backend, " +
                                $"the test model, {clients} clients for {seconds:0} s, {badShare:P0} of requests malformed (mutated by tests/Hailo.Fuzz).");
        var scratch = Directory.CreateTempSubdirectory($"hailo-load-{family.Name}-").FullName;
        try
        {
            var models = family.PrepareModels(scratch);
            await using var target = await Target.StartAsync(family, models, binary: binary);
            var known = KnownIssues.Load(KnownIssues.DefaultFile);
            var seeds = family.Seeds().Where(s => !s.Wyoming && known.Match(family.Name, s) is null).ToList();
            // Each well-formed request once, so that a service loading its model on first use (hailo-ollama, as
            // Ollama does) is measured with it loaded; then idle: it has given back what loading left (the idle pass).
            foreach (var seed in seeds) await target.SendAsync(seed);
            await Task.Delay(3000);
            var rssLoaded = MemoryCheck.Rss(target.Process.Pid);
            var admitted = new List<double>();
            var statuses = new Dictionary<string, int>();
            var violations = new List<string>();
            var gate = new Lock();
            var clock = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, clients).Select(w => Task.Run(async () =>
            {
                var m = new Mutator(new Random(1000 + w));
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    FuzzRequest r;
                    do r = m.Chance(badShare) ? family.Generate(m) : m.Pick(seeds);
                    while (known.Match(family.Name, r) is not null || r.Body.Length > 8 << 20);
                    var o = await target.SendAsync(r);
                    lock (gate)
                    {
                        var key = o.Ok ? (o.Status == 0 ? "wyoming" : $"{o.Status / 100}xx" + (o.Status == 503 ? " (503)" : "")) : o.Finding!;
                        statuses[key] = statuses.GetValueOrDefault(key) + 1;
                        if (o.Admitted) admitted.Add(o.Elapsed.TotalMilliseconds);
                        if (!o.Ok && violations.Count < 5) violations.Add($"{o.Finding} on {r}: {o.Detail.Split('\n')[0]}");
                    }
                }
            })).ToArray();
            await Task.WhenAll(workers);
            var elapsed = clock.Elapsed.TotalSeconds;
            var rssAfter = MemoryCheck.Rss(target.Process.Pid);
            var health = await target.HealthAsync();
            await Task.Delay(3000);
            var rssIdle = MemoryCheck.Rss(target.Process.Pid);
            var heapIdle = await target.ManagedHeapAsync();
            var total = statuses.Values.Sum();
            var bad = total - statuses.Where(s => s.Key is "2xx" or "4xx" or "5xx (503)" or "wyoming").Sum(s => s.Value);
            report.Add("requests answered (all clients)", $"{total} in {elapsed:0.0} s", "");
            report.Add("throughput", $"{total / elapsed:0.0} requests/s");
            report.Add("answers by kind", string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}")));
            report.Add("answers other than 2xx, 4xx, 503 + Retry-After", $"{bad}", "0", bad == 0);
            report.Add("latency of admitted (2xx) requests p50", $"{Stats.Median(admitted):0.0} ms");
            report.Add("latency of admitted (2xx) requests p99", $"{Stats.Percentile(admitted, 99):0.0} ms");
            report.Add("RSS with the model loaded (each well-formed request sent once), before the load", $"{rssLoaded / 1048576.0:0.0} MiB");
            report.Add($"RSS right after the load ({total} requests)", $"{rssAfter / 1048576.0:0.0} MiB ({(double)rssAfter / rssLoaded:0.00}×)");
            report.Add("RSS idle 3 s after the load (first idle pass)", $"{rssIdle / 1048576.0:0.0} MiB ({(double)rssIdle / rssLoaded:0.00}×)");
            report.Note($"3 s after the load: {MemoryCheck.Breakdown(target.Process.Pid)}; {heapIdle}");
            // The idle passes that follow (Hailo.Hosting.IdleTrimmer.FollowUps) let the shared array pool drop what
            // the burst rented: measure once they have run.
            var settle = IdleTrimmerSchedule.Settled;
            await Task.Delay(settle - TimeSpan.FromSeconds(3));
            var rssSettled = MemoryCheck.Rss(target.Process.Pid);
            report.Add($"RSS idle {settle.TotalSeconds:0} s after the load (after the follow-up passes)", $"{rssSettled / 1048576.0:0.0} MiB ({(double)rssSettled / rssLoaded:0.00}×)", "≤ 1.3×", rssSettled <= 1.3 * rssLoaded);
            report.Add("/health after the load", $"{health}", "200", health == 200);
            report.Note($"{settle.TotalSeconds:0} s after the load: {MemoryCheck.Breakdown(target.Process.Pid)}; {await target.ManagedHeapAsync()}");
            if (int.TryParse(Environment.GetEnvironmentVariable("FUZZ_HOLD"), out var hold) && hold > 0)
            {
                Console.WriteLine($"holding pid {target.Process.Pid} for {hold} s");
                await Task.Delay(TimeSpan.FromSeconds(hold));
            }
            foreach (var v in violations) report.Note(v);
            return report;
        }
        finally
        {
            if (Path.GetFullPath(scratch) != Path.GetFullPath(Hailo.TestSupport.Repo.ModelsDir)) Directory.Delete(scratch, true);
        }
    }
}
