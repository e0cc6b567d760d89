using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hailo.Fuzz;

/// <summary>
/// Seeded mutations: byte level (bit flips, interesting bytes and integers, insert, delete, duplicate, splice,
/// truncate), JSON structure (keys, values and types, boundary numbers, huge and odd strings, deep nesting, duplicate
/// keys) and multipart (boundaries, part headers, field names, truncation). Every choice comes from the one
/// <see cref="Random"/>, so a seed replays the same sequence.
/// </summary>
public sealed class Mutator(Random rng)
{
    public Random Rng { get; } = rng;

    private static readonly byte[] InterestingBytes = [0, 1, 0x7f, 0x80, 0xff, (byte)'\n', (byte)'\r', (byte)'"', (byte)'\\', (byte)'{', (byte)'-'];
    private static readonly long[] InterestingInts = [0, 1, -1, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, int.MaxValue, int.MinValue, uint.MaxValue, 0x7ffffff0];

    /// <summary>Boundary numbers as JSON literals.</summary>
    public static readonly string[] BoundaryNumbers =
    [
        "0", "-0", "1", "-1", "0.5", "-0.5", "1e-400", "1e308", "-1e308", "1e309", "255", "256", "65535", "65536", "2147483647", "2147483648",
        "-2147483648", "-2147483649", "4294967296", "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "1.7976931348623157e308", "4.9e-324", "3.14159", "100000000000000000000000000000",
    ];

    private static readonly string[] OddStrings =
    [
        "", " ", "null", "true", "-1", "NaN", "Infinity", "1e999", "\u0000", "\ud83d\ude00", "é", "\u202e", "../../../../etc/passwd", "%s%s%n", "{{", "}}",
        "{{ .Prompt }}", "{{ range .Messages }}{{ end }}", "{{ template \"x\" }}", "{{ if }}", "<|im_start|>", "\\", "\"", "\r\n", "a:b:c", "@sha256:",
        "sha256:0000", "data:image/png;base64,", "data:;base64,AAAA", "5m", "-5m", "1h30m", "0", "-1", "99999999999h", "1e9s", "PT5M", "abc",
    ];

    public int Next(int max) => Rng.Next(max);
    public bool Chance(double p) => Rng.NextDouble() < p;
    public T Pick<T>(IReadOnlyList<T> items) => items[Rng.Next(items.Count)];

    /// <summary>1–<paramref name="maxRounds"/> byte-level mutations of a copy of <paramref name="data"/>.</summary>
    public byte[] Bytes(byte[] data, int maxRounds = 8, byte[]? other = null, int protectHead = 0)
    {
        var b = new List<byte>(data);
        var rounds = 1 + Rng.Next(maxRounds);
        for (var r = 0; r < rounds; r++)
        {
            var lo = Math.Min(protectHead, b.Count);
            var span = b.Count - lo;
            switch (Rng.Next(11))
            {
                case 0 when span > 0: { var i = lo + Rng.Next(span); b[i] ^= (byte)(1 << Rng.Next(8)); break; }
                case 1 when span > 0: b[lo + Rng.Next(span)] = (byte)Rng.Next(256); break;
                case 2 when span > 0: b[lo + Rng.Next(span)] = Pick(InterestingBytes); break;
                case 3 when span >= 4:
                {
                    var i = lo + Rng.Next(span - 3);
                    Span<byte> v = stackalloc byte[4];
                    var n = Pick(InterestingInts);
                    if (Rng.Next(2) == 0) BinaryPrimitives.WriteInt32LittleEndian(v, (int)n); else BinaryPrimitives.WriteInt32BigEndian(v, (int)n);
                    for (var k = 0; k < 4; k++) b[i + k] = v[k];
                    break;
                }
                case 4:
                {
                    var n = 1 + Rng.Next(Rng.Next(8) == 0 ? 4096 : 16);
                    var ins = new byte[n];
                    Rng.NextBytes(ins);
                    b.InsertRange(lo + Rng.Next(span + 1), ins);
                    break;
                }
                case 5 when span > 0: { var i = lo + Rng.Next(span); b.RemoveRange(i, 1 + Rng.Next(Math.Min(span - (i - lo), 256))); break; }
                case 6 when span > 0:
                {
                    var i = lo + Rng.Next(span);
                    var n = 1 + Rng.Next(Math.Min(span - (i - lo), 512));
                    var chunk = b.GetRange(i, n);
                    var times = 1 + Rng.Next(Rng.Next(10) == 0 ? 64 : 3);
                    for (var t = 0; t < times; t++) b.InsertRange(lo + Rng.Next(b.Count - lo + 1), chunk);
                    break;
                }
                case 7 when other is { Length: > 0 }:
                {
                    // Splice: our head, the other input's tail.
                    var cut = lo + Rng.Next(span + 1);
                    var from = Rng.Next(other.Length);
                    b.RemoveRange(cut, b.Count - cut);
                    b.AddRange(other.AsSpan(from).ToArray());
                    break;
                }
                case 8 when span > 0: { var cut = lo + Rng.Next(span); b.RemoveRange(cut, b.Count - cut); break; }
                case 9 when span > 0:
                {
                    var i = lo + Rng.Next(span);
                    for (var k = Math.Min(1 + Rng.Next(64), b.Count - i); k > 0; k--) b[i + k - 1] = (byte)Rng.Next(256);
                    break;
                }
                default:
                {
                    var s = Encoding.UTF8.GetBytes(Pick(OddStrings));
                    b.InsertRange(lo + Rng.Next(span + 1), s);
                    break;
                }
            }
        }
        return [.. b];
    }

