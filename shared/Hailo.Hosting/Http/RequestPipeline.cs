using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Hailo.Core;
using Hailo.Hosting.Metrics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Hailo.Hosting.Http;

/// <summary>
/// Outermost middleware: turns every failure into a JSON error of the API family (never HTML, never a
/// stack trace), fills bodies for bare 4xx/5xx such as 404/405, and records request metrics.
/// </summary>
internal sealed class ErrorAndMetricsMiddleware(RequestDelegate next, IErrorWriter writer, ServiceMetrics metrics, IdleTrimmer trimmer, ILogger<ErrorAndMetricsMiddleware> log)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var clientGone = false;
        try
        {
            await next(context);
            if (context.Response.StatusCode >= 400 && !context.Response.HasStarted)
                await WriteAsync(context, ForBareStatus(context));
        }
        catch (ApiException e)
        {
            await WriteAsync(context, e);
        }
        catch (RequestRejectedException e)
        {
            await WriteAsync(context, ApiException.From(e));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteAsync(context, TooLarge(context));
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(context, new ApiException(e.StatusCode, "bad_request", e.Message));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            clientGone = true; // nothing to write; the status can no longer be set once a response has started
            if (!context.Response.HasStarted) context.Response.StatusCode = 499;
        }
        catch (Exception e)
        {
            log.LogError(e, "unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            await WriteAsync(context, new ApiException(500, "internal_error", "the service failed to handle this request; see its log"));
        }
        finally
        {
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            metrics.ObserveRequest(context.Request.Method, route, clientGone ? 499 : context.Response.StatusCode, Stopwatch.GetElapsedTime(start).TotalSeconds);
            trimmer.RequestEnded();
        }
    }

    private async Task WriteAsync(HttpContext context, ApiException e)
    {
        if (context.Response.HasStarted)
        {
            log.LogWarning("error after the response started on {Path}: {Message}", context.Request.Path, e.Message);
            context.Abort();
            return;
        }
        context.Response.Clear();
        context.Response.StatusCode = e.Status;
        if (e.RetryAfterSeconds is { } s) context.Response.Headers.RetryAfter = s.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (e.Status == 401) context.Response.Headers.WWWAuthenticate = "Bearer";
        await writer.WriteAsync(context, e);
    }

    internal static ApiException TooLarge(HttpContext context)
    {
        var limit = context.Items.TryGetValue(RequestPolicyMiddleware.LimitKey, out var v) && v is long l ? l : 0;
        return new ApiException(413, "body_too_large", $"request body is larger than {BodyLimitExtensions.Describe(limit)}, the limit of {context.Request.Path}");
    }

    private static ApiException ForBareStatus(HttpContext context) => context.Response.StatusCode switch
    {
        404 => new ApiException(404, "not_found", $"no endpoint {context.Request.Path}; see /openapi/v1.json"),
        405 => new ApiException(405, "method_not_allowed", $"{context.Request.Method} is not allowed on {context.Request.Path}"),
        413 => TooLarge(context),
        415 => new ApiException(415, "unsupported_media_type", $"content type '{ClientText.Quote(context.Request.ContentType)}' is not accepted here"),
        var s when s < 500 => new ApiException(s, "bad_request", "the request could not be understood"),
        var s => new ApiException(s, "internal_error", "the service failed to handle this request"),
    };
}

/// <summary>
/// Per-endpoint request policy after routing: bearer-token auth (health is exempt), the body size limit
/// (413 naming it) and the accepted content types (415 listing them).
/// </summary>
internal sealed class RequestPolicyMiddleware(RequestDelegate next, HostPolicy policy, EndpointDataSource endpoints)
{
    internal const string LimitKey = "hailo.body_limit";
    private Dictionary<string, string[]>? _acceptedByPath;

    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        var path = context.Request.Path.Value ?? "";
        if (policy.Token is not null && !policy.IsPublic(path) && !Authorized(context.Request, policy.Token, policy.AlternativeToken))
            throw new ApiException(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)");

