using System.Globalization;
using System.Text.Json;
using Hailo.GenAI;
using Hailo.Hosting.Http;
using Microsoft.AspNetCore.Http;

namespace Hailo.GenAI.Http;

/// <summary>
/// Request bodies of the Ollama and OpenAI APIs, read as JSON documents whatever the content type says (curl -d sends form-urlencoded, and Ollama
/// clients rely on that). Field accessors check types and answer 400 naming the field.
/// </summary>
public static class RequestJson
{
    public static async Task<JsonDocument> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        var body = await JsonBody.ReadAllAsync(request, ct).ConfigureAwait(false);
        if (JsonBody.Utf8Problem(body.Span) is { } encoding) throw Err.Bad(encoding, code: "invalid_json");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 128 });
        }
        catch (JsonException)
        {
            // Said from the body itself: the exception's text names .NET internals (a bare resource key under AOT).
            var problem = JsonBody.SyntaxProblem(body.Span, new JsonReaderOptions { MaxDepth = 128 }) ?? "the body is nested more than 128 levels deep";
            throw Err.Bad(problem, code: "invalid_json");
        }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            var kind = doc.RootElement.ValueKind;
            doc.Dispose();
            throw Err.Bad($"the request body must be a JSON object, not {Kind(kind)}", code: "invalid_json");
        }
        return doc;
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "true or false",
        _ => "null",
    };

    public static string? Str(this JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw Err.Bad($"'{name}' must be a string", name);
        return v.GetString();
    }

    public static bool? Bool(this JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Err.Bad($"'{name}' must be true or false", name),
        };
    }

    public static double? Num(this JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d)) return d;
        throw Err.Bad($"'{name}' must be a number", name);
    }

    public static int? Int(this JsonElement o, string name)
    {
        var d = o.Num(name);
        if (d is null) return null;
        if (d != Math.Floor(d.Value) || d < int.MinValue || d > int.MaxValue) throw Err.Bad($"'{name}' must be an integer", name);
        return (int)d.Value;
    }

    public static string Model(this JsonElement o, string field = "model")
    {
        var raw = o.Str(field);
        if (string.IsNullOrWhiteSpace(raw) && field == "model") raw = o.Str("name"); // older clients send "name"
        if (string.IsNullOrWhiteSpace(raw)) throw Err.Bad($"'{field}' is required", field);
        if (!ModelName.TryNormalise(raw, out var name)) throw Err.Bad($"'{Hailo.Core.ClientText.Quote(raw)}' is not a valid model name (name or name:tag)", field);
        return name;
    }

    /// <summary>keep_alive as a number of seconds or a duration string; null when absent.</summary>
    public static TimeSpan? KeepAlive(this JsonElement o)
    {
        if (!o.TryGetProperty("keep_alive", out var v) || v.ValueKind == JsonValueKind.Null) return null;
        var text = v.ValueKind switch
        {
            JsonValueKind.Number => v.TryGetDouble(out var d) ? d.ToString(CultureInfo.InvariantCulture) : null,
            JsonValueKind.String => v.GetString(),
            _ => null,
        };
        if (!KeepAliveValue.TryParse(text, out var ka))
            throw Err.Bad("'keep_alive' must be a duration such as \"5m\", \"1h30m\" or \"300s\" (units ns, us, ms, s, m, h), a number of seconds, " +
                $"a negative value such as -1 (keep the model loaded) or 0 (unload it after the request); got {v.GetRawText()}", "keep_alive");
        return ka;
    }

    /// <summary>Ollama's options map, on top of a model's stored parameters; unknown keys are ignored as Ollama does.</summary>
    public static SamplingOptions Options(JsonElement? options, IReadOnlyDictionary<string, JsonElement>? modelParameters, int maxNumCtx)
    {
        var o = new SamplingOptions();
        if (modelParameters is not null) o = Apply(o, modelParameters, maxNumCtx, "parameters");
        if (options is { ValueKind: JsonValueKind.Object } opts)
        {
            var map = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var p in opts.EnumerateObject()) map[p.Name] = p.Value;
            o = Apply(o, map, maxNumCtx, "options");
        }
        else if (options is { } bad && bad.ValueKind != JsonValueKind.Null) throw Err.Bad("'options' must be an object", "options");
        return o;
    }

    private static SamplingOptions Apply(SamplingOptions o, IReadOnlyDictionary<string, JsonElement> map, int maxNumCtx, string where)
    {
        double? N(string k)
        {
            if (!map.TryGetValue(k, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d)) return d;
            throw Err.Bad($"{where}.{k} must be a number, got {v.GetRawText()}", k);
        }
        int? I(string k)
        {
            var d = N(k);
            if (d is null) return null;
            if (d != Math.Floor(d.Value) || Math.Abs(d.Value) > int.MaxValue) throw Err.Bad($"{where}.{k} must be an integer, got {d}", k);
            return (int)d.Value;
        }
        if (N("temperature") is { } t) { if (t < 0 || t > 100) throw Err.Bad($"{where}.temperature must be at least 0, got {t}", "temperature"); o = o with { Temperature = (float)t }; }
        if (I("top_k") is { } k) { if (k < 0) throw Err.Bad($"{where}.top_k must not be negative, got {k}", "top_k"); o = o with { TopK = k }; }
        if (N("top_p") is { } tp) { if (tp is < 0 or > 1) throw Err.Bad($"{where}.top_p must be between 0 and 1, got {tp}", "top_p"); o = o with { TopP = (float)tp }; }
        if (N("min_p") is { } mp) { if (mp is < 0 or > 1) throw Err.Bad($"{where}.min_p must be between 0 and 1, got {mp}", "min_p"); o = o with { MinP = (float)mp }; }
        if (N("typical_p") is { } ty) { if (ty is < 0 or > 1) throw Err.Bad($"{where}.typical_p must be between 0 and 1, got {ty}", "typical_p"); o = o with { TypicalP = (float)ty }; }
        if (N("repeat_penalty") is { } rp) { if (rp < 0) throw Err.Bad($"{where}.repeat_penalty must not be negative, got {rp}", "repeat_penalty"); o = o with { RepeatPenalty = (float)rp }; }
        if (I("repeat_last_n") is { } rl) { if (rl < -1) throw Err.Bad($"{where}.repeat_last_n must be -1 or more, got {rl}", "repeat_last_n"); o = o with { RepeatLastN = rl }; }
        if (N("presence_penalty") is { } pp) { if (pp is < -2 or > 2) throw Err.Bad($"{where}.presence_penalty must be between -2 and 2, got {pp}", "presence_penalty"); o = o with { PresencePenalty = (float)pp }; }
        if (N("frequency_penalty") is { } fp) { if (fp is < -2 or > 2) throw Err.Bad($"{where}.frequency_penalty must be between -2 and 2, got {fp}", "frequency_penalty"); o = o with { FrequencyPenalty = (float)fp }; }
        if (map.TryGetValue("seed", out var sv) && sv.ValueKind == JsonValueKind.Number)
        {
            if (!sv.TryGetInt64(out var seed)) throw Err.Bad($"{where}.seed must be an integer", "seed");
            o = o with { Seed = seed < 0 ? null : (uint)(seed & 0xFFFFFFFF) };
        }
        else if (map.TryGetValue("seed", out sv) && sv.ValueKind != JsonValueKind.Null) throw Err.Bad($"{where}.seed must be an integer", "seed");
        if (I("num_predict") is { } np)
        {
            if (np < -2) throw Err.Bad($"{where}.num_predict must be -1 (no limit), -2 (fill the context) or a positive count, got {np}", "num_predict");
            o = o with { NumPredict = np == -2 ? -1 : np };
        }
        if (I("num_ctx") is { } nc)
        {
            if (nc < 1 || nc > maxNumCtx) throw Err.Bad($"{where}.num_ctx must be between 1 and {maxNumCtx} (ollama.max_num_ctx), got {nc}", "num_ctx");
            o = o with { NumCtx = Math.Max(nc, 32) };
        }
        if (I("num_thread") is { } nt) { if (nt < 0 || nt > 256) throw Err.Bad($"{where}.num_thread must be between 0 and 256", "num_thread"); }
        if (map.TryGetValue("stop", out var stop) && stop.ValueKind != JsonValueKind.Null) o = o with { Stop = Stops(stop, $"{where}.stop") };
        return o;
    }

    public static IReadOnlyList<string> Stops(JsonElement stop, string name)
    {
        if (stop.ValueKind == JsonValueKind.String) return stop.GetString() is { Length: > 0 } s ? [s] : [];
        if (stop.ValueKind != JsonValueKind.Array) throw Err.Bad($"{name} must be a string or an array of strings", "stop");
        var list = new List<string>();
        foreach (var e in stop.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String) throw Err.Bad($"{name} must be a string or an array of strings", "stop");
            if (e.GetString() is { Length: > 0 } s) list.Add(s);
        }
        return list;
    }
}
