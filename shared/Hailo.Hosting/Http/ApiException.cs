using Hailo.Core;

namespace Hailo.Hosting.Http;

/// <summary>
/// A request that cannot be served, with the HTTP status and a stable machine-readable code.
/// Thrown anywhere below an endpoint; the error middleware writes it in the API family's own shape.
/// </summary>
public class ApiException(int status, string code, string message, Exception? inner = null) : Exception(ClientText.Cap(message), inner)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
    /// <summary>Seconds for a Retry-After header (503 and 429).</summary>
    public int? RetryAfterSeconds { get; init; }
    /// <summary>Name of the request field at fault, when there is one (a client's field name is quoted, not repeated whole).</summary>
    public string? Param { get; init => field = value is null ? null : ClientText.Quote(value); }

    public static ApiException BadRequest(string code, string message, string? param = null) => new(400, code, message) { Param = param };
    /// <summary>
    /// The HTTP form of a host-agnostic rejection: Invalid → 400, TooLarge → 413, Unsupported → 415, with its code,
    /// message and field.
    /// </summary>
    public static ApiException From(RequestRejectedException e) => new(StatusOf(e.Kind), e.Code, e.Message, e) { Param = e.Param };

    public static int StatusOf(RejectionKind kind) => kind switch
    {
        RejectionKind.TooLarge => 413,
        RejectionKind.Unsupported => 415,
        _ => 400,
    };

    public static ApiException Unavailable(string code, string message, int retryAfterSeconds) => new(503, code, message) { RetryAfterSeconds = retryAfterSeconds };
}
