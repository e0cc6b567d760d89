using System.Text.RegularExpressions;

namespace Hailo.Fuzz;

/// <summary>
/// Bugs the fuzzer has found whose fixes are pending, from known-issues.txt: each line is
/// <c>id | family | kind | path regex | body regex</c>. A request matching a <c>crash</c> entry is not sent while
/// fuzzing (it would only kill the service again) and is replayed once at the end to say whether it still crashes;
/// a request matching a <c>5xx</c> entry is sent, and a 5xx answer to it does not fail the run. Deleting a line makes
/// its corpus case an ordinary regression case again.
/// </summary>
public sealed class KnownIssues
{
    public sealed record Issue(string Id, string Family, string Kind, Regex Path, Regex Body);

    private readonly List<Issue> _issues = [];

    // Linear-time matching: bodies run to megabytes.
    private const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.NonBacktracking;

    public static string DefaultFile => Path.Combine(Hailo.TestSupport.Repo.Root, "tests", "Hailo.Fuzz", "known-issues.txt");

    public static KnownIssues Load(string file)
    {
        var k = new KnownIssues();
        if (!File.Exists(file)) return k;
        foreach (var raw in File.ReadAllLines(file))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var f = line.Split(" | ");
            if (f.Length != 5 || f[2] is not ("crash" or "5xx")) throw new InvalidDataException($"{file}: not 'id | family | crash|5xx | path regex | body regex': {raw}");
            k._issues.Add(new Issue(f[0], f[1], f[2], new Regex(f[3], Options), new Regex(f[4], Options | RegexOptions.Singleline)));
        }
        return k;
    }

    public IReadOnlyList<Issue> All => _issues;

    public Issue? Match(string family, FuzzRequest r, string? kind = null) =>
        _issues.FirstOrDefault(i => i.Family == family && (kind is null || i.Kind == kind) && i.Path.IsMatch(r.Path) && i.Body.IsMatch(r.BodyText));
}
