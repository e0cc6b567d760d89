using System.Text.Json.Serialization;

namespace HailoCtl;

/// <summary>GET /health of a service (shared/Hailo.Hosting's HealthResponse; only what hailoctl shows).</summary>
internal sealed record HealthDoc(string? Status, bool Ready, string? Service, string? Version, string? Backend, string? BackendReason,
    IReadOnlyList<ModelHealthDoc>? Models, string? Reason, string? Fix, double UptimeSeconds, double MemoryUsageMb);

internal sealed record ModelHealthDoc(string Name, string State, string? Detail, string? Fix);

/// <summary>hailoctl status --json: one entry per service and whether all of them are ready.</summary>
internal sealed record StatusReport(bool Ready, IReadOnlyList<ServiceStatus> Services);

internal sealed record ServiceStatus(
    string Service, string Unit, string LoadState, string ActiveState, string SubState, string UnitFileState, string StatusText,
    int? Port, string? PortSource, ulong? MemoryBytes, uint Restarts, DateTimeOffset? ActiveSince, double? UptimeSeconds,
    int? HealthHttpStatus, HealthDoc? Health, string? HealthError, bool Ready);

/// <summary>GET /v1/models (the vision services' ModelList; OpenAI's list shape for the others).</summary>
internal sealed record ModelListDoc(IReadOnlyList<ModelEntryDoc>? Data);

internal sealed record ModelEntryDoc(string Id, string? Backend, string? Status, string? Description);

internal sealed record ModelsReport(IReadOnlyList<ServiceModels> Services);

internal sealed record ServiceModels(string Service, int? Port, IReadOnlyList<ModelEntryDoc> Models, string? Error);

/// <summary>One line of Ollama's /api/pull stream.</summary>
internal sealed record PullLine(string? Status, string? Digest, long? Total, long? Completed, string? Error);

internal sealed record DoctorReport(bool Ok, IReadOnlyList<DoctorCheck> Checks);

/// <summary>One doctor check: ok, problem or unknown, what was found, and the command that fixes a problem.</summary>
internal sealed record DoctorCheck(string Check, string Result, string Detail, string? Fix);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(HealthDoc))]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(ModelListDoc))]
[JsonSerializable(typeof(ModelsReport))]
[JsonSerializable(typeof(PullLine))]
[JsonSerializable(typeof(DoctorReport))]
internal sealed partial class CtlJson : JsonSerializerContext
{
    /// <summary>For what hailoctl prints: '+', quotes and non-ASCII as they are (a terminal or jq reads them), not \u escapes.</summary>
    public static CtlJson Out { get; } = new(new System.Text.Json.JsonSerializerOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    });
}
