using System.Globalization;
using Hailo.Fuzz;

// Hailo.Fuzz [fuzz] [--seconds N] [--seed S] [--family ocr,pose,...] [--out DIR]   mutated requests against each service
// Hailo.Fuzz replay FILE.req... [--family NAME]                                    one saved input, its outcome printed
// Hailo.Fuzz memory [--requests N] [--family ...]                                   RSS after N requests ≤ 1.3 × after load
// Hailo.Fuzz fleet [--seconds N] [--clients C] [--rate R] [--mutated P] [--report FILE]   every service at once under a mixed load
//                                                          (--rate: requests/s per client at most; FLEET_RATE)
//                  [--device npu]   the same on the native shim's fake NPU: one shared fake device, the GenAI pair taking turns with its KV cache
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var command = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "fuzz";
var families = Arg("--family") is { } only
    ? only.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(n => Family.All.FirstOrDefault(f => f.Name == n) ?? throw new ArgumentException($"no family '{n}'; one of: {string.Join(", ", Family.All.Select(f => f.Name))}")).ToList()
    : Family.All.ToList();
var known = KnownIssues.Load(Arg("--known") ?? KnownIssues.DefaultFile);

switch (command)
{
    case "fuzz":
    {
        var seconds = int.Parse(Arg("--seconds") ?? Env("FUZZ_SECONDS") ?? "20", CultureInfo.InvariantCulture);
        var seed = int.Parse(Arg("--seed") ?? Env("FUZZ_SEED") ?? Random.Shared.Next().ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var outDir = Path.GetFullPath(Arg("--out") ?? Path.Combine(Hailo.TestSupport.Repo.Root, "build", "fuzz"));
        Console.WriteLine($"fuzz: seed {seed}, {seconds} s per family, findings into {outDir} (same sequence again: FUZZ_SEED={seed})");
        var failures = new List<string>();
        foreach (var f in families)
        {
            Console.WriteLine($"== {f.Name} ({f.Service}: {Target.Binary(f)})");
            var run = new FuzzRun(f, seed, TimeSpan.FromSeconds(seconds), outDir, known);
            await run.RunAsync();
            failures.AddRange(run.Failures.Select(x => $"{f.Name}: {x}"));
        }
        if (failures.Count == 0) { Console.WriteLine($"fuzz: no findings (seed {seed})"); return 0; }
        Console.Error.WriteLine($"fuzz: {failures.Count} findings (seed {seed}; inputs in {outDir}; replay one: make fuzz FUZZ_REPLAY=<file.req>)");
        foreach (var x in failures.Take(40)) Console.Error.WriteLine("  " + x.Split('\n')[0]);
        return 1;
    }
    case "replay":
    {
        var files = args.Skip(1).TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        var bad = 0;
        foreach (var file in files)
        {
            // The family is the corpus or findings directory the file sits in, unless --family names it.
            var family = Arg("--family") is null ? Family.All.FirstOrDefault(f => f.Name == Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(file)))) : families[0];
            if (family is null) { Console.Error.WriteLine($"{file}: say which family with --family"); return 2; }
            var r = FuzzRequest.Parse(File.ReadAllBytes(file));
            var scratch = Directory.CreateTempSubdirectory("hailo-replay-").FullName;
            try
            {
                await using var target = await Target.StartAsync(family, family.PrepareModels(scratch));
                var o = await target.SendAsync(r);
                var issue = known.Match(family.Name, r);
                Console.WriteLine($"{file}: {r}\n  {(o.Ok ? "ok" : o.Finding)} {o.Status} in {o.Elapsed.TotalMilliseconds:0} ms{(issue is null ? "" : $" (known issue {issue.Id})")}\n  {o.Detail}");
                if (!o.Ok) bad++;
            }
            finally
            {
                if (Path.GetFullPath(scratch) != Path.GetFullPath(Hailo.TestSupport.Repo.ModelsDir)) Directory.Delete(scratch, true);
            }
        }
        return bad == 0 ? 0 : 1;
    }
    case "memory":
    {
        var requests = int.Parse(Arg("--requests") ?? "500", CultureInfo.InvariantCulture);
        var failures = new List<string>();
        foreach (var f in families) failures.AddRange((await MemoryCheck.RunAsync(f, requests)).Failures);
        foreach (var x in failures) Console.Error.WriteLine("FAIL " + x);
        return failures.Count == 0 ? 0 : 1;
    }
    case "fleet":
    {
        var seconds = int.Parse(Arg("--seconds") ?? Env("FLEET_SECONDS") ?? "60", CultureInfo.InvariantCulture);
        var clients = int.Parse(Arg("--clients") ?? "3", CultureInfo.InvariantCulture);
        var mutated = double.Parse(Arg("--mutated") ?? "0.3", CultureInfo.InvariantCulture);
        var seed = int.Parse(Arg("--seed") ?? Env("FUZZ_SEED") ?? "1", CultureInfo.InvariantCulture);
        var device = Arg("--device") ?? Env("FLEET_DEVICE") ?? "cpu";
        if (device is not ("cpu" or "npu")) throw new ArgumentException($"--device {device}: cpu or npu");
        var rate = double.Parse(Arg("--rate") ?? Env("FLEET_RATE") ?? "0", CultureInfo.InvariantCulture);
        return await FleetSoak.RunAsync(families, TimeSpan.FromSeconds(seconds), clients, mutated, seed, known, Arg("--report"), npu: device == "npu", rate: rate);
    }
    default:
        Console.Error.WriteLine("usage: Hailo.Fuzz [fuzz|replay FILE...|memory|fleet] [--seconds N] [--seed S] [--family a,b] [--out DIR] [--requests N] [--clients C] [--rate R] [--mutated P] [--report FILE]");
        return 2;
}

static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