    /// <summary>A JSON value of a random type (boundary numbers, odd or huge strings, deep nesting included).</summary>
    public JsonNode? Value(int depth = 0)
    {
        switch (Rng.Next(depth > 2 ? 6 : 9))
        {
            case 0: return null;
            case 1: return JsonValue.Create(Rng.Next(2) == 0);
            case 2: return JsonNode.Parse(Pick(BoundaryNumbers));
            case 3: return JsonValue.Create(Pick(OddStrings));
            case 4: return JsonValue.Create(HugeString());
            case 5: return JsonValue.Create(Rng.Next(-5, 100_000));
            case 6: { var a = new JsonArray(); for (var i = Rng.Next(4); i > 0; i--) a.Add(Value(depth + 1)); return a; }
            case 7: { var o = new JsonObject(); for (var i = Rng.Next(4); i > 0; i--) o[Key()] = Value(depth + 1); return o; }
            default: return Nested(Rng.Next(8) == 0 ? 2000 : 1 + Rng.Next(100));
        }
    }

    private static JsonNode Nested(int depth)
    {
        // Built as text: JsonNode would refuse to nest past its own depth limit.
        return JsonNode.Parse(new string('[', Math.Min(depth, 60)) + new string(']', Math.Min(depth, 60)), documentOptions: new JsonDocumentOptions { MaxDepth = 100 })!;
    }

    public string HugeString()
    {
        var n = Rng.Next(5) switch { 0 => 1 << 10, 1 => 1 << 14, 2 => 1 << 17, 3 => 1 << 20, _ => 3 << 20 };
        var unit = Pick(["A", "é", "\ud83d\ude00", "{{", " ", "\\n", "<|im_end|>"]);
        var sb = new StringBuilder(n);
        while (sb.Length < n) sb.Append(unit);
        return sb.ToString();
    }

    private static readonly string[] Keys =
    [
        "model", "prompt", "messages", "role", "content", "images", "stream", "format", "options", "template", "system", "context", "raw",
        "keep_alive", "num_predict", "num_ctx", "temperature", "top_k", "top_p", "seed", "stop", "tools", "tool_calls", "think", "suffix",
        "max_tokens", "n", "logprobs", "response_format", "from", "files", "adapters", "parameters", "license", "quantize", "name", "verbose",
        "image", "image_url", "file", "language", "timestamp_granularities", "__proto__", "", "MODEL", "modelfile",
    ];

    public string Key() => Rng.Next(6) == 0 ? Pick(OddStrings) : Pick(Keys);

