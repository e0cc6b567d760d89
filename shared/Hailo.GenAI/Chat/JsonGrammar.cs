using System.Text;
using System.Text.Json;

namespace Hailo.GenAI.Chat;

/// <summary>
/// GBNF grammars (llama.cpp's grammar format) for `format`: "json" → any JSON object; a JSON schema → JSON matching
/// it. Supported schema subset: type (object, array, string, number, integer, boolean, null, or a list of them),
/// properties with required (required ones first in the order given, then the optional ones, each optional in that
/// order; an object schema with no "required" requires all its properties), items, enum, const, anyOf/oneOf,
/// minItems/maxItems (0 or 1 minimum only). Everything else (patterns, formats, numeric ranges, additionalProperties)
/// is not enforced; a schema this does not understand becomes "any JSON value".
/// </summary>
public static class JsonGrammar
{
    private const string Common = """
        ws ::= [ \t\n]{0,20}
        string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\""
        number ::= "-"? ( [0] | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?
        integer ::= "-"? ( [0] | [1-9] [0-9]{0,15} )
        boolean ::= "true" | "false"
        null ::= "null"
        value ::= object | array | string | number | boolean | null
        object ::= "{" ws ( string ":" ws value ( "," ws string ":" ws value )* )? ws "}"
        array ::= "[" ws ( value ( "," ws value )* )? ws "]"
        """;

    /// <summary>Any JSON object (Ollama's format: "json").</summary>
    public static string AnyObject() => "root ::= object\n" + Common;

    public static string FromSchema(JsonElement schema)
    {
        var rules = new List<string>();
        var counter = 0;
        var root = Rule(schema, rules, ref counter, 0);
        var sb = new StringBuilder();
        sb.Append("root ::= ").Append(root).Append('\n');
        foreach (var r in rules) sb.Append(r).Append('\n');
        sb.Append(Common);
        return sb.ToString();
    }

    private static string Literal(string jsonText)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in jsonText)
        {
            if (c is '"' or '\\') sb.Append('\\');
            if (c == '\n') { sb.Append("\\n"); continue; }
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    private static string Rule(JsonElement s, List<string> rules, ref int counter, int depth)
    {
        if (depth > 32 || s.ValueKind != JsonValueKind.Object) return "value";
        if (s.TryGetProperty("const", out var cst)) return Literal(cst.GetRawText());
        if (s.TryGetProperty("enum", out var en) && en.ValueKind == JsonValueKind.Array && en.GetArrayLength() > 0)
            return "( " + string.Join(" | ", en.EnumerateArray().Select(v => Literal(v.GetRawText()))) + " )";
        foreach (var key in (string[])["anyOf", "oneOf"])
            if (s.TryGetProperty(key, out var alts) && alts.ValueKind == JsonValueKind.Array && alts.GetArrayLength() > 0)
            {
                var parts = new List<string>();
                foreach (var a in alts.EnumerateArray()) parts.Add(Rule(a, rules, ref counter, depth + 1));
                return "( " + string.Join(" | ", parts) + " )";
            }
        if (s.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.Array)
            {
                var parts = new List<string>();
                foreach (var t in type.EnumerateArray())
                    if (t.ValueKind == JsonValueKind.String) parts.Add(ForType(t.GetString()!, s, rules, ref counter, depth));
                return parts.Count == 0 ? "value" : "( " + string.Join(" | ", parts) + " )";
            }
            if (type.ValueKind == JsonValueKind.String) return ForType(type.GetString()!, s, rules, ref counter, depth);
        }
        if (s.TryGetProperty("properties", out _)) return ForType("object", s, rules, ref counter, depth);
        return "value";
    }

    private static string ForType(string type, JsonElement s, List<string> rules, ref int counter, int depth)
    {
        switch (type)
        {
            case "string": return "string";
            case "number": return "number";
            case "integer": return "integer";
            case "boolean": return "boolean";
            case "null": return "null";
            case "array":
            {
                var item = s.TryGetProperty("items", out var items) ? Rule(items, rules, ref counter, depth + 1) : "value";
                var min = s.TryGetProperty("minItems", out var mi) && mi.TryGetInt32(out var m) ? m : 0;
                var name = "arr" + counter++;
                rules.Add(min > 0
                    ? $"{name} ::= \"[\" ws {item} ( \",\" ws {item} )* ws \"]\""
                    : $"{name} ::= \"[\" ws ( {item} ( \",\" ws {item} )* )? ws \"]\"");
                return name;
            }
            case "object":
            {
                if (!s.TryGetProperty("properties", out var props) || props.ValueKind != JsonValueKind.Object || !props.EnumerateObject().Any())
                    return "object";
                var required = new HashSet<string>(StringComparer.Ordinal);
                var hasRequired = s.TryGetProperty("required", out var req) && req.ValueKind == JsonValueKind.Array;
                if (hasRequired) foreach (var r in req.EnumerateArray()) if (r.ValueKind == JsonValueKind.String) required.Add(r.GetString()!);
                var all = props.EnumerateObject().ToList();
                var ordered = hasRequired && required.Count > 0
                    ? all.Where(p => required.Contains(p.Name)).Concat(all.Where(p => !required.Contains(p.Name))).ToList()
                    : all;
                var sb = new StringBuilder("\"{\" ws ");
                var first = true;
                foreach (var p in ordered)
                {
                    var valueRule = Rule(p.Value, rules, ref counter, depth + 1);
                    var kv = Literal(JsonSerializer.Serialize(p.Name, PyJsonContext.Default.String)) + " ws \":\" ws " + valueRule;
                    var optional = hasRequired && required.Count > 0 && !required.Contains(p.Name);
                    var piece = first ? kv : "\",\" ws " + kv;
                    sb.Append(optional ? "( " + piece + " )? " : piece + " ");
                    first = false;
                }
                sb.Append("ws \"}\"");
                var name = "obj" + counter++;
                rules.Add($"{name} ::= {sb}");
                return name;
            }
            default: return "value";
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class PyJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
