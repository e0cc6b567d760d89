using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hailo.TestSupport;

/// <summary>The routes an app maps, as OpenAPI paths, excluding the OpenAPI document itself.</summary>
public static partial class OpenApiRoutes
{
    /// <summary>{*id}, {**id}, {id:int}, {id?} → {id}, as OpenAPI paths write them.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"\{\**([A-Za-z_][A-Za-z0-9_]*)[^}]*\}")]
    private static partial System.Text.RegularExpressions.Regex Parameter();

    public static IReadOnlyList<string> Of(WebApplication app) =>
        app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => "/" + Parameter().Replace(e.RoutePattern.RawText!.TrimStart('/'), "{$1}"))
            .Where(p => !p.StartsWith("/openapi/", StringComparison.Ordinal))
            .Distinct().ToList();
}
