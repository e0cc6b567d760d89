using Hailo.Core;
using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Hailo.Hosting.Http;

/// <summary>
/// Reads JSON request bodies and says what is wrong with a bad one the way a person would: "unknown field 'nope'
/// (accepted: image, confidence_threshold)", "field 'confidence_threshold' must be a number, not a string", "the
/// body is not valid JSON at line 1, column 2". The sentences come from the body and the type's source-generated
/// metadata, never from the serializer's exception text (which names .NET types, and in the Native AOT binaries is a
/// bare resource key such as "UnmappedJsonProperty, nope, HailoPose.Api.PoseRequest").
/// </summary>
public static class JsonBody
{
    public const string Code = "invalid_json";

    /// <summary>
    /// Reads the whole body and deserialises it; a body that does not fit is a 400 invalid_json. The body is held in
    /// a <see cref="BodyBuffer"/> only while it is deserialised: a stream of bodies of many megabytes (up to the
    /// route's limit) leaves nothing behind on the managed heap.
    /// </summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, CancellationToken ct) where T : class
    {
        using var body = await ReadBufferAsync(request, ct).ConfigureAwait(false);
        return Deserialize(body.Span, type);
    }

    /// <summary>The whole body in a <see cref="BodyBuffer"/> (the caller disposes it).</summary>
    internal static async Task<BodyBuffer> ReadBufferAsync(HttpRequest request, CancellationToken ct)
    {
        var body = new BodyBuffer(request.ContentLength);
        try
        {
            var pipe = request.BodyReader;
            while (true)
            {
                var read = await pipe.ReadAsync(ct).ConfigureAwait(false);
                foreach (var segment in read.Buffer) body.Append(segment.Span);
                pipe.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted) return body;
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>The whole request body (the endpoint's body limit applies while reading), in an array of its own.</summary>
    public static async Task<ReadOnlyMemory<byte>> ReadAllAsync(HttpRequest request, CancellationToken ct)
    {
        using var body = await ReadBufferAsync(request, ct).ConfigureAwait(false);
        return body.Span.ToArray();
    }

    /// <summary>Deserialises a whole body; a body that does not fit is a 400 invalid_json naming the problem.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> utf8, JsonTypeInfo<T> type) where T : class
    {
        // The reader checks UTF-8 only where it turns a string into text, deep inside deserialisation: check it once.
        if (Utf8Problem(utf8) is { } encoding) throw new ApiException(400, Code, encoding);
        T? value;
        try
        {
            value = JsonSerializer.Deserialize(utf8, type);
        }
        catch (JsonException e)
        {
            var (message, param) = Explain(utf8, type, e);
            throw new ApiException(400, Code, message, e) { Param = param };
        }
        return value ?? throw new ApiException(400, Code, $"the body must be a JSON object{Accepted(type)}, not null");
    }

    /// <summary>"the body is not valid UTF-8 (byte 12)", or null when it is (JSON text is UTF-8).</summary>
    public static string? Utf8Problem(ReadOnlySpan<byte> utf8)
    {
        if (System.Text.Unicode.Utf8.IsValid(utf8)) return null;
        var at = 0;
        while (at < utf8.Length && Rune.DecodeFromUtf8(utf8[at..], out _, out var used) == OperationStatus.Done) at += used;
        return $"the body is not valid UTF-8 (byte {at}); JSON text must be UTF-8";
    }

    /// <summary>
    /// What keeps <paramref name="utf8"/> from being JSON at all ("the body is empty", "the body is not valid JSON at
    /// line 1, column 2"), or null when it is well-formed.
    /// </summary>
    public static string? SyntaxProblem(ReadOnlySpan<byte> utf8, JsonReaderOptions options = default)
    {
        if (IsBlank(utf8)) return "the body is empty; send a JSON object";
        var reader = new Utf8JsonReader(utf8, options);
        try
        {
            while (reader.Read()) { }
            return null;
        }
        catch (JsonException e)
        {
            var line = e.LineNumber ?? 0;
            var position = e.BytePositionInLine ?? 0;
            var message = $"the body is not valid JSON at line {line + 1}, column {position + 1}";
            return Offset(utf8, line, position) >= TrimmedLength(utf8) ? message + " (it ends before the JSON is complete)" : message;
        }
    }

    /// <summary>What is wrong with <paramref name="utf8"/> as a <paramref name="type"/>, and the field at fault.</summary>
    public static (string Message, string? Param) Explain(ReadOnlySpan<byte> utf8, JsonTypeInfo type, JsonException e)
    {
        var o = type.Options;
        var readerOptions = new JsonReaderOptions
        {
            AllowTrailingCommas = o.AllowTrailingCommas,
            CommentHandling = o.ReadCommentHandling == JsonCommentHandling.Skip ? JsonCommentHandling.Skip : JsonCommentHandling.Disallow,
            MaxDepth = o.MaxDepth == 0 ? 64 : o.MaxDepth,
        };
        if (SyntaxProblem(utf8, readerOptions) is { } syntax) return (syntax, null);
        // The body is walked token by token beside the type's metadata, not parsed into a document: a document of a
        // refused body of many megabytes costs several times its size on the large object heap.
        var reader = new Utf8JsonReader(utf8, readerOptions);
        reader.Read();
        if (Check(ref reader, type, "") is { } problem) return problem;
        // The shape fits but a converter refused a value (an out-of-range number, an unknown enum name, ...).
        var path = FieldPath(e.Path);
        return path.Length > 0
            ? ($"field '{ClientText.Quote(path)}' has a value this endpoint cannot use", path)
            : ("the body does not fit this endpoint; see /openapi/v1.json", null);
    }

    private static bool IsBlank(ReadOnlySpan<byte> utf8)
    {
        foreach (var b in utf8)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }

    /// <summary>The byte offset of a 0-based line and byte position in it.</summary>
    private static long Offset(ReadOnlySpan<byte> utf8, long line, long position)
    {
        var start = 0;
        for (var l = 0L; l < line; l++)
        {
            var nl = utf8[start..].IndexOf((byte)'\n');
            if (nl < 0) return utf8.Length;
            start += nl + 1;
        }
        return start + position;
    }

    private static int TrimmedLength(ReadOnlySpan<byte> utf8)
    {
        var n = utf8.Length;
        while (n > 0 && utf8[n - 1] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') n--;
        return n;
    }

    /// <summary>
    /// Walks a well-formed body along the type's metadata from the reader's current token (the first of a value): the
    /// first unknown field, missing required field or ill-typed value. Without a problem the reader is left on the
    /// value's last token.
    /// </summary>
    private static (string, string?)? Check(ref Utf8JsonReader reader, JsonTypeInfo type, string path)
    {
        var nullableOf = Nullable.GetUnderlyingType(type.Type);
        if (reader.TokenType == JsonTokenType.Null)
            return type.Type.IsValueType && nullableOf is null ? Wrong(ref reader, path, Expected(type)) : null;
        if (nullableOf is not null && Info(type.Options, nullableOf) is { } underlying) type = underlying;

        switch (type.Kind)
        {
            case JsonTypeInfoKind.Object:
            {
                if (reader.TokenType != JsonTokenType.StartObject) return Wrong(ref reader, path, Expected(type));
                var allowUnknown = (type.UnmappedMemberHandling ?? type.Options.UnmappedMemberHandling) == JsonUnmappedMemberHandling.Skip
                                   || type.Properties.Any(p => p.IsExtensionData);
                var comparison = type.Options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
                var seen = new List<string>();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    var prop = type.Properties.FirstOrDefault(p => !p.IsExtensionData && string.Equals(p.Name, name, comparison));
                    var at = Join(path, name);
                    if (prop is null)
                    {
                        if (allowUnknown) { reader.Skip(); continue; }
                        return ($"unknown field '{ClientText.Quote(at)}'{Accepted(type)}", at);
                    }
                    if (!seen.Contains(prop.Name)) seen.Add(prop.Name);   // a field sent a million times is one entry
                    if (Info(type.Options, prop.PropertyType) is not { } propType) reader.Skip();
                    else if (Check(ref reader, propType, at) is { } problem) return problem;
                }
                foreach (var required in type.Properties.Where(p => p.IsRequired))
                    if (!seen.Contains(required.Name))
                        return ($"field '{Join(path, required.Name)}' is required", Join(path, required.Name));
                return null;
            }
            case JsonTypeInfoKind.Dictionary:
            {
                if (reader.TokenType != JsonTokenType.StartObject) return Wrong(ref reader, path, "an object");
                var valueType = Info(type.Options, type.ElementType);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var at = Join(path, reader.GetString()!);
                    reader.Read();
                    if (valueType is null) reader.Skip();
                    else if (!Plain(ref reader, valueType) && Check(ref reader, valueType, at) is { } problem) return problem;
                }
                return null;
            }
            case JsonTypeInfoKind.Enumerable:
            {
                if (type.Type == typeof(byte[])) return reader.TokenType == JsonTokenType.String ? null : Wrong(ref reader, path, "a base64 string");
                if (reader.TokenType != JsonTokenType.StartArray) return Wrong(ref reader, path, "an array");
                var elementType = Info(type.Options, type.ElementType);
                var i = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (elementType is null) reader.Skip();
                    else if (!Plain(ref reader, elementType) && Check(ref reader, elementType, $"{path}[{i}]") is { } problem) return problem;
                    i++;
                }
                return null;
            }
            default:
            {
                var expected = Expected(type);
                if (expected is not null && !Fits(ref reader, type.Type)) return Wrong(ref reader, path, expected);
                reader.Skip();
                return null;
            }
        }
    }
    /// <summary>
    /// Whether the value at the reader is a plain value its type takes as it is, so that nothing needs walking or
    /// naming: the items of an array of a million numbers are checked without a path string each.
    /// </summary>
    private static bool Plain(ref Utf8JsonReader reader, JsonTypeInfo type)
    {
        if (type.Kind != JsonTypeInfoKind.None || reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) return false;
        if (reader.TokenType == JsonTokenType.Null) return !type.Type.IsValueType || Nullable.GetUnderlyingType(type.Type) is not null;
        return Expected(type) is null || Fits(ref reader, type.Type);
    }

    /// <summary>The metadata of a member's type, or null when the resolver has none (then anything may do).</summary>
    private static JsonTypeInfo? Info(JsonSerializerOptions options, Type? type)
    {
        if (type is null) return null;
        try
        {
            return options.GetTypeInfo(type);
        }
        catch (NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>What a value of this type looks like in JSON, in words; null when anything may do.</summary>
    private static string? Expected(JsonTypeInfo type)
    {
        var t = Nullable.GetUnderlyingType(type.Type) ?? type.Type;
        if (type.Kind == JsonTypeInfoKind.Object) return "an object";
        if (t == typeof(string) || t == typeof(char) || t == typeof(DateTime) || t == typeof(DateTimeOffset) || t == typeof(Guid) || t == typeof(TimeSpan)) return "a string";
        if (t == typeof(bool)) return "true or false";
        if (t == typeof(double) || t == typeof(float) || t == typeof(decimal) || t == typeof(Half)) return "a number";
        if (t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte) || t == typeof(sbyte)
            || t == typeof(uint) || t == typeof(ulong) || t == typeof(ushort)) return "a whole number";
        if (t.IsEnum) return "a string or a number";
        return null;
    }

    private static bool Fits(ref Utf8JsonReader reader, Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        var token = reader.TokenType;
        if (t == typeof(bool)) return token is JsonTokenType.True or JsonTokenType.False;
        if (t == typeof(double) || t == typeof(float) || t == typeof(decimal) || t == typeof(Half)) return token == JsonTokenType.Number;
        if (t.IsEnum) return token is JsonTokenType.String or JsonTokenType.Number;
        if (t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(byte) || t == typeof(sbyte)
            || t == typeof(uint) || t == typeof(ulong) || t == typeof(ushort))
            return token == JsonTokenType.Number && reader.TryGetDecimal(out var d) && d == decimal.Truncate(d);
        return token == JsonTokenType.String; // string, char, dates, Guid, TimeSpan
    }

    private static (string, string?) Wrong(ref Utf8JsonReader reader, string path, string? expected)
    {
        var got = reader.TokenType switch
        {
            JsonTokenType.String => "a string",
            JsonTokenType.Number => reader.TryGetDecimal(out var d) && d != decimal.Truncate(d) ? "a fraction" : "a number",
            JsonTokenType.True => "true",
            JsonTokenType.False => "false",
            JsonTokenType.StartArray => "an array",
            JsonTokenType.StartObject => "an object",
            _ => "null",
        };
        return path.Length == 0
            ? ($"the body must be a JSON object, not {got}", null)
            : ($"field '{ClientText.Quote(path)}' must be {expected ?? "something else"}, not {got}", path);
    }

    private static string Join(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private static string Accepted(JsonTypeInfo type) =>
        type.Kind == JsonTypeInfoKind.Object && type.Properties.Count > 0
            ? $" (accepted: {string.Join(", ", type.Properties.Where(p => !p.IsExtensionData).Select(p => p.Name))})"
            : "";

    /// <summary>"$.options['top k'][2]" → "options.top k[2]".</summary>
    internal static string FieldPath(string? jsonPath)
    {
        if (string.IsNullOrEmpty(jsonPath) || jsonPath == "$") return "";
        var sb = new StringBuilder(jsonPath.Length);
        for (var i = jsonPath.StartsWith('$') ? 1 : 0; i < jsonPath.Length; i++)
        {
            var c = jsonPath[i];
            if (c == '.') { if (sb.Length > 0) sb.Append('.'); continue; }
            if (c == '[' && i + 1 < jsonPath.Length && jsonPath[i + 1] == '\'')
            {
                var end = jsonPath.IndexOf("']", i + 2, StringComparison.Ordinal);
                if (end < 0) break;
                if (sb.Length > 0) sb.Append('.');
                sb.Append(jsonPath, i + 2, end - i - 2);
                i = end + 1;
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }
}
