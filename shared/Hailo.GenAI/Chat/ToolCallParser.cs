using System.Text.Json;

namespace Hailo.GenAI.Chat;

/// <summary>
/// Finds tool calls in a model's reply: Qwen's &lt;tool_call&gt;{"name", "arguments"}&lt;/tool_call&gt; blocks, and
/// Llama 3's bare JSON object {"name", "parameters"|"arguments"}. Text that is not a well-formed call stays content.
/// </summary>
public static class ToolCallParser
{
    public sealed record Result(string Content, IReadOnlyList<ToolCall> Calls);

    public static Result Parse(string text, TemplateFamily family, IReadOnlySet<string>? knownTools = null)
    {
        var calls = new List<ToolCall>();
        if (family == TemplateFamily.ChatMl || text.Contains("<tool_call>", StringComparison.Ordinal))
        {
            var content = new System.Text.StringBuilder();
            var pos = 0;
            while (true)
            {
                var open = text.IndexOf("<tool_call>", pos, StringComparison.Ordinal);
                if (open < 0) { content.Append(text, pos, text.Length - pos); break; }
                var close = text.IndexOf("</tool_call>", open, StringComparison.Ordinal);
                var body = close < 0 ? text[(open + 11)..] : text[(open + 11)..close];
                if (TryCall(body, knownTools) is { } call)
                {
                    content.Append(text, pos, open - pos);
                    calls.Add(call);
                    pos = close < 0 ? text.Length : close + 12;
                }
                else
                {
                    content.Append(text, pos, (close < 0 ? text.Length : close + 12) - pos);
                    pos = close < 0 ? text.Length : close + 12;
                }
                if (pos >= text.Length) break;
            }
            if (calls.Count > 0) return new Result(content.ToString().Trim(), calls);
        }
        var trimmed = text.Trim();
        if (trimmed.StartsWith("<|python_tag|>", StringComparison.Ordinal)) trimmed = trimmed[14..].Trim();
        if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
        {
            foreach (var part in trimmed.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                try
                {
                    using var doc = JsonDocument.Parse(part);
                    if (doc.RootElement.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var e in doc.RootElement.EnumerateArray())
                            if (FromObject(e, knownTools) is { } c) calls.Add(c);
                            else return new Result(text, []);
                    }
                    else if (FromObject(doc.RootElement, knownTools) is { } c) calls.Add(c);
                    else return new Result(text, []);
                }
                catch (JsonException)
                {
                    return new Result(text, []);
                }
            }
            if (calls.Count > 0) return new Result("", calls);
        }
        return new Result(text, []);
    }

    private static ToolCall? TryCall(string body, IReadOnlySet<string>? known)
    {
        try
        {
            using var doc = JsonDocument.Parse(body.Trim());
            return FromObject(doc.RootElement, known);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ToolCall? FromObject(JsonElement e, IReadOnlySet<string>? known)
    {
        if (e.ValueKind != JsonValueKind.Object) return null;
        if (!e.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String) return null;
        var name = n.GetString()!;
        if (known is not null && !known.Contains(name)) return null;
        JsonElement args;
        if (e.TryGetProperty("arguments", out var a) || e.TryGetProperty("parameters", out a))
        {
            // Some models write the arguments as a JSON string.
            if (a.ValueKind == JsonValueKind.String)
            {
                try
                {
                    using var inner = JsonDocument.Parse(a.GetString()!);
                    args = inner.RootElement.Clone();
                }
                catch (JsonException)
                {
                    return null;
                }
            }
            else if (a.ValueKind == JsonValueKind.Object) args = a.Clone();
            else return null;
        }
        else
        {
            using var empty = JsonDocument.Parse("{}");
            args = empty.RootElement.Clone();
        }
        return new ToolCall(name, args);
    }
}