        if (endpoint is null) return next(context);
        // Routing answers a content type no endpoint accepts with its own 415 endpoint; say what is accepted.
        if (endpoint.DisplayName == "415 HTTP Unsupported Media Type")
            throw new ApiException(415, "unsupported_media_type",
                $"content type '{ClientText.Quote(context.Request.ContentType ?? "(none)")}' is not accepted here; send one of: {string.Join(", ", AcceptedAt(path))}");

        var limit = endpoint.Metadata.GetMetadata<BodyLimitMetadata>() is { } m ? m.Bytes ?? policy.DefaultBodyLimit : policy.SmallBodyLimit;
        context.Items[LimitKey] = limit;
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false }) sizeFeature.MaxRequestBodySize = limit;
        if (context.Request.ContentLength > limit) throw ErrorAndMetricsMiddleware.TooLarge(context);

        var hasBody = context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0;
        if (hasBody && endpoint.Metadata.GetMetadata<AnyContentTypeMetadata>() is null)
        {
            var accepted = endpoint.Metadata.GetOrderedMetadata<IAcceptsMetadata>().SelectMany(a => a.ContentTypes).Distinct().ToArray();
            if (accepted.Length > 0 && !Matches(context.Request.ContentType, accepted))
                throw new ApiException(415, "unsupported_media_type",
                    $"content type '{ClientText.Quote(context.Request.ContentType ?? "(none)")}' is not accepted here; send one of: {string.Join(", ", accepted)}");
            // A body the endpoint reads as JSON must say so: text/plain, form-encoded and unlabelled bodies are what a
            // web page may send anywhere without a CORS preflight.
            if (accepted.Length == 0 && !IsJson(context.Request.ContentType)
                && !(policy.JsonUnderAnyContentType && context.Request.Headers.Origin.Count == 0))
                throw new ApiException(415, "unsupported_media_type",
                    $"content type '{ClientText.Quote(context.Request.ContentType ?? "(none)")}' is not accepted here; send the body as application/json");
        }
        return next(context);
    }

    private string[] AcceptedAt(string path)
    {
        _acceptedByPath ??= endpoints.Endpoints.OfType<RouteEndpoint>()
            .GroupBy(e => "/" + e.RoutePattern.RawText?.TrimStart('/'))
            .ToDictionary(g => g.Key, g => g.SelectMany(e => e.Metadata.GetOrderedMetadata<IAcceptsMetadata>()).SelectMany(a => a.ContentTypes).Distinct().ToArray());
        return _acceptedByPath.TryGetValue(path, out var types) && types.Length > 0 ? types : ["(see /openapi/v1.json)"];
    }

    private static bool Authorized(HttpRequest request, byte[] token, Func<HttpRequest, string?>? alternative)
    {
        var header = request.Headers.Authorization.ToString();
        string? presented = null;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) presented = header[7..].Trim();
        else if (header.Length == 0 && alternative is not null) presented = alternative(request);
        if (presented is null) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), token);
    }

    internal static bool IsJson(string? contentType) =>
        contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var t)
        && (t.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (t.Type.Equals("application", StringComparison.OrdinalIgnoreCase) && t.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)));

    internal static bool Matches(string? contentType, IReadOnlyList<string> accepted)
    {
        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var actual)) return false;
        foreach (var a in accepted)
            if (MediaTypeHeaderValue.TryParse(a, out var want) && actual.IsSubsetOf(want)) return true;
        return false;
    }
}

/// <summary>Settings the request policy needs, resolved once from the config.</summary>
internal sealed class HostPolicy(byte[]? token, long defaultBodyLimit, bool jsonUnderAnyContentType = false)
{
    public byte[]? Token { get; } = token;
    public bool JsonUnderAnyContentType { get; } = jsonUnderAnyContentType;
    public long DefaultBodyLimit { get; } = defaultBodyLimit;
    /// <summary>Endpoints without a declared limit (GETs, small JSON) accept this much.</summary>
    public long SmallBodyLimit { get; } = 1 << 20;

    public Func<HttpRequest, string?>? AlternativeToken { get; init; }
    public Func<string, bool>? PublicPath { get; init; }

    public bool IsPublic(string path) => path is "/health" or "/health/ready" or "/health/live" || PublicPath?.Invoke(path) == true;
}
