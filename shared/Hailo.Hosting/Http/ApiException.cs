namespace Hailo.Hosting.Http;

/// <summary>
/// A request that cannot be served, with the HTTP status and a stable machine-readable code.
/// Thrown anywhere below an endpoint; the error middleware writes it in the API family's own shape.
/// </summary>
public class ApiException(int status, string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
    /// <summary>Seconds for a Retry-After header (503 and 429).</summary>
    public int? RetryAfterSeconds { get; init; }
    /// <summary>Name of the request field at fault, when there is one.</summary>
    public string? Param { get; init; }

    public static ApiException BadRequest(string code, string message, string? param = null) => new(400, code, message) { Param = param };
    public static ApiException Unavailable(string code, string message, int retryAfterSeconds) => new(503, code, message) { RetryAfterSeconds = retryAfterSeconds };
}
