using System.Text.Json.Serialization;
using Hailo.Management;

namespace HailoCtl;

/// <summary>hailoctl status --json: one entry per service and whether all of them are ready.</summary>
internal sealed record StatusReport(bool Ready, IReadOnlyList<ServiceStatus> Services);

internal sealed record ServiceStatus(
    string Service, string Unit, string LoadState, string ActiveState, string SubState, string UnitFileState, string StatusText,
    int? Port, string? PortSource, ulong? MemoryBytes, uint Restarts, DateTimeOffset? ActiveSince, double? UptimeSeconds,
    int? HealthHttpStatus, HealthDoc? Health, string? HealthError, bool Ready);

internal sealed record ModelsReport(IReadOnlyList<ServiceModels> Services);

internal sealed record ServiceModels(string Service, int? Port, IReadOnlyList<ModelEntryDoc> Models, string? Error);

internal sealed record DoctorReport(bool Ok, IReadOnlyList<NpuCheck> Checks);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(ModelsReport))]
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
