using System.Text.Json.Serialization;
using Hailo.Hosting.Http;
using Hailo.Management;

namespace HailoPortal;

/// <summary>GET /api/session: the CSRF token every state-changing request carries (X-CSRF-Token), and whether a token guards the portal.</summary>
public sealed record SessionInfo(string CsrfToken, bool AuthRequired, string Version);

/// <summary>POST /api/login: the portal's bearer token, turned into a session cookie.</summary>
public sealed record LoginRequest(string? Token);

/// <summary>GET /api/services: a card per installed service.</summary>
public sealed record ServicesResponse(IReadOnlyList<ServiceCard> Services, string? Error);

public sealed record ServiceCard(
    string Service, string Unit, string LoadState, string ActiveState, string SubState, string UnitFileState, string StatusText,
    int? Port, ulong? MemoryBytes, uint Restarts, double? UptimeSeconds,
    int? HealthStatus, bool Ready, string? Backend, IReadOnlyList<ModelHealthDoc> Models, string? HealthError,
    string? Try, bool Pull);

/// <summary>GET /api/services/{name}/metrics: the service's request counters now (the page turns two samples into a rate and a mean latency).</summary>
public sealed record MetricsSample(string Service, long AtUnixMs, double Requests, double Errors, double LatencySumSeconds, double LatencyCount, double? ResidentBytes);

/// <summary>POST /api/services/{name}/start|stop|restart: how the systemd job ended (done, failed, timeout, …).</summary>
public sealed record JobAnswer(string Service, string Action, string Result, string Message);

/// <summary>GET /api/services/{name}/logs: the last lines of its journal.</summary>
public sealed record LogTail(string Service, IReadOnlyList<string> Lines);

/// <summary>GET /api/npu: the NPU set-up as hailoctl doctor checks it, each problem with its fix.</summary>
public sealed record NpuReport(bool Ok, IReadOnlyList<NpuCheck> Checks);

/// <summary>POST /api/services/{name}/pull: which model (the service's default when absent).</summary>
public sealed record PullRequest(string? Model);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SessionInfo))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(ServicesResponse))]
[JsonSerializable(typeof(MetricsSample))]
[JsonSerializable(typeof(JobAnswer))]
[JsonSerializable(typeof(LogTail))]
[JsonSerializable(typeof(NpuReport))]
[JsonSerializable(typeof(PullRequest))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class PortalJson : JsonSerializerContext;
