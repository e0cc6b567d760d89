using System.Reflection;
using System.Text.RegularExpressions;

namespace Hailo.Management;

/// <summary>Where a service's HTTP API listens and how it was found.</summary>
public sealed record ServiceEndpoint(string Host, int Port, string Source)
{
    public Uri Url(string path) => new($"http://{(Host.Contains(':') ? "[" + Host + "]" : Host)}:{Port}{path}");
}

/// <summary>
/// A service's port and host, in the order the service itself applies them: the unit's Environment= override
/// (HAILO_POSE_SERVER__PORT), its configuration file /etc/hailo/hailo-pose.yaml when this user may read it, and the
/// default configuration the service ships with (services/*/hailo-*.yaml, built into this library: no second table).
/// </summary>
public static partial class Ports
{
    public static ServiceEndpoint? Resolve(string service, IReadOnlyList<string> unitEnvironment, string configDir)
    {
        var prefix = service.ToUpperInvariant().Replace('-', '_') + "_SERVER__";
        string? envPort = null, envHost = null;
        foreach (var e in unitEnvironment)
        {
            if (e.StartsWith(prefix + "PORT=", StringComparison.Ordinal)) envPort = e[(prefix.Length + 5)..];
            else if (e.StartsWith(prefix + "HOST=", StringComparison.Ordinal)) envHost = e[(prefix.Length + 5)..];
        }

        string? fileText = null, source = null;
        var file = Path.Combine(configDir, service + ".yaml");
        try
        {
            fileText = File.ReadAllText(file);
            source = file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        var defaults = ShippedDefault(service);
        var (filePort, fileHost) = fileText is null ? (null, null) : ReadServer(fileText);
        var (defPort, defHost) = defaults is null ? (null, null) : ReadServer(defaults);

        var portText = envPort ?? filePort ?? defPort;
        var host = envHost ?? fileHost ?? defHost ?? "127.0.0.1";
        if (portText is null || !int.TryParse(portText, out var port) || port is < 1 or > 65535) return null;
        var from = envPort is not null ? "unit environment" : filePort is not null ? source! : fileText is null ? "shipped default (" + file + " not readable)" : "shipped default";
        // A service listening on every address answers on loopback.
        if (host is "0.0.0.0" or "*" or "" or "+") host = "127.0.0.1";
        if (host is "::" or "[::]") host = "::1";
        return new ServiceEndpoint(host.Trim('[', ']'), port, from);
    }

    /// <summary>The service's shipped default configuration, embedded at build time from services/NAME/NAME.yaml.</summary>
    public static string? ShippedDefault(string service)
    {
        using var s = typeof(Ports).Assembly.GetManifestResourceStream("defaults/" + service + ".yaml");
        if (s is null) return null;
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>server.port and server.host of a YAML file in block style (as the shipped files are written).</summary>
    public static (string? Port, string? Host) ReadServer(string yaml)
    {
        string? port = null, host = null;
        var inServer = false;
        foreach (var raw in yaml.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var content = StripComment(line);
            if (content.Trim().Length == 0) continue;
            if (!char.IsWhiteSpace(content[0]))
            {
                inServer = TopLevelServer().IsMatch(content);
                continue;
            }
            if (!inServer) continue;
            var m = Key().Match(content);
            if (!m.Success) continue;
            var value = m.Groups[2].Value.Trim().Trim('"', '\'');
            if (m.Groups[1].Value == "port") port = value;
            else if (m.Groups[1].Value == "host") host = value;
        }
        return (port, host);
    }

    private static string StripComment(string line)
    {
        var quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0') { if (c == quote) quote = '\0'; }
            else if (c is '"' or '\'') quote = c;
            else if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1]))) return line[..i];
        }
        return line;
    }

    [GeneratedRegex(@"^server\s*:\s*$")]
    private static partial Regex TopLevelServer();

    [GeneratedRegex(@"^\s{1,4}(port|host)\s*:\s*(\S.*)$")]
    private static partial Regex Key();
}
