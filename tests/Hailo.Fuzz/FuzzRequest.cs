using System.Text;

namespace Hailo.Fuzz;

/// <summary>
/// One fuzz input: an HTTP request (method, path with query, content type, body) or, with <see cref="Wyoming"/>, raw
/// bytes for the Wyoming TCP port. Saved as a small text head and the raw body, so a reproducer is one file:
/// <code>
/// POST /api/generate
/// Content-Type: application/json
///
/// {"model":...}
/// </code>
/// (the Wyoming form's head is the single line <c>WYOMING</c>).
/// </summary>
public sealed record FuzzRequest(string Method, string Path, string? ContentType, byte[] Body)
{
    public const string WyomingMethod = "WYOMING";

    public bool Wyoming => Method == WyomingMethod;

    public static FuzzRequest ForWyoming(byte[] bytes) => new(WyomingMethod, "", null, bytes);

    public byte[] Serialize()
    {
        var head = new StringBuilder();
        head.Append(Method);
        if (!Wyoming) head.Append(' ').Append(Path);
        head.Append('\n');
        if (ContentType is not null) head.Append("Content-Type: ").Append(ContentType.Replace('\n', ' ').Replace('\r', ' ')).Append('\n');
        head.Append('\n');
        return [.. Encoding.UTF8.GetBytes(head.ToString()), .. Body];
    }

    public static FuzzRequest Parse(byte[] file)
    {
        var end = -1;
        for (var i = 0; i + 1 < file.Length; i++)
            if (file[i] == '\n' && file[i + 1] == '\n') { end = i; break; }
        if (end < 0) throw new InvalidDataException("no blank line after the request head");
        var lines = Encoding.UTF8.GetString(file, 0, end).Split('\n');
        var first = lines[0].Split(' ', 2);
        string? contentType = null;
        foreach (var l in lines.Skip(1))
            if (l.StartsWith("Content-Type: ", StringComparison.OrdinalIgnoreCase)) contentType = l["Content-Type: ".Length..];
        return new FuzzRequest(first[0], first.Length > 1 ? first[1] : "", contentType, file[(end + 2)..]);
    }

    /// <summary>The body as text for matching known issues and for messages (binary bytes become U+FFFD).</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);

    public override string ToString() =>
        Wyoming ? $"WYOMING ({Body.Length} bytes)" : $"{Method} {Cut(Path, 160)} [{Cut(ContentType ?? "no content type", 80)}] ({Body.Length} bytes)";

    private static string Cut(string s, int n) => s.Length > n ? s[..n] + "…" : s;
}
