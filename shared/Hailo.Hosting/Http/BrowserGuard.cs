using Hailo.Core;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Hailo.Hosting.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Hailo.Hosting.Http;

/// <summary>
/// Which Host headers and browser origins a service answers, decided the way Ollama decides. The Host check stops
/// DNS rebinding (a web page whose name is made to resolve to 127.0.0.1 reaches the service with its own name in
/// Host); the Origin check stops other web sites' pages from using the API through the visitor's browser.
/// </summary>
public sealed class BrowserGuard
{
    /// <summary>Ollama's default origins: the local names on any port, and the schemes of desktop app shells.</summary>
    public static readonly IReadOnlyList<string> DefaultOrigins =
    [
        .. new[] { "localhost", "127.0.0.1", "0.0.0.0" }.SelectMany(h => new[] { $"http://{h}", $"https://{h}", $"http://{h}:*", $"https://{h}:*" }),
        "app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*",
    ];

    /// <summary>Names that cannot be registered in public DNS, so no stranger's page can be served under them.</summary>
    private static readonly string[] LocalSuffixes = [".localhost", ".local", ".internal"];

    private readonly bool _anyHost;
    private readonly HashSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _hostSuffixes = [];
    private readonly bool _anyOrigin;
    /// <summary>Allowed origins: exact (Suffix null) or one '*' between a prefix and a suffix.</summary>
    private readonly List<(string Prefix, string? Suffix)> _origins = [];
    private readonly Func<IReadOnlyCollection<IPAddress>> _localAddresses;
    private (long Ticks, IReadOnlyCollection<IPAddress>? Addresses) _cache;

    public BrowserGuard(ServerConfig server, Func<IReadOnlyCollection<IPAddress>>? localAddresses = null)
    {
        _localAddresses = localAddresses ?? MachineAddresses;
        _hosts.Add("localhost");
        var machine = Environment.MachineName;
        if (machine.Length > 0) _hosts.Add(machine);
        if (IPAddress.TryParse(server.Host, out var bound)) _hosts.Add(bound.ToString());
        foreach (var raw in server.AllowedHosts)
        {
            var h = raw.Trim().TrimEnd('.');
            if (h == "*") _anyHost = true;
            else if (h.StartsWith("*.", StringComparison.Ordinal)) _hostSuffixes.Add(h[1..]);
            else _hosts.Add(h.Trim('[', ']'));
        }
        foreach (var raw in server.AllowedOrigins.Concat(DefaultOrigins))
        {
            var o = raw.Trim().ToLowerInvariant();
            if (o == "*") _anyOrigin = true;
            var star = o.IndexOf('*', StringComparison.Ordinal);
            _origins.Add(star < 0 ? (o, null) : (o[..star], o[(star + 1)..]));
        }
    }

    /// <summary>
    /// Whether a Host header's host part (no port) names this service: empty (HTTP/1.0), localhost and *.localhost,
    /// *.local, *.internal, this machine's name, a loopback, private or unspecified address or one of this machine's,
    /// or a name in server.allowed_hosts.
    /// </summary>
    public bool HostAllowed(string host)
    {
        host = host.Trim().TrimEnd('.');
        if (host.Length == 0 || _anyHost) return true;
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        if (IPAddress.TryParse(host, out var ip))
        {
            if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
            return IPAddress.IsLoopback(ip) || IsPrivate(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)
                   || _hosts.Contains(ip.ToString()) || LocalAddresses().Contains(ip);
        }
        if (_hosts.Contains(host)) return true;
        foreach (var suffix in LocalSuffixes.Concat(_hostSuffixes))
            if (host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && host.Length > suffix.Length) return true;
        return false;
    }

