namespace Hailo.GenAI;

/// <summary>Ollama model names: name[:tag], tag "latest" by default, registry and library/ prefixes dropped.</summary>
public static class ModelName
{
    public static bool TryNormalise(string? raw, out string name)
    {
        name = "";
        if (string.IsNullOrWhiteSpace(raw)) return false;
        var s = raw.Trim();
        foreach (var prefix in (string[])["registry.ollama.ai/", "library/"])
            if (s.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) s = s[prefix.Length..];
        if (s.StartsWith("registry.ollama.ai/library/", StringComparison.OrdinalIgnoreCase)) s = s[27..];
        var colon = s.LastIndexOf(':');
        var (n, tag) = colon < 0 ? (s, "latest") : (s[..colon], s[(colon + 1)..]);
        if (n.Length == 0 || tag.Length == 0 || n.Length > 200 || tag.Length > 100) return false;
        foreach (var c in n) if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '/')) return false;
        foreach (var c in tag) if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')) return false;
        if (n.Contains("..", StringComparison.Ordinal) || n.StartsWith('/') || n.EndsWith('/')) return false;
        name = (n + ":" + tag).ToLowerInvariant();
        return true;
    }
}
