using System.Text.Json.Serialization;
using Hailo.Hosting.Http;
using Microsoft.AspNetCore.Http;

namespace Hailo.Hosting.OpenAi;

/// <summary>
/// Errors in OpenAI's shape, {"error":{"message","type","param","code"}}, for every route of the OpenAI API family
/// (hailo-whisper's audio API, hailo-ollama's /v1/). OpenAI's SDKs choose their exception by the HTTP status; the type
/// is what people read, and it follows what OpenAI itself answers.
/// </summary>
public static class OpenAiErrors
{
    /// <summary>
    /// The error type for an HTTP status. Where OpenAI's answers show the type, it is theirs: invalid_request_error for
    /// every request it refuses, also 401 (a wrong key is invalid_request_error with code invalid_api_key) and 404
    /// (an unknown model is invalid_request_error with code model_not_found); server_error for 500 and 503 (an
    /// overloaded model). Where they show none that fits, the name of the SDK's exception for the status: 403
    /// permission_error (PermissionDeniedError), 429 rate_limit_error (RateLimitError). Our own machine-readable
    /// code stays in "code".
    /// </summary>
    public static string TypeOf(int status) => status switch
    {
        403 => "permission_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    /// <summary>The body for <paramref name="error"/>.</summary>
    public static OpenAiErrorEnvelope Envelope(ApiException error) =>
        new(new OpenAiError(error.Message, TypeOf(error.Status), error.Param, error.Code));

    /// <summary>Writes <paramref name="error"/> as the response body (the status is the caller's).</summary>
    public static Task WriteAsync(HttpContext context, ApiException error) =>
        context.Response.WriteAsJsonAsync(Envelope(error), HostingJsonContext.Default.OpenAiErrorEnvelope);
}

/// <summary>The error writer of a service whose every route is OpenAI's API family.</summary>
public sealed class OpenAiErrorWriter : IErrorWriter
{
    public Task WriteAsync(HttpContext context, ApiException error) => OpenAiErrors.WriteAsync(context, error);
}

/// <summary>OpenAI's error body: {"error":{"message","type","param","code"}}.</summary>
public sealed record OpenAiErrorEnvelope(OpenAiError Error);

/// <summary>One error: param (the request field at fault) and code are null when there is none, never left out.</summary>
public sealed record OpenAiError(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);
