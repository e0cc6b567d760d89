using System.Text;

namespace Hailo.Fuzz;

/// <summary>One part of a multipart/form-data body: a field (no file name) or a file.</summary>
public sealed record Part(string Name, string? FileName, string? ContentType, byte[] Data)
{
    public static Part Field(string name, string value) => new(name, null, null, Encoding.UTF8.GetBytes(value));
}

/// <summary>multipart/form-data written by hand, so that its boundary, part headers and framing can be broken on purpose.</summary>
public static class Multipart
{
    public static (string ContentType, byte[] Body) Build(IReadOnlyList<Part> parts, Mutator? m = null)
    {
        var boundary = "fuzz" + (m?.Rng.Next() ?? 1234567).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        var headerBoundary = boundary;
        var eol = "\r\n";
        var closing = true;
        var mutate = m is not null && m.Chance(0.35);
        if (mutate)
        {
            switch (m!.Next(9))
            {
                case 0: boundary = headerBoundary = new string('b', 60 + m.Next(200)); break;
                case 1: headerBoundary = "\"" + boundary + "\""; break;
                case 2: headerBoundary = boundary + "x"; break;
                case 3: boundary = headerBoundary = ""; break;
                case 4: eol = "\n"; break;
                case 5: closing = false; break;
                case 6: boundary = headerBoundary = "a b\"c;d=e"; break;
                case 7: headerBoundary = boundary + "; boundary=other"; break;
                default: break;
            }
        }
        var body = new MemoryStream();
        void Text(string s) => body.Write(Encoding.UTF8.GetBytes(s));
        foreach (var p in parts)
        {
            Text("--" + boundary + eol);
            var disposition = $"form-data; name=\"{p.Name}\"" + (p.FileName is null ? "" : $"; filename=\"{p.FileName}\"");
            if (mutate && m!.Chance(0.3))
                disposition = m.Next(5) switch
                {
                    0 => "form-data",
                    1 => "attachment; filename=\"x\"",
                    2 => $"form-data; name={p.Name}; filename*=UTF-8''%e2%82%ac.wav",
                    3 => "form-data; name=\"" + new string('n', 70_000) + "\"",
                    _ => disposition + "; name=\"dup\"",
                };
            if (!(mutate && m!.Chance(0.1))) Text("Content-Disposition: " + disposition + eol);
            if (p.ContentType is not null) Text("Content-Type: " + p.ContentType + eol);
            if (mutate && m!.Chance(0.1)) Text("X-" + new string('h', m.Next(20_000)) + ": v" + eol);
            Text(eol);
            body.Write(p.Data);
            Text(eol);
        }
        if (closing) Text("--" + boundary + "--" + eol);
        var contentType = "multipart/form-data; boundary=" + headerBoundary;
        if (mutate && m!.Chance(0.1)) contentType = m.Pick(["multipart/form-data", "multipart/mixed; boundary=" + boundary, "multipart/form-data; boundary=", "multipart/form-data; charset=utf-8; boundary=" + boundary]);
        return (contentType, body.ToArray());
    }
}
