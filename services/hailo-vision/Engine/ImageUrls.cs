using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Hailo.Core;
using Hailo.Hosting.Http;

namespace HailoVision.Engine;

/// <summary>
/// One entry of <c>vision.image_urls.allow</c>: a host (optionally with a port) or an http(s) URL prefix. A URL
/// matches when its host is the entry's host (exactly, case aside), its port is the entry's (when the entry names
/// one), and, for a prefix, its scheme and path start are the prefix's.
/// </summary>
public sealed record ImageUrlRule(string Host, int? Port, string? Scheme, string? PathPrefix)
{
    public const int MaxUrlLength = 4096;

    public static bool TryParse(string entry, out ImageUrlRule rule, out string why)
    {
        rule = null!;
        why = "";
        if (string.IsNullOrWhiteSpace(entry)) { why = "empty"; return false; }
        var prefix = entry.Contains("://", StringComparison.Ordinal);
        if (!Uri.TryCreate(prefix ? entry : "http://" + entry, UriKind.Absolute, out var u) || u.Host.Length == 0)
        {
            why = "not a host or an http(s) URL prefix";
            return false;
        }
        if (u.Scheme is not ("http" or "https")) { why = "only http and https URLs are fetched"; return false; }
        if (u.UserInfo.Length > 0) { why = "must not carry user:password@"; return false; }
        if (!prefix && (u.AbsolutePath != "/" || u.Query.Length > 0)) { why = "a host entry has no path; write a URL prefix (https://host/path/) instead"; return false; }
        var explicitPort = prefix || entry.Contains(':', StringComparison.Ordinal) && !entry.StartsWith('[') || entry.Contains("]:", StringComparison.Ordinal);
        rule = new ImageUrlRule(u.Host.ToLowerInvariant(), explicitPort ? u.Port : null, prefix ? u.Scheme : null, prefix ? u.AbsolutePath : null);
        return true;
    }

    public bool Matches(Uri u) =>
        string.Equals(u.Host, Host, StringComparison.OrdinalIgnoreCase)
        && (Port is null || u.Port == Port)
        && (Scheme is null || u.Scheme == Scheme)
        && (PathPrefix is null || u.AbsolutePath.StartsWith(PathPrefix, StringComparison.Ordinal));
}

/// <summary>
/// Fetches the http(s) image URLs of a request, as <c>vision.image_urls</c> allows: only http/https, the host on the
/// allow-list (checked again on every redirect, which is followed by hand), addresses resolved here and checked at
/// connect time (a host name must resolve to public addresses; a private or loopback address only through an entry
/// naming that IP), no proxy, the size limit on Content-Length and on the bytes actually read, one time limit for the
/// whole fetch. Each refusal is a 400 saying why. The bytes then take the same decode path as a data URL.
/// </summary>
public sealed class ImageUrlFetcher : IDisposable
{
    private readonly List<ImageUrlRule> rules = [];
    private readonly ImageUrlsSection cfg;
    private readonly long maxBytes;
    private readonly int maxImages;
    private readonly HttpClient http;

