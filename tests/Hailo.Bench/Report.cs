using System.Text;

namespace Hailo.Bench;

/// <summary>Benchmark figures as a markdown table, with the targets each is held to.</summary>
public sealed class Report(string title)
{
    private readonly List<(string Metric, string Value, string Target, bool Met)> _rows = [];
    private readonly List<string> _notes = [];

    public IEnumerable<string> Misses => _rows.Where(r => !r.Met).Select(r => $"{r.Metric} = {r.Value} (target {r.Target})");

    public void Add(string metric, string value, string target = "", bool met = true) => _rows.Add((metric, value, target, met));
    public void Note(string note) => _notes.Add(note);

    public string Markdown
    {
        get
        {
            var sb = new StringBuilder();
            sb.AppendLine($"{title}").AppendLine();
            sb.AppendLine("| metric | value | target |").AppendLine("|---|---|---|");
            foreach (var (m, v, t, met) in _rows) sb.AppendLine($"| {m} | {v} | {(t.Length == 0 ? "" : (met ? "✓ " : "✗ ") + t)} |");
            if (_notes.Count > 0) sb.AppendLine();
            foreach (var n in _notes) sb.AppendLine($"- {n}");
            return sb.ToString();
        }
    }

    /// <summary>Replaces the text between the bench markers of a README (appends them if absent).</summary>
    public void WriteInto(string readme, string marker = "bench")
    {
        string start = $"<!-- {marker}:start -->", end = $"<!-- {marker}:end -->";
        var text = File.Exists(readme) ? File.ReadAllText(readme) : "";
        var block = $"{start}\n{Markdown}{end}";
        var i = text.IndexOf(start, StringComparison.Ordinal);
        var j = text.IndexOf(end, StringComparison.Ordinal);
        text = i >= 0 && j > i ? text[..i] + block + text[(j + end.Length)..] : text + "\n" + block + "\n";
        File.WriteAllText(readme, text);
    }
}

/// <summary>Small statistics over samples.</summary>
public static class Stats
{
    public static double Percentile(IReadOnlyList<double> samples, double p)
    {
        var s = samples.Order().ToArray();
        if (s.Length == 0) return double.NaN;
        var rank = p / 100 * (s.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return s[lo] + (s[hi] - s[lo]) * (rank - lo);
    }

    public static double Median(IReadOnlyList<double> samples) => Percentile(samples, 50);

    /// <summary>Resident set size of a process in bytes (VmRSS).</summary>
    public static long Rss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 0;
    }
}
