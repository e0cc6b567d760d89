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

    /// <summary>
    /// How long the service is left idle before each measure: 3 s (its first idle pass, 2 s after the last request),
    /// or with SOAK_SETTLE=1 until its follow-up passes have run too (the shared array pool's buffers dropped).
    /// </summary>
    public static TimeSpan Idle { get; } = Environment.GetEnvironmentVariable("SOAK_SETTLE") == "1"
        ? IdleTrimmerSchedule.Settled
        : TimeSpan.FromSeconds(3);

    public static async Task<(long Loaded, long After, List<string> Failures)> RunAsync(Family family, int requests)
    {
        var failures = new List<string>();
        var scratch = Directory.CreateTempSubdirectory($"hailo-mem-{family.Name}-").FullName;
        try
        {
            var models = family.PrepareModels(scratch);
            await using var target = await Target.StartAsync(family, models);
            // Idle after start-up, the service has given back what loading left (Hailo.Hosting.IdleTrimmer, 2 s;
            // SOAK_SETTLE=1: also after its follow-up passes, both measures).
            await Task.Delay(Idle);
            var loaded = Rss(target.Process.Pid);
            Console.WriteLine($"    after load: {Breakdown(target.Process.Pid)}, {await target.ManagedHeapAsync()}");
            var known = KnownIssues.Load(KnownIssues.DefaultFile);
            var seeds = family.Seeds().Where(s => !s.Wyoming && known.Match(family.Name, s) is null).ToList();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < requests; i++)
            {
                var o = await target.SendAsync(seeds[i % seeds.Count]);
                if (o.Status != 200) { failures.Add($"request {i} ({seeds[i % seeds.Count]}) answered {o.Status}: {o.Detail}"); break; }
                if (i + 1 == seeds.Count || i + 1 == 50) Console.WriteLine($"    after {i + 1}: {Breakdown(target.Process.Pid)}, {await target.ManagedHeapAsync()}");
            }
            Console.WriteLine($"    right after request {requests}: {Breakdown(target.Process.Pid)}");
            // As after the load, the service is measured idle: 2 s after its last request it gives memory back
            // (Hailo.Hosting.IdleTrimmer); wait for that.
            await Task.Delay(Idle);
            Console.WriteLine($"    idle after {requests}: {Breakdown(target.Process.Pid)}, {await target.ManagedHeapAsync()}");
            var after = Rss(target.Process.Pid);
            if (Environment.GetEnvironmentVariable("FUZZ_SMAPS") == "1") Console.WriteLine(TopMappings(target.Process.Pid));
            // FUZZ_HOLD=N keeps the service running N seconds after the measure (to inspect it, e.g. with dotnet-gcdump).
            if (int.TryParse(Environment.GetEnvironmentVariable("FUZZ_HOLD"), out var hold) && hold > 0)
            {
                Console.WriteLine($"    holding {family.Service} (pid {target.Process.Pid}) for {hold} s");
                await Task.Delay(TimeSpan.FromSeconds(hold));
            }
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

    public static string Breakdown(int pid) => string.Join(", ", File.ReadLines($"/proc/{pid}/status")
        .Where(l => l.StartsWith("Rss", StringComparison.Ordinal) || l.StartsWith("VmRSS", StringComparison.Ordinal)).Select(l => string.Join(' ', l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))));

    /// <summary>The mappings holding the most resident memory (FUZZ_SMAPS=1), to see where growth lives.</summary>
    public static string TopMappings(int pid)
    {
        var list = new List<(long Kb, string Name)>();
        string? name = null;
        foreach (var line in File.ReadLines($"/proc/{pid}/smaps"))
        {
            if (char.IsAsciiHexDigit(line[0]) && line.Contains('-')) name = line;
            else if (line.StartsWith("Rss:", StringComparison.Ordinal))
                list.Add((long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture), name!));
        }
        return string.Join('\n', list.OrderByDescending(x => x.Kb).Take(12).Select(x => $"    {x.Kb,8} kB  {x.Name}"));
    }

    /// <summary>Resident set size of a process in bytes (VmRSS).</summary>
    /// <summary>
    /// Proportional set size: the process's resident pages with each page it shares with other processes (the C
    /// library, the shim, the same binary or library file mapped twice) counted as its share. The sum over a set of
    /// processes is the host RAM they hold together; the sum of their RSS counts shared pages once per process.
    /// </summary>
    public static long Pss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return 0;
    }

    public static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return 0;
    }
}

/// <summary>When a service's idle passes (<see cref="Hailo.Hosting.IdleTrimmer"/>: the first, then its follow-ups) are done.</summary>
public static class IdleTrimmerSchedule
{
    public static TimeSpan Settled { get; } = Hailo.Hosting.IdleTrimmer.Delay
        + Hailo.Hosting.IdleTrimmer.FollowUps.Aggregate(TimeSpan.Zero, (a, b) => a + b) + TimeSpan.FromSeconds(2);
}