    public ImageUrlFetcher(VisionSection vision)
    {
        cfg = vision.ImageUrls;
        maxBytes = Math.Min(cfg.MaxBytes, (long)vision.MaxImageMb << 20);
        maxImages = vision.MaxImages;
        foreach (var a in cfg.Allow)
            if (ImageUrlRule.TryParse(a, out var r, out _)) rules.Add(r);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromSeconds(cfg.TimeoutS),
            MaxResponseHeadersLength = 64,
            ConnectCallback = ConnectAsync,
        };
        http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("hailo-vision", "1"));
    }

    public bool Enabled => rules.Count > 0;

    public void Dispose() => http.Dispose();

    /// <summary>True for a string the readers would take as a URL to fetch (http:// or https://).</summary>
    public static bool IsHttpUrl(string? s) =>
        s is not null && (s.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("https://", StringComparison.OrdinalIgnoreCase));

    /// <summary>The http(s) strings where a request carries images: OpenAI image_url parts, Ollama images[] (top level and per message), analyze's requests[].images[].</summary>
    public static List<(string Url, string Param)> Candidates(JsonElement r)
    {
        var list = new List<(string, string)>();
        if (r.ValueKind != JsonValueKind.Object) return list;
        void Images(JsonElement o, string param)
        {
            if (o.ValueKind == JsonValueKind.Object && o.TryGetProperty("images", out var a) && a.ValueKind == JsonValueKind.Array)
                foreach (var e in a.EnumerateArray())
                    if (e.ValueKind == JsonValueKind.String && IsHttpUrl(e.GetString())) list.Add((e.GetString()!, param));
        }
        Images(r, "images");
        if (r.TryGetProperty("requests", out var reqs) && reqs.ValueKind == JsonValueKind.Array)
            foreach (var q in reqs.EnumerateArray()) Images(q, "images");
        if (r.TryGetProperty("messages", out var msgs) && msgs.ValueKind == JsonValueKind.Array)
            foreach (var m in msgs.EnumerateArray())
            {
                if (m.ValueKind != JsonValueKind.Object) continue;
                Images(m, "messages");
                if (!m.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.Array) continue;
                foreach (var p in c.EnumerateArray())
                {
                    if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("image_url", out var iu)) continue;
                    var url = iu.ValueKind switch
                    {
                        JsonValueKind.String => iu.GetString(),
                        JsonValueKind.Object when iu.TryGetProperty("url", out var x) && x.ValueKind == JsonValueKind.String => x.GetString(),
                        _ => null,
                    };
                    if (IsHttpUrl(url)) list.Add((url!, "messages"));
                }
            }
        return list;
    }

    private static ApiException Bad(string code, string message, string param) => new(400, code, message) { Param = param };

    /// <summary>Fetches every http(s) image URL of the request (each once); null when it has none.</summary>
    public async Task<Dictionary<string, byte[]>?> FetchAllAsync(JsonElement request, CancellationToken ct)
    {
        var found = Candidates(request);
        if (found.Count == 0) return null;
        if (!Enabled)
            throw Bad("image_url_not_allowed", "image URLs are off: this service fetches an http(s) image only from hosts listed in vision.image_urls.allow; send the image itself (base64 or a data: URL)", found[0].Param);
        if (found.Count > maxImages)
            throw Bad("invalid_request", $"the request has more than {maxImages} images, the most this service takes in one request", found[0].Param);
        var unique = found.DistinctBy(f => f.Url, StringComparer.Ordinal).ToList();
        foreach (var (url, param) in unique) Check(url, param, "");
        var fetched = await Task.WhenAll(unique.Select(f => FetchAsync(f.Url, f.Param, ct))).ConfigureAwait(false);
        return unique.Select((f, k) => (f.Url, fetched[k])).ToDictionary(x => x.Url, x => x.Item2, StringComparer.Ordinal);
    }

    /// <summary>Refuses a URL that is not http(s), too long, carries credentials, or whose host the allow-list does not name.</summary>
    private Uri Check(string url, string param, string via)
    {
        if (url.Length > ImageUrlRule.MaxUrlLength)
            throw Bad("image_url_not_allowed", $"an image URL{via} is {url.Length} characters long, more than {ImageUrlRule.MaxUrlLength}", param);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Host.Length == 0)
            throw Bad("image_url_not_allowed", $"image URL{via} '{ClientText.Quote(url)}' is not an http(s) URL", param);
        if (u.UserInfo.Length > 0)
            throw Bad("image_url_not_allowed", $"image URL{via} '{ClientText.Quote(url)}' carries a user name or password, which this service does not send", param);
        if (!rules.Any(r => r.Matches(u)))
            throw Bad("image_url_not_allowed", $"image URL{via} '{ClientText.Quote(url)}' is not allowed: its host is not on vision.image_urls.allow", param);
        return u;
    }

    private async Task<byte[]> FetchAsync(string url, string param, CancellationToken requestAborted)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(cfg.TimeoutS));
        using var both = CancellationTokenSource.CreateLinkedTokenSource(limit.Token, requestAborted);
        var ct = both.Token;
        var u = new Uri(url);
        try
        {
            for (var hop = 0; ; hop++)
            {
                using var req = new HttpRequestMessage(HttpMethod.Get, u);
                req.Headers.Accept.ParseAdd("image/*");
                using var res = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                var status = (int)res.StatusCode;
                if (status is 301 or 302 or 303 or 307 or 308)
                {
                    if (hop >= cfg.MaxRedirects)
                        throw Bad("image_url_redirects", $"image URL '{ClientText.Quote(url)}' redirected more than {cfg.MaxRedirects} times (vision.image_urls.max_redirects)", param);
                    if (res.Headers.Location is not { } loc)
                        throw Bad("image_url_upstream_status", $"image URL '{ClientText.Quote(url)}' answered HTTP {status} without a Location", param);
                    var next = loc.IsAbsoluteUri ? loc : new Uri(u, loc);
                    u = Check(next.AbsoluteUri, param, $" (a redirect from '{ClientText.Quote(url)}')");
                    continue;
                }
                if (status is < 200 or > 299)
                    throw Bad("image_url_upstream_status", $"image URL '{ClientText.Quote(url)}' answered HTTP {status}", param);
                var type = res.Content.Headers.ContentType?.MediaType;
                if (type is not null && !type.StartsWith("image/", StringComparison.OrdinalIgnoreCase) && type != "application/octet-stream")
                    throw Bad("image_url_not_image", $"image URL '{ClientText.Quote(url)}' is not an image (Content-Type {ClientText.Quote(type)})", param);
                if (res.Content.Headers.ContentLength is { } len && len > maxBytes)
                    throw Bad("image_too_large", $"image URL '{ClientText.Quote(url)}' is {len} bytes, more than the {maxBytes} this service fetches (vision.image_urls.max_bytes)", param);
                await using var body = await res.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                using var ms = new MemoryStream();
                var buf = new byte[81920];
                int n;
                while ((n = await body.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
                {
                    if (ms.Length + n > maxBytes)
                        throw Bad("image_too_large", $"image URL '{ClientText.Quote(url)}' sent more than the {maxBytes} bytes this service fetches (vision.image_urls.max_bytes)", param);
                    ms.Write(buf, 0, n);
                }
                return ms.ToArray();
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !requestAborted.IsCancellationRequested)
        {
            throw Bad("image_url_timeout", $"image URL '{ClientText.Quote(url)}' timed out: not fetched within {cfg.TimeoutS} s (vision.image_urls.timeout_s)", param);
        }
        catch (HttpRequestException e)
        {
            var why = Inner<PrivateAddressException>(e)?.Message ?? e.Message;
            throw Bad(Inner<PrivateAddressException>(e) is null ? "image_url_unreachable" : "image_url_not_allowed",
                $"image URL '{ClientText.Quote(url)}' could not be fetched: {ClientText.Quote(why)}", param);
        }
    }

    private static T? Inner<T>(Exception e) where T : Exception
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
            if (x is T t) return t;
        return null;
    }

    private sealed class PrivateAddressException(string message) : Exception(message);

    /// <summary>
    /// Connects to the request's host: an IP literal as it is (it passed the allow-list, so an entry names that
    /// address); a host name resolved here, keeping only public addresses, so a name cannot lead to the machine's own
    /// services or its LAN, neither by its DNS answer nor by changing it between the check and the connect.
    /// </summary>
    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        IPAddress[] addresses;
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal)) addresses = [literal];
        else
        {
            var all = await Dns.GetHostAddressesAsync(host, ct).ConfigureAwait(false);
            addresses = all.Where(a => !IsPrivate(a)).ToArray();
            if (addresses.Length == 0)
                throw new PrivateAddressException($"{host} resolves to private or loopback addresses only ({string.Join(", ", all.Take(4).Select(a => a.ToString()))}); list such a host in vision.image_urls.allow by its IP address");
        }
        Exception? last = null;
        foreach (var a in addresses)
        {
            var socket = new Socket(a.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(a, context.DnsEndPoint.Port), ct).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>Loopback, private, link-local, CGNAT, unspecified, multicast, reserved, and IPv6 forms that embed or reach them.</summary>
    public static bool IsPrivate(IPAddress a)
    {
        if (a.IsIPv4MappedToIPv6) a = a.MapToIPv4();
        if (a.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = a.GetAddressBytes();
            return b[0] is 0 or 10 or 127 || b[0] >= 224
                || b[0] == 100 && (b[1] & 0xC0) == 64
                || b[0] == 169 && b[1] == 254
                || b[0] == 172 && (b[1] & 0xF0) == 16
                || b[0] == 192 && b[1] == 168
                || b[0] == 192 && b[1] == 0 && b[2] is 0 or 2
                || b[0] == 198 && (b[1] & 0xFE) == 18
                || b[0] == 198 && b[1] == 51 && b[2] == 100
                || b[0] == 203 && b[1] == 0 && b[2] == 113;
        }
        if (a.AddressFamily != AddressFamily.InterNetworkV6) return true;
        if (IPAddress.IPv6Loopback.Equals(a) || IPAddress.IPv6None.Equals(a) || a.IsIPv6LinkLocal || a.IsIPv6SiteLocal || a.IsIPv6Multicast || a.IsIPv6Teredo)
            return true;
        var x = a.GetAddressBytes();
        return (x[0] & 0xFE) == 0xFC                                   // fc00::/7 unique local
            || x[0] == 0x20 && x[1] == 0x02                            // 2002::/16 6to4 (embeds an IPv4)
            || x[0] == 0 && x[1] == 0x64 && x[2] == 0xFF && x[3] == 0x9B // 64:ff9b::/96 NAT64 (embeds an IPv4)
            || x[0] == 0x20 && x[1] == 0x01 && x[2] == 0x0D && x[3] == 0xB8 // 2001:db8::/32 documentation
            || x.Take(15).All(v => v == 0);                            // :: and ::x (IPv4-compatible, unspecified)
    }
}
