namespace Hailo.GenAI;

/// <summary>keep_alive: a number of seconds or a Go duration ("5m", "1h30m", "300s", "-1m"); negative = for ever, 0 = unload now.</summary>
public static class KeepAliveValue
{
    public static readonly TimeSpan Forever = TimeSpan.MaxValue;

    public static bool TryParse(string? s, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(s)) return false;
        s = s.Trim();
        if (double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
            return FromSeconds(seconds, out value);
        var neg = s.StartsWith('-');
        var i = neg || s.StartsWith('+') ? 1 : 0;
        double total = 0;
        var any = false;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (start == i) return false;
            if (!double.TryParse(s.AsSpan(start, i - start), System.Globalization.NumberStyles.AllowDecimalPoint,
                    System.Globalization.CultureInfo.InvariantCulture, out var num)) return false; // "1..5m", "."
            var u = i;
            while (i < s.Length && char.IsAsciiLetter(s[i]) || (i < s.Length && s[i] == 'µ')) i++;
            var unit = s[u..i];
            double mult = unit switch
            {
                "ns" => 1e-9, "us" or "µs" => 1e-6, "ms" => 1e-3, "s" => 1, "m" => 60, "h" => 3600, _ => double.NaN,
            };
            if (double.IsNaN(mult)) return false;
            total += num * mult;
            any = true;
        }
        return any && FromSeconds(neg ? -total : total, out value);
    }

    private static bool FromSeconds(double seconds, out TimeSpan value)
    {
        if (double.IsNaN(seconds) || double.IsInfinity(seconds)) { value = default; return false; }
        value = seconds < 0 || seconds > 100L * 365 * 86400 ? Forever : TimeSpan.FromSeconds(seconds);
        return true;
    }
}
