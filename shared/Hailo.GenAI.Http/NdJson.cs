using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Hailo.GenAI.Api;

/// <summary>Writes JSON objects to the response: one per line (NDJSON), one SSE event, or a single body.</summary>
public static class JsonOut
{
    public static string Iso(DateTime utc) => utc.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static byte[] Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            write(w);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static async Task LineAsync(HttpResponse response, Action<Utf8JsonWriter> write, CancellationToken ct)
    {
        var bytes = Build(write);
        await response.Body.WriteAsync(bytes, ct).ConfigureAwait(false);
        await response.Body.WriteAsync("\n"u8.ToArray(), ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    public static async Task SseAsync(HttpResponse response, Action<Utf8JsonWriter> write, CancellationToken ct)
    {
        var bytes = Build(write);
        await response.Body.WriteAsync("data: "u8.ToArray(), ct).ConfigureAwait(false);
        await response.Body.WriteAsync(bytes, ct).ConfigureAwait(false);
        await response.Body.WriteAsync("\n\n"u8.ToArray(), ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>A single body from a wire contract record (<see cref="OllamaJson"/>, <see cref="OpenAiJson"/>).</summary>
    public static Task SingleAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> type, CancellationToken ct, int status = 200)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            JsonSerializer.Serialize(w, value, type);
        return WriteSingleAsync(response, buffer.WrittenSpan.ToArray(), ct, status);
    }

    public static Task SingleAsync(HttpResponse response, Action<Utf8JsonWriter> write, CancellationToken ct, int status = 200) =>
        WriteSingleAsync(response, Build(write), ct, status);

    private static async Task WriteSingleAsync(HttpResponse response, byte[] bytes, CancellationToken ct, int status)
    {
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, ct).ConfigureAwait(false);
    }

    public static void Element(Utf8JsonWriter w, string name, JsonElement e)
    {
        w.WritePropertyName(name);
        e.WriteTo(w);
    }
}
