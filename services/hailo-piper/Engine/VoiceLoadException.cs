namespace HailoPiper.Engine;

/// <summary>
/// A voice cannot be loaded: its model or .onnx.json is missing or malformed, it needs something this engine does
/// not support, or libespeak-ng (or the espeak-ng voice it names) is not there. The message says which, for a
/// person; the voice is unusable until its files or the system are fixed (a service answers 503, or 400/404 when
/// the caller chose the voice).
/// </summary>
public sealed class VoiceLoadException : Exception
{
    public VoiceLoadException(string message) : base(message) { }
    public VoiceLoadException(string message, Exception inner) : base(message, inner) { }
}
