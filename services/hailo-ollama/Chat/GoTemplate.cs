using System.Text;

namespace HailoOllama.Chat;

/// <summary>
/// The subset of Go's text/template that Ollama's simple prompt templates use: {{ .System }}, {{ .Prompt }},
/// {{ .Response }}, {{ if .X }}…{{ else }}…{{ end }} and the {{- / -}} whitespace trimming. A template that uses
/// anything else (range over .Messages, functions) is refused with a message naming the construct.
/// </summary>
public static class GoTemplate
{
    public static string Render(string template, IReadOnlyDictionary<string, string> values)
    {
        var tokens = Lex(template);
        var pos = 0;
        var sb = new StringBuilder();
        Eval(tokens, ref pos, values, sb, emit: true, stopAtElseOrEnd: false);
        if (pos < tokens.Count) throw new FormatException($"template: unexpected {{{{ {tokens[pos].Text} }}}}");
        return sb.ToString();
    }

    private sealed record Token(bool IsAction, string Text);

    private static List<Token> Lex(string t)
    {
        var list = new List<Token>();
        var i = 0;
        var pendingTrimLeft = false;
        while (i < t.Length)
        {
            var open = t.IndexOf("{{", i, StringComparison.Ordinal);
            var text = open < 0 ? t[i..] : t[i..open];
            if (pendingTrimLeft) text = text.TrimStart();
            pendingTrimLeft = false;
            if (open < 0) { if (text.Length > 0) list.Add(new Token(false, text)); break; }
            var close = t.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0) throw new FormatException("template: unclosed {{");
            var action = t[(open + 2)..close];
            if (action.StartsWith('-')) { text = text.TrimEnd(); action = action[1..]; }
            if (action.EndsWith('-')) { pendingTrimLeft = true; action = action[..^1]; }
            if (text.Length > 0) list.Add(new Token(false, text));
            list.Add(new Token(true, action.Trim()));
            i = close + 2;
        }
        return list;
    }

    private static string Eval(List<Token> tokens, ref int pos, IReadOnlyDictionary<string, string> values, StringBuilder sb, bool emit, bool stopAtElseOrEnd)
    {
        while (pos < tokens.Count)
        {
            var tok = tokens[pos];
            if (!tok.IsAction)
            {
                if (emit) sb.Append(tok.Text);
                pos++;
                continue;
            }
            var a = tok.Text;
            if (a is "end" or "else")
            {
                if (!stopAtElseOrEnd) throw new FormatException($"template: {{{{ {a} }}}} without {{{{ if }}}}");
                return a;
            }
            pos++;
            if (a.StartsWith("if ", StringComparison.Ordinal))
            {
                var cond = Field(a[3..].Trim(), values).Length > 0;
                var stop = Eval(tokens, ref pos, values, sb, emit && cond, true);
                pos++;
                if (stop == "else")
                {
                    stop = Eval(tokens, ref pos, values, sb, emit && !cond, true);
                    pos++;
                }
                if (stop != "end") throw new FormatException("template: {{ if }} without {{ end }}");
                continue;
            }
            if (a.StartsWith("/*", StringComparison.Ordinal)) continue; // comment
            if (emit) sb.Append(Field(a, values));
        }
        if (stopAtElseOrEnd) throw new FormatException("template: {{ if }} without {{ end }}");
        return "";
    }

    private static string Field(string expr, IReadOnlyDictionary<string, string> values)
    {
        if (expr.Length > 1 && expr[0] == '.' && expr.AsSpan(1).IndexOfAny(" (|") < 0)
            return values.TryGetValue(expr[1..], out var v) ? v : "";
        throw new FormatException($"template: '{{{{ {expr} }}}}' is not supported (only .System, .Prompt, .Response, if/else/end)");
    }
}
