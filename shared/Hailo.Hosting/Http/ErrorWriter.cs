using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Hailo.Hosting.Http;

/// <summary>Writes an error body in one API family's shape. Services of another family register their own.</summary>
public interface IErrorWriter
{
    Task WriteAsync(HttpContext context, ApiException error);
}

/// <summary>The project-wide error shape of the custom APIs: {"error":{"code","message","status"}}.</summary>
public sealed class HailoErrorWriter : IErrorWriter
{
    public Task WriteAsync(HttpContext context, ApiException error) =>
        context.Response.WriteAsJsonAsync(new ErrorEnvelope(new ErrorBody(error.Code, error.Message, error.Status, error.Param)),
            HostingJsonContext.Default.ErrorEnvelope);
}

/// <summary>Body of every error answered by the custom APIs.</summary>
public sealed record ErrorEnvelope([property: JsonPropertyName("error")] ErrorBody Error);

/// <summary>A stable machine-readable code, a message for humans, the HTTP status and the field at fault.</summary>
public sealed record ErrorBody(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("param"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Param = null);
