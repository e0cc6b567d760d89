using System.Text;

namespace Hailo.GenAI.Chat;

/// <summary>
/// The subset of Go's text/template that Ollama's simple prompt templates use: {{ .System }}, {{ .Prompt }},
/// {{ .Response }}, {{ if .X }}…{{ else }}…{{ end }} and the {{- / -}} whitespace trimming. A template that uses
/// anything else (range over .Messages, functions) is refused with a message naming the construct.
/// Parsing and rendering are loops, not recursion, and a template is limited in length and in how deeply its
/// {{ if }} blocks nest, so no template can exhaust the stack or the processor.
/// </summary>
public static class GoTemplate
{
    /// <summary>The longest template accepted, in characters.</summary>
    public const int MaxLength = 64 * 1024;
    /// <summary>The deepest nesting of {{ if }} blocks accepted.</summary>
    public const int MaxDepth = 100;

    public static string Render(string template, IReadOnlyDictionary<string, string> values) => Parse(template).Render(values);

    /// <summary>Checks a template (length, nesting, constructs) and returns it ready to render.</summary>
    /// <exception cref="FormatException">the template is refused; the message says why.</exception>
    public static Parsed Parse(string template)
    {
        if (template.Length > MaxLength)
            throw new FormatException($"template: {template.Length} characters is longer than the {MaxLength} allowed");
        var tokens = Lex(template);
        var jump = new int[tokens.Count]; // if → its else or end; else → its end
        var open = new Stack<int>();
        for (var i = 0; i < tokens.Count; i++)
        {
            var tok = tokens[i];
            if (!tok.IsAction) continue;
            var a = tok.Text;
            if (a.StartsWith("if ", StringComparison.Ordinal))
            {
                Field(a[3..].Trim(), null);
                if (open.Count == MaxDepth)
                    throw new FormatException($"template: {{{{ if }}}} blocks nest more than {MaxDepth} deep");
                open.Push(i);
            }
            else if (a == "else")
            {
                if (open.Count == 0 || tokens[open.Peek()].Text == "else") throw new FormatException("template: {{ else }} without {{ if }}");
                jump[open.Pop()] = i;
                open.Push(i);
            }
            else if (a == "end")
            {
                if (open.Count == 0) throw new FormatException("template: {{ end }} without {{ if }}");
                jump[open.Pop()] = i;
            }
            else if (!a.StartsWith("/*", StringComparison.Ordinal)) Field(a, null);
        }
        if (open.Count > 0) throw new FormatException("template: {{ if }} without {{ end }}");
        return new Parsed(tokens, jump);
    }

    /// <summary>A checked template.</summary>
    public sealed class Parsed
    {
        private readonly List<Token> _tokens;
        private readonly int[] _jump;

        internal Parsed(List<Token> tokens, int[] jump)
        {
            _tokens = tokens;
            _jump = jump;
        }

        public string Render(IReadOnlyDictionary<string, string> values)
        {
            var sb = new StringBuilder();
            var pos = 0;
            while (pos < _tokens.Count)
            {
                var tok = _tokens[pos];
                if (!tok.IsAction) { sb.Append(tok.Text); pos++; continue; }
                var a = tok.Text;
                if (a.StartsWith("if ", StringComparison.Ordinal))
                {
                    // True: into the block; false: past its else (or its end).
                    pos = Field(a[3..].Trim(), values).Length > 0 ? pos + 1 : _jump[pos] + 1;
                }
                else if (a == "else") pos = _jump[pos] + 1; // reached from the true branch: skip to the end
                else if (a == "end" || a.StartsWith("/*", StringComparison.Ordinal)) pos++;
                else { sb.Append(Field(a, values)); pos++; }
            }
            return sb.ToString();
        }
    }

    internal sealed record Token(bool IsAction, string Text);

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

    /// <summary>The value of a field expression (null values: only check that it is one).</summary>
    private static string Field(string expr, IReadOnlyDictionary<string, string>? values)
    {
        if (expr.Length > 1 && expr[0] == '.' && expr.AsSpan(1).IndexOfAny(" (|") < 0)
            return values is not null && values.TryGetValue(expr[1..], out var v) ? v : "";
        throw new FormatException($"template: '{{{{ {expr} }}}}' is not supported (only .System, .Prompt, .Response, if/else/end)");
    }
}
