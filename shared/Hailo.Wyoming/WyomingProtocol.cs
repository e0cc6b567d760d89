using System.Buffers;
using System.Text.Json;

namespace Hailo.Wyoming;

/// <summary>One Wyoming event: its type, its data (a JSON object) and an optional binary payload.</summary>
public sealed record WyomingEvent(string Type, JsonElement Data, byte[]? Payload = null)
{
    public string? String(string name) => Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public int? Int(string name) => Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;
}

/// <summary>
/// A peer broke the framing or the limits (bad header, sizes or audio out of bounds); the connection is closed after an
/// error event.
/// </summary>
public class WyomingProtocolException(string message, string code = "protocol_error") : Exception(message)
{
    /// <summary>The error event's code.</summary>
    public string Code { get; } = code;
}

/// <summary>
/// Wyoming framing: a JSON header line {"type", "data"?, "data_length"?, "payload_length"?, "version"?} and '\n', then
/// data_length bytes of JSON merged over the header's data, then payload_length bytes of payload (PCM for audio-chunk).
/// The reader accepts data inline, in the block, or both; the writer puts data in the block as the Python library does.
/// </summary>
public static class WyomingProtocol
{
    public const string Version = "1.5.3";

    /// <summary>
    /// Reads the next event, or null at a clean end of stream. Sizes beyond <paramref name="limits"/> are refused
    /// before anything is allocated for them; a peer silent for <see cref="WyomingLimits.IdleTimeout"/> between
    /// events, or slower than <see cref="WyomingLimits.ReadTimeout"/> to send one, gets a timeout.
    /// </summary>
    public static async Task<WyomingEvent?> ReadAsync(Stream stream, WyomingLimits limits, CancellationToken ct)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timer.CancelAfter(limits.IdleTimeout);
        try
        {
            var first = new byte[1];
            do
            {
                if (await stream.ReadAsync(first, timer.Token) == 0) return null;
            } while (first[0] == (byte)'\n'); // tolerate blank lines
            timer.CancelAfter(limits.ReadTimeout);
            return await ReadEventAsync(stream, first[0], limits, timer.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new WyomingProtocolException(
                $"no complete event in time (at most {limits.IdleTimeout.TotalSeconds:0.#} s between events and {limits.ReadTimeout.TotalSeconds:0.#} s for one event)", "timeout");
        }
    }

    private static async Task<WyomingEvent> ReadEventAsync(Stream stream, byte first, WyomingLimits limits, CancellationToken ct)
    {
        var line = await ReadLineAsync(stream, first, limits.MaxHeaderBytes, ct);
        JsonElement header;
        try
        {
            using var doc = JsonDocument.Parse(line);
            header = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new WyomingProtocolException("the event header is not JSON: " + e.Message);
        }
        if (header.ValueKind != JsonValueKind.Object || !header.TryGetProperty("type", out var typeEl) || typeEl.ValueKind != JsonValueKind.String)
            throw new WyomingProtocolException("the event header has no \"type\"");
        var dataLength = Length(header, "data_length", limits.MaxDataBytes);
        var payloadLength = Length(header, "payload_length", limits.MaxPayloadBytes);

        var merged = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (header.TryGetProperty("data", out var inline) && inline.ValueKind == JsonValueKind.Object)
            foreach (var p in inline.EnumerateObject()) merged[p.Name] = p.Value.Clone();
        if (dataLength > 0)
        {
            var block = new byte[dataLength];
            await stream.ReadExactlyAsync(block, ct);
            try
            {
                using var doc = JsonDocument.Parse(block);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new WyomingProtocolException("the event data is not a JSON object");
                foreach (var p in doc.RootElement.EnumerateObject()) merged[p.Name] = p.Value.Clone();
            }
            catch (JsonException e)
            {
                throw new WyomingProtocolException("the event data is not JSON: " + e.Message);
            }
        }
        byte[]? payload = null;
        if (payloadLength > 0)
        {
            payload = new byte[payloadLength];
            await stream.ReadExactlyAsync(payload, ct);
        }
        return new WyomingEvent(typeEl.GetString()!, Object(merged), payload);
    }

    private static int Length(JsonElement header, string name, int max)
    {
        if (!header.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return 0;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var n) || n < 0)
            throw new WyomingProtocolException($"\"{name}\" must be a non-negative integer");
        if (n > max) throw new WyomingProtocolException($"\"{name}\" {n} is larger than the limit of {max} bytes", "too_large");
        return (int)n;
    }

    private static JsonElement Object(Dictionary<string, JsonElement> fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (k, v) in fields)
            {
                w.WritePropertyName(k);
                v.WriteTo(w);
            }
            w.WriteEndObject();
        }
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        return doc.RootElement.Clone();
    }

    /// <summary>The rest of a header line whose first byte was already read (not a newline).</summary>
    private static async Task<byte[]> ReadLineAsync(Stream stream, byte first, int maxBytes, CancellationToken ct)
    {
        var line = new List<byte>(256) { first };
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, ct) == 0) throw new WyomingProtocolException("the stream ended inside an event header");
            if (one[0] == (byte)'\n') return line.ToArray();
            if (line.Count >= maxBytes) throw new WyomingProtocolException($"an event header is longer than {maxBytes} bytes", "too_large");
            line.Add(one[0]);
        }
    }

    /// <summary>Writes an event; <paramref name="writeData"/> fills the data object (null = no data).</summary>
    public static async Task WriteAsync(Stream stream, string type, Action<Utf8JsonWriter>? writeData, byte[]? payload, CancellationToken ct)
    {
        byte[]? data = null;
        if (writeData is not null)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                writeData(w);
                w.WriteEndObject();
            }
            data = buffer.WrittenSpan.ToArray();
        }
        var header = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            w.WriteString("version", Version);
            if (data is not null) w.WriteNumber("data_length", data.Length);
            if (payload is { Length: > 0 }) w.WriteNumber("payload_length", payload.Length);
            w.WriteEndObject();
        }
        var message = new byte[header.WrittenCount + 1 + (data?.Length ?? 0) + (payload?.Length ?? 0)];
        header.WrittenSpan.CopyTo(message);
        message[header.WrittenCount] = (byte)'\n';
        data?.CopyTo(message, header.WrittenCount + 1);
        payload?.CopyTo(message, header.WrittenCount + 1 + (data?.Length ?? 0));
        await stream.WriteAsync(message, ct);
        await stream.FlushAsync(ct);
    }
}
