using System.Buffers;
using System.Text;
using System.Text.Json;

namespace HailoWhisper.Wyoming;

/// <summary>One Wyoming event: its type, its data (a JSON object) and an optional binary payload.</summary>
public sealed record WyomingEvent(string Type, JsonElement Data, byte[]? Payload = null)
{
    public string? String(string name) => Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public int? Int(string name) => Data.ValueKind == JsonValueKind.Object && Data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;
}

/// <summary>A peer broke the framing (bad header, sizes out of bounds); the connection is closed after an error event.</summary>
public sealed class WyomingProtocolException(string message) : Exception(message);

/// <summary>
/// Wyoming framing: a JSON header line {"type", "data"?, "data_length"?, "payload_length"?, "version"?} and '\n', then
/// data_length bytes of JSON merged over the header's data, then payload_length bytes of payload (PCM for audio-chunk).
/// The reader accepts data inline, in the block, or both; the writer puts data in the block as the Python library does.
/// </summary>
public static class WyomingProtocol
{
    public const string Version = "1.5.3";
    public const int MaxHeaderBytes = 64 * 1024;
    public const int MaxDataBytes = 1024 * 1024;
    public const int MaxPayloadBytes = 16 * 1024 * 1024;

    /// <summary>Reads the next event, or null at a clean end of stream.</summary>
    public static async Task<WyomingEvent?> ReadAsync(Stream stream, CancellationToken ct)
    {
        var line = await ReadLineAsync(stream, ct);
        if (line is null) return null;
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
        var dataLength = Length(header, "data_length", MaxDataBytes);
        var payloadLength = Length(header, "payload_length", MaxPayloadBytes);

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
        if (n > max) throw new WyomingProtocolException($"\"{name}\" {n} is larger than the limit of {max} bytes");
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

    private static async Task<byte[]?> ReadLineAsync(Stream stream, CancellationToken ct)
    {
        var line = new List<byte>(256);
        var one = new byte[1];
        while (true)
        {
            var n = await stream.ReadAsync(one, ct);
            if (n == 0)
            {
                if (line.Count == 0) return null;
                throw new WyomingProtocolException("the stream ended inside an event header");
            }
            if (one[0] == (byte)'\n')
            {
                if (line.Count == 0) continue; // tolerate blank lines
                return line.ToArray();
            }
            if (line.Count >= MaxHeaderBytes) throw new WyomingProtocolException($"an event header is longer than {MaxHeaderBytes} bytes");
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

    internal static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
