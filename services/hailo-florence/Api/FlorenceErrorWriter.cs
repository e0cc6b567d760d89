using System.Text.Json;
using Hailo.Hosting.Http;
using Microsoft.AspNetCore.Http;

namespace HailoFlorence.Api;

/// <summary>
/// Errors in the API family's shape: the predecessor's florence body {"error": code, "message", "status"} on its
/// routes, Ollama's {"error": message} under /api/.
/// </summary>
public sealed class FlorenceErrorWriter : IErrorWriter
{
    public async Task WriteAsync(HttpContext context, ApiException error)
    {
        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/api/", StringComparison.Ordinal))
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            await using var w = new Utf8JsonWriter(context.Response.Body);
            w.WriteStartObject();
            w.WriteString("error", error.Message);
            w.WriteEndObject();
            await w.FlushAsync();
            return;
        }
        await context.Response.WriteAsJsonAsync(new FlorenceError(error.Code, error.Message, error.Status), FlorenceJson.Default.FlorenceError);
    }
}
