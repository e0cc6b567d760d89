using Hailo.Hosting.Http;
using Microsoft.AspNetCore.Http;

namespace HailoWhisper.Api;

/// <summary>Every error of this service in OpenAI's shape, so OpenAI clients show the message.</summary>
internal sealed class OpenAiErrorWriter : IErrorWriter
{
    public Task WriteAsync(HttpContext context, ApiException error) =>
        context.Response.WriteAsJsonAsync(new OpenAiErrorEnvelope(new OpenAiError(error.Message, TypeOf(error.Status), error.Param, error.Code)),
            WhisperJson.Default.OpenAiErrorEnvelope);

    internal static string TypeOf(int status) => status switch
    {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "invalid_request_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };
}
