using System.Text.Json;
using Hailo.Hosting.Http;
using Hailo.Hosting.OpenAi;
using Microsoft.AspNetCore.Http;

namespace Hailo.GenAI.Http;

/// <summary>
/// Errors in the API family's shape: Ollama's {"error":"message"} on the native API, OpenAI's
/// {"error":{"message","type","param","code"}} under /v1/.
/// </summary>
public sealed class OllamaErrorWriter : IErrorWriter
{
    public async Task WriteAsync(HttpContext context, ApiException error)
    {
        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/v1/", StringComparison.Ordinal) || path == "/v1")
        {
            await OpenAiErrors.WriteAsync(context, error);
            return;
        }
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        w.WriteStartObject();
        w.WriteString("error", error.Message);
        w.WriteEndObject();
        await w.FlushAsync();
    }

    /// <summary>OpenAI's error type for a status (<see cref="OpenAiErrors.TypeOf"/>).</summary>
    public static string OpenAiType(int status) => OpenAiErrors.TypeOf(status);
}

/// <summary>Helpers for errors thrown by handlers.</summary>
public static class Err
{
    public static ApiException Bad(string message, string? param = null, string code = "invalid_request") => new(400, code, message) { Param = param };
    public static ApiException NotFound(string model) => new(404, "model_not_found", $"model '{Hailo.Core.ClientText.Quote(model)}' not found") { Param = "model" };

    public static ApiException From(Hailo.GenAI.GenAiException e) =>
        new(e.Status, e.Status switch { 503 => "unavailable", 400 => "invalid_request", 404 => "model_not_found", _ => "internal_error" }, e.Message)
        { RetryAfterSeconds = e.RetryAfter, Param = e.Param };
}