    /// <summary>Structure-aware mutation of a JSON document; returns the serialized bytes (sometimes then byte-mutated).</summary>
    public byte[] Json(byte[] json)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 4096 }); }
        catch (JsonException) { return Bytes(json); }
        var rounds = 1 + Rng.Next(4);
        try
        {
            for (var r = 0; r < rounds; r++) root = MutateNode(root, 0);
        }
        catch (InvalidOperationException)
        {
            // A string JsonNode parses but cannot read back (an escaped lone surrogate, as a seed may hold on purpose).
            return Bytes(json);
        }
        string text;
        try { text = root?.ToJsonString(new JsonSerializerOptions { MaxDepth = 4096 }) ?? "null"; }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { return Bytes(json); }
        if (Rng.Next(5) == 0) text = TextLevel(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        return Rng.Next(6) == 0 ? Bytes(bytes, 3) : bytes;
    }

    /// <summary>Mutations JsonNode cannot express: duplicate keys, raw deep nesting, a wrong top-level type, trailing junk.</summary>
    private string TextLevel(string text) => Rng.Next(5) switch
    {
        0 when text.StartsWith('{') && text.Length > 2 => "{" + text[1..^1] + "," + text[1..^1] + "}",
        1 when text.StartsWith('{') => "{\"" + Key() + "\":" + new string('[', 1 + Rng.Next(5000)) + new string(']', Rng.Next(5000)) + "," + text[1..],
        2 => "[" + text + "]",
        3 => text + Pick(["", "x", "}", "\u0000", " {}", "\n{\"a\":1}"]),
        _ => text.Replace(":", Pick([": ", ":\n", ":\t\t"]), StringComparison.Ordinal),
    };

    private JsonNode? MutateNode(JsonNode? node, int depth)
    {
        if (node is JsonObject o && o.Count > 0 && Rng.Next(4) != 0)
        {
            var keys = o.Select(p => p.Key).ToList();
            var key = Pick(keys);
            switch (Rng.Next(6))
            {
                case 0: o.Remove(key); return o;
                case 1: o[Key()] = Value(); return o;
                case 2:
                {
                    var v = o[key];
                    o.Remove(key);
                    var renamed = Rng.Next(3) switch { 0 => key.ToUpperInvariant(), 1 => key + " ", _ => Key() };
                    o[renamed] = v?.DeepClone();
                    return o;
                }
                default:
                    var child = o[key];
                    o[key] = depth < 6 && child is JsonObject or JsonArray ? MutateNode(child?.DeepClone(), depth + 1) : MutateLeaf(child);
                    return o;
            }
        }
        if (node is JsonArray a && a.Count > 0 && Rng.Next(4) != 0)
        {
            var i = Rng.Next(a.Count);
            switch (Rng.Next(5))
            {
                case 0: a.RemoveAt(i); return a;
                // Copies only of small elements: 200 copies of a 3 MiB string (Value makes those), copied again a level
                // up, ran the fuzzer itself out of memory before anything was sent.
                case 1 when Small(a[i]): a.Add(a[i]?.DeepClone()); return a;
                case 2 when Small(a[i]): for (var k = Rng.Next(200); k > 0; k--) a.Add(a[i]?.DeepClone()); return a;
                default:
                    var child = a[i];
                    a[i] = depth < 6 && child is JsonObject or JsonArray ? MutateNode(child?.DeepClone(), depth + 1) : MutateLeaf(child);
                    return a;
            }
        }
        return MutateLeaf(node);
    }

    /// <summary>Whether a node serializes to at most 16 KiB (what may be copied many times over).</summary>
    internal static bool Small(JsonNode? node)
    {
        if (node is null) return true;
        try { return node.ToJsonString(new JsonSerializerOptions { MaxDepth = 4096 }).Length <= 16 << 10; }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { return false; }
    }

    private JsonNode? MutateLeaf(JsonNode? leaf)
    {
        if (leaf is JsonValue v && Rng.Next(2) == 0)
        {
            if (v.TryGetValue<string>(out var s))
                return Rng.Next(3) switch
                {
                    0 => JsonValue.Create(Encoding.UTF8.GetString(Bytes(Encoding.UTF8.GetBytes(s), 3))),
                    1 => JsonValue.Create(s + Pick(OddStrings)),
                    _ => JsonValue.Create(Pick(OddStrings)),
                };
            if (v.TryGetValue<double>(out _)) return JsonNode.Parse(Pick(BoundaryNumbers));
        }
        return Value();
    }
}
