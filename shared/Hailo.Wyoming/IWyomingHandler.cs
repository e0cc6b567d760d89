using System.Text.Json;

namespace Hailo.Wyoming;

/// <summary>
/// What a service plugs into <see cref="WyomingServer"/>: its describe → info answer and one session per connection
/// for the events of its kind (speech to text: transcribe, audio-start, audio-chunk…, audio-stop → transcript; text
/// to speech: synthesize → audio-start, audio-chunk…, audio-stop). The server itself answers describe and ping.
/// </summary>
public interface IWyomingHandler
{
    /// <summary>What the service does, for the log line saying where it listens ("speech-to-text").</summary>
    string Kind { get; }

    /// <summary>Writes the data of the info event (inside its object): asr, tts, wake, … (see <see cref="WyomingInfo"/>).</summary>
    void WriteInfo(Utf8JsonWriter w);

    /// <summary>State for one connection, which it answers on; disposed when the connection ends.</summary>
    IWyomingSession OpenSession(WyomingConnection connection);
}

/// <summary>The events of one connection, in order.</summary>
public interface IWyomingSession : IDisposable
{
    /// <summary>
    /// Handles one event; false when it is not one this service knows (the server ignores it). Throw
    /// <see cref="WyomingProtocolException"/> to answer an error event and close the connection; answer a failure
    /// that leaves the connection usable with <see cref="WyomingConnection.WriteErrorAsync"/>.
    /// </summary>
    Task<bool> HandleAsync(WyomingEvent e, CancellationToken ct);
}

/// <summary>The connection a session answers on.</summary>
public sealed class WyomingConnection(Stream stream, WyomingLimits limits)
{
    /// <summary>The bounds the server applies to this connection.</summary>
    public WyomingLimits Limits { get; } = limits;

    /// <summary>Writes an event; <paramref name="writeData"/> fills the data object (null = no data).</summary>
    public Task WriteAsync(string type, Action<Utf8JsonWriter>? writeData, byte[]? payload, CancellationToken ct) =>
        WyomingProtocol.WriteAsync(stream, type, writeData, payload, ct);

    /// <summary>Writes an error event {text, code}; a peer that is gone is no failure.</summary>
    public Task WriteErrorAsync(string text, string code, CancellationToken ct) => WyomingServer.TryWriteError(stream, text, code, ct);
}

/// <summary>Pieces of the info event every service writes.</summary>
public static class WyomingInfo
{
    /// <summary>The service lists of an info event, in the order they are written.</summary>
    public static readonly string[] Services = ["asr", "tts", "handle", "intent", "wake", "mic", "snd"];

    /// <summary>Writes an empty list for every service in <see cref="Services"/> but <paramref name="except"/>.</summary>
    public static void WriteEmptyServices(Utf8JsonWriter w, params string[] except)
    {
        foreach (var name in Services)
        {
            if (except.Contains(name)) continue;
            w.WriteStartArray(name);
            w.WriteEndArray();
        }
    }

    /// <summary>Writes an "attribution" object {name, url}.</summary>
    public static void WriteAttribution(Utf8JsonWriter w, string name, string url)
    {
        w.WriteStartObject("attribution");
        w.WriteString("name", name);
        w.WriteString("url", url);
        w.WriteEndObject();
    }
}
