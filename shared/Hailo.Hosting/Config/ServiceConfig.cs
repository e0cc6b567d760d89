using System.Text.Json.Serialization;
using Hailo.Core;

namespace Hailo.Hosting.Config;

/// <summary>Keys every service shares. A service's own config type derives from this and adds its section.</summary>
public class ServiceConfig
{
    public ServerConfig Server { get; set; } = new();

    private Backend _device = Backend.Auto;
    private string _deviceName = "auto";

    /// <summary>
    /// <c>device</c>: auto | npu | cpu. auto takes the NPU when the shim loads, a device answers and the HEF is present.
    /// Parsed once, when the config sets <see cref="DeviceName"/>; a name that is none of these is reported by
    /// <see cref="Validate"/>.
    /// </summary>
    [JsonIgnore]
    public Backend Device
    {
        get => _device;
        set => (_device, _deviceName) = (value, value.Name());
    }

    /// <summary><see cref="Device"/> as the config file, the command line and --print-config spell it.</summary>
    [JsonPropertyName("device")]
    public string DeviceName
    {
        get => _deviceName;
        set => (_deviceName, _device) = (value, BackendNames.TryParse(value, out var device) ? device : Backend.Auto);
    }

    public ModelsConfig Models { get; set; } = new();
    public CpuConfig Cpu { get; set; } = new();
    public LoggingConfig Logging { get; set; } = new();

    /// <summary>Adds a message for every value that is out of range. Overrides call the base first.</summary>
    public virtual void Validate(ConfigErrors errors)
    {
        errors.RequireOneOf("device", DeviceName, BackendNames.All);
        Server.Validate(errors);
        Models.Validate(errors);
        Cpu.Validate(errors);
        errors.RequireOneOf("logging.level", Logging.Level, LoggingConfig.Levels);
    }
}

public sealed class ServerConfig
{
    /// <summary>Interface to listen on; 127.0.0.1 unless the operator opens it up explicitly.</summary>
    public string Host { get; set; } = "127.0.0.1";
    public int Port { get; set; }
    /// <summary>Bearer token required on every endpoint except health; empty disables auth.</summary>
    public string AuthToken { get; set; } = "";
    /// <summary>File holding the bearer token (first line); wins over auth_token. An empty file is a config error.</summary>
    public string AuthTokenFile { get; set; } = "";
    /// <summary>
    /// Host names (and *.domain wildcards, or "*" for any) accepted in the Host header besides this machine's own
    /// names and addresses: the guard against DNS rebinding.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];
    /// <summary>
    /// Browser origins allowed to call the API besides the local ones (http(s)://localhost, 127.0.0.1, 0.0.0.0 on any
    /// port; app://, file://, tauri://, vscode-webview://, vscode-file://). One "*" per entry: "https://*.example.com".
    /// "*" alone allows every origin.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];
    /// <summary>How long in-flight requests may take to finish on stop.</summary>
    public double ShutdownTimeoutSeconds { get; set; } = 10;
    /// <summary>Largest request body accepted by the inference endpoints, in MiB.</summary>
    public double MaxBodyMb { get; set; } = 20;
    /// <summary>Requests waiting for the model beyond this get 503 with Retry-After.</summary>
    public int MaxQueuedRequests { get; set; } = 16;

    internal void Validate(ConfigErrors errors)
    {
        if (string.IsNullOrWhiteSpace(Host)) errors.Add("server.host", "must not be empty");
        else if (Host != "localhost" && !System.Net.IPAddress.TryParse(Host, out _))
            errors.Add("server.host", $"'{Host}' is not an IP address (use 127.0.0.1, ::1, 0.0.0.0 or a local address)");
        if (Port is < 0 or > 65535) errors.Add("server.port", $"{Port} is not a TCP port (0-65535)");
        if (ShutdownTimeoutSeconds is < 0 or > 600) errors.Add("server.shutdown_timeout_seconds", "must be between 0 and 600");
        if (MaxBodyMb is <= 0 or > 1024) errors.Add("server.max_body_mb", "must be greater than 0 and at most 1024");
        if (MaxQueuedRequests is < 0 or > 10000) errors.Add("server.max_queued_requests", "must be between 0 and 10000");
        if (AuthToken.Length > 0 && string.IsNullOrWhiteSpace(AuthToken))
            errors.Add("server.auth_token", "is only whitespace, which would switch auth off; set a token or remove the key");
        if (AuthTokenFile.Length > 0)
        {
            try
            {
                ReadToken();
            }
            catch (ConfigException e)
            {
                foreach (var p in e.Problems) errors.AddRaw(p);
            }
        }
        foreach (var h in AllowedHosts)
            if (Http.BrowserGuard.HostPatternProblem(h) is { } problem) errors.Add("server.allowed_hosts", problem);
        foreach (var o in AllowedOrigins)
            if (Http.BrowserGuard.OriginPatternProblem(o) is { } problem) errors.Add("server.allowed_origins", problem);
    }

    /// <summary>
    /// The bearer token (auth_token_file's first line, else auth_token), or null when auth is off. A token file that
    /// is missing, unreadable, empty or blank is a config error: it must never switch auth off silently.
    /// </summary>
    public string? ReadToken()
    {
        if (AuthTokenFile.Length == 0) return AuthToken.Trim() is { Length: > 0 } t ? t : null;
        const string key = "server.auth_token_file";
        if (!File.Exists(AuthTokenFile)) throw new ConfigException([$"{key}: '{AuthTokenFile}' does not exist"]);
        string? first;
        try
        {
            using var reader = new StreamReader(AuthTokenFile);
            first = reader.ReadLine();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var why = e is UnauthorizedAccessException ? "permission denied (the service's user must be able to read it)" : e.Message;
            throw new ConfigException([$"{key}: cannot read '{AuthTokenFile}': {why}"]);
        }
        if (string.IsNullOrWhiteSpace(first))
            throw new ConfigException([$"{key}: the first line of '{AuthTokenFile}' is empty, which would switch auth off; write the token on its first line, or remove the key to run without auth"]);
        return first.Trim();
    }
}

public sealed class ModelsConfig
{
    /// <summary>Where this service keeps and pulls its models. Empty means /var/lib/&lt;service&gt;/models.</summary>
    public string Dir { get; set; } = "";
    /// <summary>Further read-only places to look for model files (Hailo's tools put HEFs in the first).</summary>
    public List<string> SearchPaths { get; set; } = ["/usr/local/hailo/resources/models/hailo10h", "/usr/share/hailo/models"];
    /// <summary>Load the model at start (true) or on the first request (false).</summary>
    public bool Preload { get; set; } = true;

    internal void Validate(ConfigErrors errors)
    {
        foreach (var p in SearchPaths)
            if (string.IsNullOrWhiteSpace(p)) errors.Add("models.search_paths", "contains an empty path");
    }
}

public sealed class CpuConfig
{
    /// <summary>Threads for CPU inference; 0 means half the cores, leaving the rest to other services.</summary>
    public int Threads { get; set; }

    public int EffectiveThreads => Threads > 0 ? Threads : Math.Max(1, Environment.ProcessorCount / 2);

    internal void Validate(ConfigErrors errors)
    {
        if (Threads is < 0 or > 256) errors.Add("cpu.threads", "must be between 0 (auto) and 256");
    }
}

public sealed class LoggingConfig
{
    internal static readonly string[] Levels = ["trace", "debug", "information", "warning", "error", "critical", "none"];
    public string Level { get; set; } = "information";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ServiceConfig))]
internal sealed partial class ServiceConfigJsonContext : JsonSerializerContext;
