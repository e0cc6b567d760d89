using Hailo.KvCache;

namespace Hailo.GenAI.Http;

/// <summary>
/// Config section <c>kv_cache</c> of a GenAI service: taking turns with the other GenAI services for the NPU's one
/// KV cache (Hailo.KvCache, over D-Bus). Only used when the service runs on the NPU.
/// </summary>
public sealed class KvCacheSection
{
    /// <summary>"system" (the system bus), "none" (no arbitration: a load fails while another process holds the cache), or a D-Bus address.</summary>
    public string Bus { get; set; } = "system";
    /// <summary>How long a request that needs the cache waits for its holder to hand it over; then 503 + Retry-After.</summary>
    public double WaitSeconds { get; set; } = 30;
    /// <summary>The shortest time this service keeps the cache before handing it over (hand-offs cost a model load each).</summary>
    public double MinHoldSeconds { get; set; } = 10;

    public void Validate(Hailo.Hosting.Config.ConfigErrors errors, string prefix = "kv_cache")
    {
        if (string.IsNullOrWhiteSpace(Bus)) errors.Add($"{prefix}.bus", "must be system, none or a D-Bus address (unix:path=...)");
        else if (Bus is not ("system" or "none") && !Bus.Contains(':', StringComparison.Ordinal))
            errors.Add($"{prefix}.bus", $"'{Bus}' is not system, none or a D-Bus address (unix:path=...)");
        if (WaitSeconds is < 0 or > 3600) errors.Add($"{prefix}.wait_seconds", "must be between 0 and 3600");
        if (MinHoldSeconds is < 0 or > 3600) errors.Add($"{prefix}.min_hold_seconds", "must be between 0 and 3600");
    }

    public KvCacheOptions Options(string service) => new()
    {
        Service = service,
        Wait = TimeSpan.FromSeconds(WaitSeconds),
        MinHold = TimeSpan.FromSeconds(MinHoldSeconds),
    };
}