    /// <summary>Whether pages of this browser origin may call the API (server.allowed_origins and the defaults).</summary>
    public bool OriginAllowed(string origin)
    {
        if (_anyOrigin) return true;
        origin = origin.Trim().ToLowerInvariant();
        foreach (var (prefix, suffix) in _origins)
        {
            if (suffix is null)
            {
                if (origin == prefix) return true;
            }
            else if (origin.Length >= prefix.Length + suffix.Length
                     && origin.StartsWith(prefix, StringComparison.Ordinal) && origin.EndsWith(suffix, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    /// <summary>What is wrong with a server.allowed_hosts entry, or null.</summary>
    public static string? HostPatternProblem(string entry)
    {
        var h = entry.Trim();
        if (h == "*") return null;
        var name = h.StartsWith("*.", StringComparison.Ordinal) ? h[2..] : h;
        if (name.Length > 0 && (Uri.CheckHostName(name.Trim('[', ']')) != UriHostNameType.Unknown)) return null;
        return $"'{entry}' is not a host name or address (write it without scheme or port: pi.example.com, *.example.com, 192.0.2.7 or *)";
    }

    /// <summary>What is wrong with a server.allowed_origins entry, or null.</summary>
    public static string? OriginPatternProblem(string entry)
    {
        var o = entry.Trim();
        if (o is "*" or "null") return null;
        var scheme = o.IndexOf("://", StringComparison.Ordinal);
        if (scheme <= 0) return $"'{entry}' is not an origin (scheme://host[:port], e.g. https://app.example.com, https://*.example.com or http://localhost:*)";
        if (o.Count(c => c == '*') > 1) return $"'{entry}' has more than one '*'";
        if (o.IndexOf('/', scheme + 3) >= 0) return $"'{entry}' has a path; an origin is scheme://host[:port] only";
        return null;
    }

    private static bool IsPrivate(IPAddress ip)
    {
        if (ip.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = ip.GetAddressBytes();
            return b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16) || (b[0] == 192 && b[1] == 168);
        }
        return ip.AddressFamily == AddressFamily.InterNetworkV6 && (ip.GetAddressBytes()[0] & 0xFE) == 0xFC; // fc00::/7
    }

    /// <summary>This machine's addresses, re-read at most every 10 s (DHCP may change them while the service runs).</summary>
    private IReadOnlyCollection<IPAddress> LocalAddresses()
    {
        var now = Environment.TickCount64;
        var cache = _cache;
        if (cache.Addresses is not null && now - cache.Ticks < 10_000) return cache.Addresses;
        var addresses = _localAddresses();
        _cache = (now, addresses);
        return addresses;
    }

    private static IReadOnlyCollection<IPAddress> MachineAddresses()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address).ToHashSet();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }
}

/// <summary>
/// Before routing and auth: refuses a Host that does not name this service and a browser origin that is not
/// allowed (403), answers CORS preflights of allowed origins (204) and marks their responses readable.
/// </summary>
internal sealed class BrowserPolicyMiddleware(RequestDelegate next, BrowserGuard guard)
{
    private const string Methods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!guard.HostAllowed(request.Host.HasValue ? request.Host.Host : ""))
            throw new ApiException(403, "forbidden_host",
                $"Host '{ClientText.Quote(request.Host.ToString())}' does not name this service; use localhost or one of this machine's names or addresses, or add the name to server.allowed_hosts");

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0 || IsSameOrigin(origin, request)) return next(context);
        if (!guard.OriginAllowed(origin))
            throw new ApiException(403, "forbidden_origin",
                $"web pages from '{ClientText.Quote(origin)}' may not call this service; add the origin to server.allowed_origins to allow them");

        if (HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey(HeaderNames.AccessControlRequestMethod))
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.Vary = HeaderNames.Origin;
            headers.AccessControlAllowMethods = Methods;
            var requested = request.Headers.AccessControlRequestHeaders;
            headers.AccessControlAllowHeaders = requested.Count > 0 ? requested : (Microsoft.Extensions.Primitives.StringValues)"Authorization, Content-Type";
            headers.AccessControlMaxAge = "3600";
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }
        // Set when the response starts: an error answer clears the headers set before it.
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.Append(HeaderNames.Vary, HeaderNames.Origin);
            headers.AccessControlExposeHeaders = "Retry-After, X-Backend, X-Model";
            return Task.CompletedTask;
        });
        return next(context);
    }

    /// <summary>An Origin naming the very host the request was sent to is no cross-origin request (gin's cors says so too).</summary>
    private static bool IsSameOrigin(string origin, HttpRequest request) =>
        request.Host.HasValue && (string.Equals(origin, "http://" + request.Host.Value, StringComparison.OrdinalIgnoreCase)
                                  || string.Equals(origin, "https://" + request.Host.Value, StringComparison.OrdinalIgnoreCase));
}
