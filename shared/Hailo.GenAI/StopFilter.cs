using System.Text;

namespace Hailo.GenAI;

/// <summary>
/// Cuts the output at the first stop string. Text that could be the start of a stop string is held back until
/// it is clear, so a stop string never reaches the client even when it spans several tokens.
/// </summary>
public sealed class StopFilter(IReadOnlyList<string> stops)
{
    private readonly StringBuilder _pending = new();

    public (string Emit, bool Stopped) Push(string piece)
    {
        if (stops.Count == 0) return (piece, false);
        _pending.Append(piece);
        var s = _pending.ToString();
        var cut = -1;
        foreach (var stop in stops)
        {
            var i = s.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (cut < 0 || i < cut)) cut = i;
        }
        if (cut >= 0)
        {
            _pending.Clear();
            return (s[..cut], true);
        }
        var keep = 0;
        foreach (var stop in stops)
            for (var k = Math.Min(stop.Length - 1, s.Length); k > keep; k--)
                if (s.AsSpan(s.Length - k).SequenceEqual(stop.AsSpan(0, k))) { keep = k; break; }
        _pending.Clear();
        _pending.Append(s, s.Length - keep, keep);
        return (s[..^keep], false);
    }

    public string Flush()
    {
        var s = _pending.ToString();
        _pending.Clear();
        return s;
    }
}
