namespace Hailo.Core;

/// <summary>
/// Text that came from a client, made safe to repeat in an error message. A request may carry a field name, a value
/// or a header of megabytes; repeating it whole would send it back, write it to the journal, and grow the buffers that
/// format the message (the shared array pool keeps those for minutes after the request). Messages name at most the
/// first <see cref="QuoteLength"/> characters of a value and are at most <see cref="MessageLength"/> characters long.
/// </summary>
public static class ClientText
{
    /// <summary>Characters of a client's value repeated in a message.</summary>
    public const int QuoteLength = 64;
    /// <summary>Longest error message a service sends or logs.</summary>
    public const int MessageLength = 1024;

    /// <summary>The value, or its first <paramref name="max"/> characters and how long it was.</summary>
    public static string Quote(string? value, int max = QuoteLength)
    {
        if (value is null) return "";
        if (value.Length <= max) return value;
        return string.Concat(value.AsSpan(0, Cut(value, max)), "… (", value.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), " characters)");
    }

    /// <summary>The first <paramref name="count"/> values, quoted, joined by ", " (and how many more there were).</summary>
    public static string List(IEnumerable<string> values, int count = 10)
    {
        var shown = new List<string>(count);
        var total = 0;
        foreach (var v in values)
        {
            if (total++ < count) shown.Add(Quote(v));
        }
        var text = string.Join(", ", shown);
        return total > count ? $"{text} and {total - count} more" : text;
    }

    /// <summary>A message of at most <paramref name="max"/> characters.</summary>
    public static string Cap(string message, int max = MessageLength) =>
        message.Length <= max ? message : string.Concat(message.AsSpan(0, Cut(message, max)), "…");

    // Never split a surrogate pair.
    private static int Cut(string s, int max) => char.IsHighSurrogate(s[max - 1]) ? max - 1 : max;
}
