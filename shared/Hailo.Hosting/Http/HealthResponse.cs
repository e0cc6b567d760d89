namespace Hailo.Hosting.Http;

/// <summary>GET /health: liveness and readiness in one small document; 200 when ready, 503 otherwise.</summary>
public sealed record HealthResponse(
    string Status,
    bool Ready,
    string Service,
    string Version,
    string Backend,
    string? BackendReason,
    bool ModelsLoaded,
    IReadOnlyList<ModelHealth> Models,
    string? Reason,
    string? Fix,
    double UptimeSeconds,
    double MemoryUsageMb,
    IReadOnlyDictionary<string, string>? Details = null);

/// <summary>One model's state: missing, idle, loading, ready or failed, with why and how to fix it.</summary>
public sealed record ModelHealth(string Name, string State, string? Detail, string? Fix);

/// <summary>GET /health/ready, kept for clients of the earlier implementation.</summary>
public sealed record ReadyResponse(bool Ready, string? Reason);
