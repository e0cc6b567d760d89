using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hailo.Hosting.Http;

/// <summary>Endpoint metadata: the largest request body this endpoint accepts (null = server.max_body_mb).</summary>
public sealed record BodyLimitMetadata(long? Bytes);

/// <summary>Endpoint metadata: the body is raw bytes under any content type (e.g. a content-addressed upload).</summary>
public sealed record AnyContentTypeMetadata;

public static class BodyLimitExtensions
{
    /// <summary>Takes the body under any content type (no 415); only for bodies that are not read as JSON or forms.</summary>
    public static TBuilder WithAnyContentType<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new AnyContentTypeMetadata());
        return builder;
    }

    /// <summary>Accept bodies up to <paramref name="bytes"/>, or up to server.max_body_mb when null.</summary>
    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder builder, long? bytes = null) where TBuilder : IEndpointConventionBuilder
    {
        builder.WithMetadata(new BodyLimitMetadata(bytes));
        return builder;
    }

    internal static string Describe(long bytes) => bytes switch
    {
        >= 1 << 20 when bytes % (1 << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1 << 20 => $"{bytes / (double)(1 << 20):0.##} MiB",
        >= 1 << 10 => $"{bytes / 1024.0:0.##} KiB",
        _ => $"{bytes} bytes",
    };
}
