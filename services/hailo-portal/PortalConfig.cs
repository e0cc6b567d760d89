using System.Text.Json.Serialization;
using Hailo.Hosting.Config;

namespace HailoPortal;

/// <summary>hailo-portal's config: the shared keys plus the `portal` section.</summary>
public sealed class PortalConfig : ServiceConfig
{
    public PortalSection Portal { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Portal.Validate(errors);
    }
}

public sealed class PortalSection
{
    /// <summary>The system bus; empty: $DBUS_SYSTEM_BUS_ADDRESS, else unix:path=/run/dbus/system_bus_socket.</summary>
    public string BusAddress { get; set; } = "";
    /// <summary>Where the services' configuration files are (their ports).</summary>
    public string ConfigDir { get; set; } = "/etc/hailo";
    /// <summary>The journalctl that reads a service's log tail.</summary>
    public string Journalctl { get; set; } = "journalctl";
    /// <summary>Where the portal keeps the token it generates when it listens beyond loopback without one.</summary>
    public string StateDir { get; set; } = "/var/lib/hailo-portal";
    /// <summary>At most this many journal lines per log tail.</summary>
    public int MaxLogLines { get; set; } = 500;
    /// <summary>How long a start, stop or restart may take before the page is told it is still going on.</summary>
    public double JobTimeoutSeconds { get; set; } = 120;
    /// <summary>Largest body the "try it" proxy forwards to a service, in MiB.</summary>
    public double ProxyMaxBodyMb { get; set; } = 25;
    /// <summary>Largest answer the "try it" proxy passes back, in MiB.</summary>
    public double ProxyMaxResponseMb { get; set; } = 64;
    /// <summary>How long a "try it" call may take.</summary>
    public double ProxyTimeoutSeconds { get; set; } = 300;

    internal void Validate(ConfigErrors errors)
    {
        if (string.IsNullOrWhiteSpace(ConfigDir)) errors.Add("portal.config_dir", "must name a directory");
        if (string.IsNullOrWhiteSpace(Journalctl)) errors.Add("portal.journalctl", "must name a program");
        if (string.IsNullOrWhiteSpace(StateDir)) errors.Add("portal.state_dir", "must name a directory");
        if (MaxLogLines is < 1 or > 100_000) errors.Add("portal.max_log_lines", "must be between 1 and 100000");
        if (!(JobTimeoutSeconds > 0 && JobTimeoutSeconds <= 3600)) errors.Add("portal.job_timeout_seconds", "must be more than 0 and at most 3600");
        if (!(ProxyMaxBodyMb > 0 && ProxyMaxBodyMb <= 1024)) errors.Add("portal.proxy_max_body_mb", "must be more than 0 and at most 1024");
        if (!(ProxyMaxResponseMb > 0 && ProxyMaxResponseMb <= 4096)) errors.Add("portal.proxy_max_response_mb", "must be more than 0 and at most 4096");
        if (!(ProxyTimeoutSeconds > 0 && ProxyTimeoutSeconds <= 86400)) errors.Add("portal.proxy_timeout_seconds", "must be more than 0 and at most 86400");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(PortalConfig))]
internal sealed partial class PortalConfigJson : JsonSerializerContext;
