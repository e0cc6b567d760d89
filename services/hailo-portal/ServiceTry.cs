namespace HailoPortal;

/// <summary>
/// The one API call per service the "try it" panels make through the portal: the service, the path on it, the content
/// types the page sends. Nothing else is forwarded: the proxy is no open relay to the services' whole APIs.
/// </summary>
public sealed record TryRoute(string Kind, string Path, string[] ContentTypes);

public static class ServiceTry
{
    public static readonly IReadOnlyDictionary<string, TryRoute> Routes = new Dictionary<string, TryRoute>
    {
        ["hailo-pose"] = new("pose", "/v1/pose/detect", ["image/"]),
        ["hailo-ocr"] = new("ocr", "/v1/ocr/extract", ["image/"]),
        ["hailo-depth"] = new("depth", "/v1/depth/estimate?output_format=image&colormap=turbo", ["image/"]),
        ["hailo-ollama"] = new("chat", "/api/chat", ["application/json"]),
        ["hailo-whisper"] = new("transcribe", "/v1/audio/transcriptions", ["multipart/form-data"]),
        ["hailo-piper"] = new("speech", "/v1/audio/speech", ["application/json"]),
    };

    /// <summary>Whether the content type is one the route takes (image/ is a prefix; parameters such as boundary= are kept).</summary>
    public static bool Accepts(TryRoute route, string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return false;
        var media = contentType.Split(';')[0].Trim().ToLowerInvariant();
        foreach (var c in route.ContentTypes)
            if (c.EndsWith('/') ? media.StartsWith(c, StringComparison.Ordinal) && media.Length > c.Length : media == c) return true;
        return false;
    }
}
