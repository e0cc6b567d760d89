using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.Hosting;
using Hailo.Hosting.Config;
using Hailo.Hosting.Http;
using Hailo.Management;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace HailoPortal;

/// <summary>hailo-portal: the service definition, its security rules and its endpoints.</summary>
public static class PortalService
{
    public const string SessionCookie = "hailo_portal_session";
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>The page's policy: its own script and style only, no inline script, never framed.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; " +
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly Dictionary<string, string> Assets = new(StringComparer.Ordinal)
    {
        ["/"] = "index.html",
        ["/assets/app.js"] = "app.js",
        ["/assets/app.css"] = "app.css",
    };

    public static readonly ServiceDefinition<PortalConfig> Definition = new()
    {
        Name = "hailo-portal",
        DefaultPort = 7860,
        Summary = "One web page managing every Hailo service through systemd's D-Bus API, with \"try it\" panels for their APIs.",
        ConfigType = PortalConfigJson.Default.PortalConfig,
        Defaults = () => new PortalConfig(),
        BeforeBuild = EnsureToken,
        AlternativeToken = r => r.Cookies[SessionCookie],
        PublicPath = p => Assets.ContainsKey(p) || p == "/api/login",
        Configure = Configure,
        Map = Map,
    };

    public static bool IsLoopback(string host) =>
        host == "localhost" || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>
    /// Beyond loopback the portal needs a token: the configured one, else the one in STATE_DIR/token, which is created
    /// (random, mode 0600) at the first such start. Without either it does not start.
    /// </summary>
    internal static void EnsureToken(PortalConfig config)
    {
        if (IsLoopback(config.Server.Host) || config.Server.ReadToken() is not null) return;
        var file = Path.Combine(config.Portal.StateDir, "token");
        try
        {
            if (!File.Exists(file))
            {
                Directory.CreateDirectory(config.Portal.StateDir);
                var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using var fs = new FileStream(file, options);
                fs.Write(Encoding.UTF8.GetBytes(token + "\n"));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([
                $"server.host: {config.Server.Host} opens the portal to the network, which needs a bearer token; set server.auth_token_file " +
                $"or server.auth_token, or let the portal create {file} (it could not: {e.Message})"]);
        }
        config.Server.AuthTokenFile = file;
        config.Server.ReadToken();
    }

    private static void Configure(ServiceContext<PortalConfig> ctx)
    {
        ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, PortalJson.Default));
        ctx.Builder.Services.AddSingleton(new ServiceManager(ctx.Config));
        ctx.Builder.Services.AddSingleton(new Csrf());
        ctx.Builder.Services.AddSingleton<IStartupFilter, SecurityHeaders>();
        ctx.State.SetBackend("systemd", "manages the hailo-*.service units over the system D-Bus");
    }

    /// <summary>The per-process CSRF token: random, given only to callers that passed the token check (GET /api/session).</summary>
    public sealed class Csrf
    {
        public string Token { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

        public bool Matches(string? given) =>
            given is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(given), Encoding.ASCII.GetBytes(Token));
    }

    /// <summary>Hardened headers on every answer, set first in the pipeline so that errors carry them too.</summary>
    private sealed class SecurityHeaders : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                context.Response.OnStarting(static state =>
                {
                    var h = ((HttpContext)state).Response.Headers;
                    h.ContentSecurityPolicy = ContentSecurityPolicy;
                    h.XFrameOptions = "DENY";
                    h.XContentTypeOptions = "nosniff";
                    h["Referrer-Policy"] = "no-referrer";
                    h["Cross-Origin-Opener-Policy"] = "same-origin";
                    h["Cross-Origin-Resource-Policy"] = "same-origin";
                    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
                    if (!h.ContainsKey("Cache-Control")) h.CacheControl = "no-store";
                    return Task.CompletedTask;
                }, context);
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    private static bool SameOrigin(string origin, HttpRequest request) =>
        request.Host.HasValue && (string.Equals(origin, "http://" + request.Host.Value, StringComparison.OrdinalIgnoreCase)
                                  || string.Equals(origin, "https://" + request.Host.Value, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// After the Host allow-list and the token: the API answers its own page only (an Origin or Sec-Fetch-Site naming
    /// another site is refused, whatever server.allowed_origins says), and every request that changes something
    /// carries the CSRF token (the login, which has none yet, must be JSON from the portal's own origin).
    /// </summary>
    private static Task Guard(HttpContext context, RequestDelegate next, Csrf csrf)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (!path.StartsWith("/api/", StringComparison.Ordinal)) return next(context);
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !SameOrigin(origin, request))
            throw new ApiException(403, "forbidden_origin", $"the portal's API answers the portal's own page only, not '{ClientText.Quote(origin)}'");
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site is "cross-site" or "same-site")
            throw new ApiException(403, "forbidden_origin", "the portal's API answers the portal's own page only (Sec-Fetch-Site: " + ClientText.Quote(site) + ")");
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) return next(context);
        if (path == "/api/login")
        {
            if (!RequestPolicyJson(request.ContentType))
                throw new ApiException(415, "unsupported_media_type", "send the login as application/json");
            return next(context);
        }
        if (!csrf.Matches(request.Headers[CsrfHeader].ToString()))
            throw new ApiException(403, "csrf_token_invalid", $"missing or wrong {CsrfHeader} header (GET /api/session gives it; reload the page)");
        return next(context);
    }

    private static bool RequestPolicyJson(string? contentType) =>
        contentType is not null && contentType.Split(';')[0].Trim().Equals("application/json", StringComparison.OrdinalIgnoreCase);

    private static void Map(WebApplication app, ServiceContext<PortalConfig> ctx)
    {
        var config = ctx.Config;
        var csrf = app.Services.GetRequiredService<Csrf>();
        var manager = app.Services.GetRequiredService<ServiceManager>();
        var token = config.Server.ReadToken();
        app.Use((context, next) => Guard(context, next, csrf));
        var api = app.MapServiceGroup<ErrorEnvelope>("portal");

        foreach (var (path, file) in Assets)
        {
            api.MapGet(path, (HttpContext http) => WriteAssetAsync(http, file))
                .WithName("asset-" + file).WithSummary("The page (" + file + "), served from the binary").ExcludeFromDescription();
        }

        api.MapGet("/api/session", () => TypedResults.Json(new SessionInfo(csrf.Token, token is not null, ctx.Definition.Version), PortalJson.Default.SessionInfo))
            .WithName("session").WithSummary("The CSRF token for state-changing requests, and whether a token guards the portal")
            .Produces<SessionInfo>(200);

        api.MapPost("/api/login", async (HttpContext http, CancellationToken ct) =>
            {
                var body = await JsonBody.ReadAsync(http.Request, PortalJson.Default.LoginRequest, ct);
                if (token is null)
                    return Results.NoContent();
                if (string.IsNullOrEmpty(body.Token) || body.Token.Length > 4096
                    || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(body.Token.Trim()), Encoding.UTF8.GetBytes(token)))
                    throw new ApiException(401, "unauthorized", "wrong token (it is in the file server.auth_token_file names, e.g. /var/lib/hailo-portal/token)");
                http.Response.Cookies.Append(SessionCookie, token, new CookieOptions
                {
                    HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, Path = "/", IsEssential = true,
                });
                return Results.NoContent();
            })
            .WithName("login").WithSummary("Exchange the portal's token for a session cookie (HttpOnly, SameSite=Strict)")
            .Accepts<LoginRequest>("application/json").Produces(204);

        api.MapPost("/api/logout", (HttpContext http) =>
            {
                http.Response.Cookies.Delete(SessionCookie, new CookieOptions { Path = "/" });
                return Results.NoContent();
            })
            .WithName("logout").WithSummary("Forget the session cookie").Produces(204);

        api.MapGet("/api/services", async (CancellationToken ct) =>
            {
                var installed = await manager.InstalledAsync();
                var cards = await Task.WhenAll(installed.Select(s => manager.CardAsync(s, ct)));
                return TypedResults.Json(new ServicesResponse(cards, null), PortalJson.Default.ServicesResponse);
            })
            .WithName("services").WithSummary("A card per installed service: unit state, STATUS=, backend, models, restarts")
            .Produces<ServicesResponse>(200);

        api.MapGet("/api/npu", async () =>
            {
                SystemdClient? systemd = null;
                string? busError = null;
                try
                {
                    systemd = await manager.SystemdAsync();
                }
                catch (ApiException e)
                {
                    busError = e.Message;
                }
                var checks = await NpuDoctor.CheckAsync(systemd, busError);
                return TypedResults.Json(new NpuReport(checks.All(c => c.Result != NpuDoctor.Problem), checks), PortalJson.Default.NpuReport);
            })
            .WithName("npu").WithSummary("The NPU set-up (device node, driver, firmware files, HailoRT, the shim, each unit's device access), as hailoctl doctor checks it")
            .Produces<NpuReport>(200);

        api.MapGet("/api/services/{name}/metrics", async (string name, CancellationToken ct) =>
            {
                var service = await manager.RequireInstalledAsync(name);
                var ep = await manager.RunningEndpointAsync(service);
                string text;
                try
                {
                    using var r = await manager.Http.GetAsync(ep.Url("/metrics"), HttpCompletionOption.ResponseHeadersRead, ct);
                    if (!r.IsSuccessStatusCode) throw new ApiException(502, "metrics_unavailable", $"{service}'s /metrics answered {(int)r.StatusCode}");
                    text = await ReadCappedAsync(await r.Content.ReadAsStreamAsync(ct), 4 << 20, ct);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    throw new ApiException(502, "service_unreachable", $"no answer from {service} on {ep.Host}:{ep.Port}");
                }
                var (requests, errors, sum, count, rss) = MetricsText.Summarise(text);
                return TypedResults.Json(new MetricsSample(service, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), requests, errors, sum, count, rss),
                    PortalJson.Default.MetricsSample);
            })
            .WithName("service-metrics").WithSummary("The service's request and latency counters now (two samples give a rate)")
            .Produces<MetricsSample>(200);

        api.MapPost("/api/services/{name}/{action}", async (string name, string action) =>
            {
                var method = action switch { "start" => "StartUnit", "stop" => "StopUnit", "restart" => "RestartUnit", _ => null }
                    ?? throw new ApiException(404, "not_found", $"no action '{ClientText.Quote(action)}' (start, stop, restart)");
                var service = await manager.RequireInstalledAsync(name);
                var systemd = await manager.SystemdAsync();
                // polkit's refusal: 403 polkit_refused naming the group (ServiceManager.OnBusAsync).
                var job = await manager.OnBusAsync(s => s.UnitJobAsync(method, service + ".service"));
                var result = await systemd.WaitJobAsync(job, TimeSpan.FromSeconds(config.Portal.JobTimeoutSeconds));
                if (result is null)
                    throw new ApiException(504, "job_timeout", $"the {action} job of {service} did not end within {config.Portal.JobTimeoutSeconds:0} s; it goes on in systemd");
                if (result.Result != "done")
                    throw new ApiException(502, "job_failed", $"{action} {service}: {result.Result}; see its log below");
                return TypedResults.Json(new JobAnswer(service, action, result.Result, $"{service}: {action} done"), PortalJson.Default.JobAnswer);
            })
            .WithName("service-action").WithSummary("start, stop or restart the service's unit (systemd StartUnit/StopUnit/RestartUnit over D-Bus)")
            .Produces<JobAnswer>(200).Produces<ErrorEnvelope>(403).Produces<ErrorEnvelope>(404);

        api.MapGet("/api/services/{name}/logs", async (string name, HttpContext http, CancellationToken ct) =>
            {
                var lines = 100;
                if (http.Request.Query.TryGetValue("lines", out var q)
                    && (q.Count != 1 || !int.TryParse(q[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out lines)
                        || lines < 1 || lines > config.Portal.MaxLogLines))
                    throw ApiException.BadRequest("invalid_lines", $"lines must be a number from 1 to {config.Portal.MaxLogLines}", "lines");
                var service = await manager.RequireInstalledAsync(name);
                (int ExitCode, IReadOnlyList<string> Lines, string Error) tail;
                try
                {
                    tail = await Journal.TailAsync(config.Portal.Journalctl, service + ".service", lines, 1 << 20, TimeSpan.FromSeconds(10), ct);
                }
                catch (System.ComponentModel.Win32Exception e)
                {
                    throw ApiException.Unavailable("journal_unavailable", $"cannot run {config.Portal.Journalctl}: {e.Message}", 60);
                }
                if (tail.ExitCode != 0)
                    throw ApiException.Unavailable("journal_unreadable",
                        $"journalctl exited with {tail.ExitCode} ({ClientText.Quote(tail.Error, 300)}); the portal's user needs the group systemd-journal to read the services' logs", 60);
                return TypedResults.Json(new LogTail(service, tail.Lines), PortalJson.Default.LogTail);
            })
            .WithName("service-logs").WithSummary("The last lines of the service's journal (journalctl -u)")
            .Produces<LogTail>(200);

        api.MapPost("/api/services/{name}/pull", (string name, HttpContext http, CancellationToken ct) => PullAsync(name, http, manager, ct))
            .WithName("service-pull").WithSummary("Pull a model through the service's own pull endpoint; progress as NDJSON lines")
            .WithDescription("Body (optional, application/json): {\"model\": \"qwen2.5:1.5b\"}; without one, the model the service's /health names first.")
            .Produces(200, contentType: "application/x-ndjson");

        var proxyLimit = (long)(config.Portal.ProxyMaxBodyMb * 1048576);
        api.MapPost("/api/services/{name}/try", (string name, HttpContext http, CancellationToken ct) => TryAsync(name, http, manager, config, ct))
            .WithName("service-try").WithSummary("One call to the service's own API (the \"try it\" panel), forwarded to 127.0.0.1:<port>")
            .WithDescription("hailo-pose, hailo-ocr, hailo-depth: the raw image (image/*); hailo-ollama: an /api/chat JSON body; " +
                             "hailo-whisper: multipart with a 'file' part; hailo-piper: an /v1/audio/speech JSON body. The service's answer is passed back as it is.")
            .WithAnyContentType().WithBodyLimit(proxyLimit).Produces(200);
    }

    private static async Task WriteAssetAsync(HttpContext http, string file)
    {
        using var s = typeof(PortalService).Assembly.GetManifestResourceStream("www/" + file)
                      ?? throw new ApiException(404, "not_found", "no such asset");
        http.Response.ContentType = Path.GetExtension(file) switch
        {
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            _ => "text/html; charset=utf-8",
        };
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.ContentLength = s.Length;
        await s.CopyToAsync(http.Response.Body, http.RequestAborted);
    }

    private static async Task<string> ReadCappedAsync(Stream s, int max, CancellationToken ct)
    {
        using var ms = new MemoryStream();
        var buffer = new byte[16384];
        int n;
        while ((n = await s.ReadAsync(buffer, ct)) > 0)
        {
            if (ms.Length + n > max) throw new ApiException(502, "answer_too_large", "the service's answer was larger than expected");
            ms.Write(buffer, 0, n);
        }
        return Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    private static readonly HttpClient ProxyClient = new(new SocketsHttpHandler
    {
        UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(3), AllowAutoRedirect = false, UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
    }) { Timeout = Timeout.InfiniteTimeSpan };

    private static async Task PullAsync(string name, HttpContext http, ServiceManager manager, CancellationToken ct)
    {
        var service = await manager.RequireInstalledAsync(name);
        var request = http.Request.ContentLength is > 0 || http.Request.Headers.TransferEncoding.Count > 0
            ? await JsonBody.ReadAsync(http.Request, PortalJson.Default.PullRequest, ct)
            : new PullRequest(null);
        if (!ServiceHttp.PullEndpoints.TryGetValue(service, out var path))
            throw new ApiException(409, "no_pull_endpoint", $"{service} has no pull endpoint; it downloads its models with its own command: sudo -u {service} {service} pull");
        var model = request.Model;
        if (model is not null && (model.Length is 0 or > 200 || model.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
            throw ApiException.BadRequest("invalid_model", "model must be a name such as qwen2.5:1.5b (1-200 characters, no spaces)", "model");
        var ep = await manager.RunningEndpointAsync(service);
        if (model is null)
        {
            var (_, health, _) = await ServiceHttp.HealthAsync(manager.Http, ep, ct);
            model = health?.Models?.FirstOrDefault()?.Name
                    ?? throw ApiException.BadRequest("model_required", $"{service} names no default model on /health; name one", "model");
        }
        using var req = new HttpRequestMessage(HttpMethod.Post, ep.Url(path)) { Content = new StringContent(ServiceHttp.PullBody(model), Encoding.UTF8, "application/json") };
        await ForwardAsync(service, ep, req, http, long.MaxValue, ct);
    }

    private static async Task TryAsync(string name, HttpContext http, ServiceManager manager, PortalConfig config, CancellationToken ct)
    {
        var service = await manager.RequireInstalledAsync(name);
        if (!ServiceTry.Routes.TryGetValue(service, out var route))
            throw new ApiException(404, "no_try_panel", $"{service} has no \"try it\" panel");
        var contentType = http.Request.ContentType;
        if (!ServiceTry.Accepts(route, contentType))
            throw new ApiException(415, "unsupported_media_type",
                $"{service}'s panel sends {string.Join(" or ", route.ContentTypes.Select(c => c.EndsWith('/') ? c + "*" : c))}, not '{ClientText.Quote(contentType ?? "(none)")}'");
        // The whole body first (within the endpoint's limit, which Kestrel enforces with a 413): the service gets its length.
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, ct);
        if (body.Length == 0) throw ApiException.BadRequest("empty_body", $"send the {route.Kind} request as the body");
        var ep = await manager.RunningEndpointAsync(service);
        body.Position = 0;
        var content = new StreamContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var req = new HttpRequestMessage(HttpMethod.Post, ep.Url(route.Path)) { Content = content };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(config.Portal.ProxyTimeoutSeconds));
        await ForwardAsync(service, ep, req, http, (long)(config.Portal.ProxyMaxResponseMb * 1048576), timeout.Token);
    }

    /// <summary>Sends the request to the service and streams its answer back (status, content type, body), at most maxBytes.</summary>
    private static async Task ForwardAsync(string service, ServiceEndpoint ep, HttpRequestMessage req, HttpContext http, long maxBytes, CancellationToken ct)
    {
        HttpResponseMessage resp;
        try
        {
            resp = await ProxyClient.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !http.RequestAborted.IsCancellationRequested)
        {
            throw new ApiException(e is TaskCanceledException ? 504 : 502, "service_unreachable",
                $"{service} on {ep.Host}:{ep.Port} did not answer" + (e is TaskCanceledException ? " in time" : $" ({e.Message})"));
        }
        using (resp)
        {
            http.Response.StatusCode = (int)resp.StatusCode;
            var type = resp.Content.Headers.ContentType?.ToString();
            // The service's own types (JSON, NDJSON, audio, images); anything that a browser would run as a page is sent as text.
            http.Response.ContentType = type is null || type.Contains("html", StringComparison.OrdinalIgnoreCase) || type.Contains("xml", StringComparison.OrdinalIgnoreCase)
                ? "text/plain; charset=utf-8" : type;
            foreach (var h in new[] { "X-Backend", "X-Model", "X-Pose-Count", "Retry-After" })
                if (resp.Headers.TryGetValues(h, out var v)) http.Response.Headers[h] = v.ToArray();
            await using var stream = await resp.Content.ReadAsStreamAsync(ct);
            var buffer = new byte[16384];
            long total = 0;
            int n;
            while ((n = await stream.ReadAsync(buffer, ct)) > 0)
            {
                total += n;
                if (total > maxBytes)
                {
                    http.Abort();
                    return;
                }
                await http.Response.Body.WriteAsync(buffer.AsMemory(0, n), ct);
                await http.Response.Body.FlushAsync(ct);
            }
        }
    }
}
