using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Routing;

namespace Hailo.Hosting.Http;

/// <summary>The route group a service maps its API into: one tag for all its routes, the shared error answers documented once.</summary>
public static class ServiceRoutes
{
    /// <summary>
    /// What a route that takes a request body may answer with the service's error body: 400 bad input, 401 no or a
    /// wrong token, 413 too large, 415 wrong content type, 503 the model busy or not ready.
    /// </summary>
    public static IReadOnlyList<int> BodyErrorStatuses { get; } = [400, 401, 413, 415, 503];

    /// <summary>
    /// A group without a prefix for a service's routes: every route in it is tagged <paramref name="tag"/>, and every
    /// route that takes a request body (declared with <c>Accepts</c>, <c>WithImageUpload</c> or
    /// <c>WithFileUpload</c>) is documented in OpenAPI as answering <see cref="BodyErrorStatuses"/> with a
    /// <typeparamref name="TError"/> (the service's error body, e.g. <see cref="ErrorEnvelope"/>). A status the route
    /// declares itself is left as it declared it.
    /// </summary>
    public static RouteGroupBuilder MapServiceGroup<TError>(this IEndpointRouteBuilder app, string tag)
    {
        var group = app.MapGroup("");
        group.WithTags(tag);
        // Finally: after the route's own conventions, which are what declare its body.
        ((IEndpointConventionBuilder)group).Finally(endpoint =>
        {
            if (!endpoint.Metadata.OfType<IAcceptsMetadata>().Any()) return;
            var declared = endpoint.Metadata.OfType<IProducesResponseTypeMetadata>().Select(m => m.StatusCode).ToHashSet();
            foreach (var status in BodyErrorStatuses)
                if (!declared.Contains(status))
                    endpoint.Metadata.Add(new ProducesResponseTypeMetadata(status, typeof(TError), ["application/json"]));
        });
        return group;
    }
}
