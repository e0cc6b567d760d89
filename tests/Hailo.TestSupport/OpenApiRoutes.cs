using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hailo.TestSupport;

/// <summary>The routes an app maps, as OpenAPI paths, excluding the OpenAPI document itself.</summary>
public static class OpenApiRoutes
{
    public static IReadOnlyList<string> Of(WebApplication app) =>
        app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/'))
            .Where(p => !p.StartsWith("/openapi/", StringComparison.Ordinal))
            .Distinct().ToList();
}
