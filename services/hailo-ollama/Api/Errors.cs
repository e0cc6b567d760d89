using System.Text.Json;
using Hailo.Hosting.Http;
using Microsoft.AspNetCore.Http;

namespace HailoOllama.Api;

/// <summary>
/// Errors in the API family's shape: Ollama's {"error":"message"} on the native API, OpenAI's
/// {"error":{"message","type","param","code"}} under /v1/.
/// </summary>
public sealed class OllamaErrorWriter : IErrorWriter
{
    public async Task WriteAsync(HttpContext context, ApiException error)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var path = context.Request.Path.Value ?? "";
        await using var w = new Utf8JsonWriter(context.Response.Body);
        w.WriteStartObject();
        if (path.StartsWith("/v1/", StringComparison.Ordinal) || path == "/v1")
        {
            w.WriteStartObject("error");
            w.WriteString("message", error.Message);
            w.WriteString("type", OpenAiType(error.Status));
            if (error.Param is null) w.WriteNull("param"); else w.WriteString("param", error.Param);
            w.WriteString("code", error.Code);
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("error", error.Message);
        }
        w.WriteEndObject();
        await w.FlushAsync();
    }

    public static string OpenAiType(int status) => status switch
    {
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        503 => "service_unavailable_error",
        < 500 => "invalid_request_error",
        _ => "api_error",
    };
}

/// <summary>Helpers for errors thrown by handlers.</summary>
internal static class Err
{
    public static ApiException Bad(string message, string? param = null, string code = "invalid_request") => new(400, code, message) { Param = param };
    public static ApiException NotFound(string model) => new(404, "model_not_found", $"model '{model}' not found") { Param = "model" };

    public static ApiException From(Hailo.GenAI.GenAiException e) =>
        new(e.Status, e.Status switch { 503 => "unavailable", 400 => "invalid_request", 404 => "model_not_found", _ => "internal_error" }, e.Message)
        { RetryAfterSeconds = e.RetryAfter, Param = e.Param };
}
