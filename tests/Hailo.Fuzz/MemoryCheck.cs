using System.Diagnostics;

namespace Hailo.Fuzz;

/// <summary>
/// The memory bound: a service's RSS after <c>requests</c> well-formed requests (the family's seeds in turn: several
/// image sizes and formats, several audio files, several generation routes) must stay within 1.3 × its RSS right
/// after the model loaded (READY with the model preloaded).
/// </summary>
public static class MemoryCheck
{
    public const double Bound = 1.3;

    public static async Task<(long Loaded, long After, List<string> Failures)> RunAsync(Family family, int requests)
    {
        var failures = new List<string>();
        var scratch = Directory.CreateTempSubdirectory($"hailo-mem-{family.Name}-").FullName;
        try
        {
            var models = family.PrepareModels(scratch);
            await using var target = await Target.StartAsync(family, models, ["--wyoming.enabled", "false"]);
            await Task.Delay(500);
            var loaded = Rss(target.Process.Pid);
            var seeds = family.Seeds().Where(s => !s.Wyoming).ToList();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < requests; i++)
            {
                var o = await target.SendAsync(seeds[i % seeds.Count]);
                if (o.Status != 200) { failures.Add($"request {i} ({seeds[i % seeds.Count]}) answered {o.Status}: {o.Detail}"); break; }
            }
            var after = Rss(target.Process.Pid);
            var ratio = (double)after / loaded;
            Console.WriteLine($"  {family.Service}: RSS {loaded / 1048576.0:0.0} MiB after load, {after / 1048576.0:0.0} MiB after {requests} requests ({ratio:0.00}×, bound {Bound}×) in {clock.Elapsed.TotalSeconds:0.0} s");
            if (ratio > Bound) failures.Add($"{family.Service}: RSS grew {ratio:0.00}× over {requests} requests (bound {Bound}×)");
            return (loaded, after, failures);
        }
        finally
        {
            if (Path.GetFullPath(scratch) != Path.GetFullPath(Hailo.TestSupport.Repo.ModelsDir)) Directory.Delete(scratch, true);
        }
    }

    /// <summary>Resident set size of a process in bytes (VmRSS).</summary>
    public static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}
