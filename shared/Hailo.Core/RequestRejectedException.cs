namespace Hailo.Core;

/// <summary>Why a request's input is refused, independent of the protocol that carried it.</summary>
public enum RejectionKind
{
    /// <summary>The input is malformed or out of range (HTTP 400).</summary>
    Invalid,
    /// <summary>The input is larger or longer than the service accepts (HTTP 413).</summary>
    TooLarge,
    /// <summary>The input is in a format the service does not read (HTTP 415).</summary>
    Unsupported,
}

/// <summary>
/// A request's input cannot be used: thrown by decoders and parsers that know nothing of HTTP or Wyoming. Each host
/// maps it to its own error (the HTTP error pipeline to 400/413/415 in the API family's shape, the Wyoming server to an
/// error event), keeping <see cref="Code"/> and the message.
/// </summary>
public class RequestRejectedException(RejectionKind kind, string code, string message, string? param = null) : Exception(ClientText.Cap(message))
{
    public RejectionKind Kind { get; } = kind;
    /// <summary>A stable machine-readable code, e.g. invalid_audio.</summary>
    public string Code { get; } = code;
    /// <summary>Name of the request field at fault, when there is one.</summary>
    public string? Param { get; } = param is null ? null : ClientText.Quote(param);

    public static RequestRejectedException Invalid(string code, string message, string? param = null) => new(RejectionKind.Invalid, code, message, param);
    public static RequestRejectedException TooLarge(string code, string message, string? param = null) => new(RejectionKind.TooLarge, code, message, param);
    public static RequestRejectedException Unsupported(string code, string message, string? param = null) => new(RejectionKind.Unsupported, code, message, param);
}
