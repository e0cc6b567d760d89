using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hailo.Management;

/// <summary>GET /health of a service (shared/Hailo.Hosting's HealthResponse; the fields the management tools show).</summary>
public sealed record HealthDoc(string? Status, bool Ready, string? Service, string? Version, string? Backend, string? BackendReason,
    IReadOnlyList<ModelHealthDoc>? Models, string? Reason, string? Fix, double UptimeSeconds, double MemoryUsageMb);

public sealed record ModelHealthDoc(string Name, string State, string? Detail, string? Fix);

/// <summary>GET /v1/models (the vision services' ModelList; OpenAI's list shape for the others).</summary>
public sealed record ModelListDoc(IReadOnlyList<ModelEntryDoc>? Data);

public sealed record ModelEntryDoc(string Id, string? Backend, string? Status, string? Description);

/// <summary>One line of Ollama's /api/pull stream.</summary>
public sealed record PullLine(string? Status, string? Digest, long? Total, long? Completed, string? Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(HealthDoc))]
[JsonSerializable(typeof(ModelListDoc))]
[JsonSerializable(typeof(PullLine))]
[JsonSerializable(typeof(string))]
public sealed partial class ManagementJson : JsonSerializerContext;

/// <summary>The services' own HTTP APIs as the management tools call them: no proxy, short connect timeout.</summary>
public static class ServiceHttp
{
    /// <summary>Services with a pull endpoint of their own (the others pull with their own command).</summary>
    public static readonly IReadOnlyDictionary<string, string> PullEndpoints = new Dictionary<string, string> { ["hailo-ollama"] = "/api/pull" };

    public static HttpClient Client(TimeSpan timeout, string? token)
    {
        var c = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(3) }) { Timeout = timeout };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    /// <summary>The service's /health: its HTTP status and document, or why there is none.</summary>
    public static async Task<(int? Code, HealthDoc? Health, string? Error)> HealthAsync(HttpClient http, ServiceEndpoint ep, CancellationToken ct = default)
    {
        try
        {
            using var r = await http.GetAsync(ep.Url("/health"), ct);
            var body = await r.Content.ReadAsStringAsync(ct);
            HealthDoc? doc = null;
            try
            {
                doc = JsonSerializer.Deserialize(body, ManagementJson.Default.HealthDoc);
            }
            catch (JsonException)
            {
            }
            return ((int)r.StatusCode, doc, doc is null ? $"/health {(int)r.StatusCode} without a health document" : null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            if (ct.IsCancellationRequested) throw;
            return (null, null, $"no answer on {ep.Host}:{ep.Port} ({(e is TaskCanceledException ? "timed out" : e.Message)})");
        }
    }

    /// <summary>A pull request body for Ollama's /api/pull: {"model":…,"stream":true}.</summary>
    public static string PullBody(string model) => "{\"model\":" + JsonSerializer.Serialize(model, ManagementJson.Default.String) + ",\"stream\":true}";
}
