using System.Diagnostics;
using Hailo.TestSupport;

namespace Hailo.Fuzz;

/// <summary>
/// One family's fuzz run: the corpus replayed, then seeded mutations until the time is up, then /health (and Wyoming's
/// describe) must still answer. Findings are saved as replayable files; known issues (known-issues.txt) do not fail.
/// </summary>
public sealed class FuzzRun(Family family, int seed, TimeSpan duration, string outDir, KnownIssues known)
{
    private const int SavedPerKind = 20;
    /// <summary>Bodies are cut here: past every route's limit (413), without uploading hundreds of MB.</summary>
    private const int MaxBody = 48 << 20;
    private readonly Dictionary<string, int> _counts = [];
    private readonly Dictionary<string, int> _saved = [];
    private readonly Dictionary<string, int> _knownHits = [];
    private int _cases;

    public List<string> Failures { get; } = [];

    public static string CorpusDir(Family f) => Path.Combine(Repo.Root, "tests", "Hailo.Fuzz", "corpus", f.Name);

    public static IReadOnlyList<(string File, FuzzRequest Request)> Corpus(Family f) =>
        Directory.Exists(CorpusDir(f))
            ? Directory.EnumerateFiles(CorpusDir(f), "*.req").Order(StringComparer.Ordinal).Select(p => (p, FuzzRequest.Parse(File.ReadAllBytes(p)))).ToList()
            : [];

    public async Task RunAsync()
    {
        var scratch = Directory.CreateTempSubdirectory($"hailo-fuzz-{family.Name}-").FullName;
        try
        {
            var models = family.PrepareModels(scratch);
            // Each family's sequence depends on the seed and the family alone.
            var m = new Mutator(new Random(seed ^ StableHash(family.Name)));
            var target = await Target.StartAsync(family, models);
            try
            {
                var corpus = Corpus(family);
                var pool = family.Seeds().Concat(corpus.Where(c => known.Match(family.Name, c.Request) is null).Select(c => c.Request)).ToList();

                // 1. The corpus, as regression cases (known crashes wait for the end).
                foreach (var (file, r) in corpus)
                {
                    if (known.Match(family.Name, r, "crash") is not null) continue;
                    target = await CheckAsync(target, models, r, "corpus " + Path.GetFileName(file));
                }
                // 2. Mutations until the time is up.
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < duration)
                {
                    var r = m.Chance(0.75) ? family.Generate(m) : family.MutateCorpus(m.Pick(pool), m);
                    if (r.Body.Length > MaxBody) r = r with { Body = r.Body[..MaxBody] };
                    if (known.Match(family.Name, r, "crash") is { } crash) { Count("skipped (known crash " + crash.Id + ")"); continue; }
                    target = await CheckAsync(target, models, r, null);
                }
                // 3. Still healthy.
                var health = await target.HealthAsync();
                if (health != 200) Fail($"/health answered {health} at the end");
                if (await target.WyomingProblemAsync() is { } wyoming) Fail("Wyoming after the run: " + wyoming);
                // 4. Known crashes: do they still reproduce? (Informational; the service may die here.)
                foreach (var (file, r) in corpus)
                    if (known.Match(family.Name, r, "crash") is { } issue)
                    {
                        if (target.Process.HasExited) target = await RestartAsync(target, models);
                        var o = await target.SendAsync(r);
                        Console.WriteLine($"  known {issue.Id}: {Path.GetFileName(file)} {(o.Ok ? "NO LONGER REPRODUCES (status " + o.Status + "): remove its line from known-issues.txt" : "still reproduces (" + o.Finding + ")")}");
                    }
            }
            finally
            {
                await target.DisposeAsync();
            }
        }
        finally
        {
            if (Path.GetFullPath(scratch) != Path.GetFullPath(Repo.ModelsDir)) Directory.Delete(scratch, true);
        }
        Console.WriteLine($"  {family.Name}: {_cases} cases; " + string.Join(", ", _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}: {c.Value}")));
        foreach (var (id, n) in _knownHits) Console.WriteLine($"  known issue {id} hit {n} times (not a failure)");
    }

    private async Task<Target> CheckAsync(Target target, string models, FuzzRequest r, string? label)
    {
        _cases++;
        var o = await target.SendAsync(r);
        var issue = known.Match(family.Name, r);
        if (o.Ok)
        {
            Count(o.Status == 0 ? "wyoming" : o.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (label is not null && issue is not null)
                Console.WriteLine($"  known {issue.Id}: {label} NO LONGER REPRODUCES (status {o.Status}): remove its line from known-issues.txt");
            return target;
        }
        var isKnown = issue is not null && (issue.Kind == "crash" || o.Finding == "5xx");
        if (isKnown)
        {
            if (label is not null) Console.WriteLine($"  known {issue!.Id}: {label} still reproduces ({o.Finding} {o.Status})");
            _knownHits[issue!.Id] = _knownHits.GetValueOrDefault(issue.Id) + 1;
            Count("known");
        }
        else
        {
            Count(o.Finding!);
            var file = Save(o.Finding!, r, o);
            Fail($"{o.Finding} on {r}{(label is null ? "" : " (" + label + ")")}: {FirstLine(o.Detail)}{(file is null ? "" : "\n    saved: " + file)}");
        }
        return target.Process.HasExited ? await RestartAsync(target, models) : target;
    }

    private async Task<Target> RestartAsync(Target target, string models)
    {
        Console.WriteLine($"  {family.Name}: the service died; restarting it");
        await target.DisposeAsync();
        return await Target.StartAsync(family, models);
    }

    private string? Save(string kind, FuzzRequest r, Outcome o)
    {
        var n = _saved.GetValueOrDefault(kind);
        if (n >= SavedPerKind) return null;
        _saved[kind] = n + 1;
        var dir = Path.Combine(outDir, family.Name);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, $"{kind}-seed{seed}-{_cases}.req");
        File.WriteAllBytes(file, r.Serialize());
        File.WriteAllText(Path.ChangeExtension(file, ".txt"), $"{r}\nfinding: {kind}\nstatus: {o.Status}\n{o.Detail}\n");
        return file;
    }

    private void Count(string key) => _counts[key] = _counts.GetValueOrDefault(key) + 1;

    private void Fail(string message)
    {
        Failures.Add(message);
        Console.WriteLine($"  FAIL {family.Name}: {message}");
    }

    private static string FirstLine(string s) => s.Split('\n')[0] is var l && l.Length > 300 ? l[..300] + "…" : s.Split('\n')[0];

    public static int StableHash(string s)
    {
        var h = 17;
        foreach (var c in s) h = unchecked(h * 31 + c);
        return h;
    }
}
