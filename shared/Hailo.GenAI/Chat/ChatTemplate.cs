using System.Text;
using System.Text.Json;

namespace Hailo.GenAI.Chat;

/// <summary>A tool call the model made: the function's name and its arguments as a JSON object.</summary>
public sealed record ToolCall(string Name, JsonElement Arguments, string? Id = null);

/// <summary>One chat turn as the template sees it; a vision model's turn may carry images (in the order sent).</summary>
public sealed record ChatTurn(string Role, string Content, IReadOnlyList<ToolCall>? ToolCalls = null, string? ToolName = null,
    IReadOnlyList<ChatImage>? Images = null);

/// <summary>
/// An image of a chat turn, decoded and upright: 8-bit RGB pixels, row by row (Width × Height × 3 bytes), at the size
/// the service decoded it to (<see cref="SourceWidth"/>/<see cref="SourceHeight"/> keep the size sent).
/// </summary>
public sealed record ChatImage(byte[] Rgb, int Width, int Height, int SourceWidth, int SourceHeight);

/// <summary>The chat template families this service renders itself, byte for byte as their Jinja templates do.</summary>
public enum TemplateFamily
{
    /// <summary>Qwen2 / Qwen2.5 ChatML (&lt;|im_start|&gt;role\n…&lt;|im_end|&gt;), with Qwen's tool-call block.</summary>
    ChatMl,
    /// <summary>Llama 3 (3.0): &lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\n…&lt;|eot_id|&gt;.</summary>
    Llama3,
    /// <summary>Llama 3.1 / 3.2: Llama 3 plus the knowledge-date system header and JSON tool calls.</summary>
    Llama31,
}

/// <summary>
/// Renders conversations for the families this service knows. The family comes from the GGUF's
/// tokenizer.chat_template (recognised by its markers); a file without one has none.
/// </summary>
public sealed class ChatTemplate
{
    public const string QwenDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
    public const string Qwen2DefaultSystem = "You are a helpful assistant.";
    /// <summary>The date Llama 3.1's template writes when it is given none.</summary>
    public const string Llama31DefaultDate = "26 Jul 2024";

    public TemplateFamily Family { get; }
    /// <summary>The system prompt the model's template adds when a conversation has none (Qwen's), or null.</summary>
    public string? DefaultSystem { get; }
    /// <summary>The template text this was recognised from (shown by /api/show), or a description of the built-in one.</summary>
    public string Source { get; }
    /// <summary>Strings that end a reply.</summary>
    public IReadOnlyList<string> StopStrings { get; }

    private ChatTemplate(TemplateFamily family, string? defaultSystem, string source)
    {
        Family = family;
        DefaultSystem = defaultSystem;
        Source = source;
        StopStrings = family == TemplateFamily.ChatMl ? ["<|im_end|>", "<|endoftext|>"] : ["<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"];
    }

    public static ChatTemplate ChatMl(string? defaultSystem = QwenDefaultSystem) => new(TemplateFamily.ChatMl, defaultSystem, "chatml");
    public static ChatTemplate Llama3() => new(TemplateFamily.Llama3, null, "llama3");
    public static ChatTemplate Llama31() => new(TemplateFamily.Llama31, null, "llama3.1");

    /// <summary>
    /// The family of a Jinja chat template, or null when it is none this service renders. ChatML templates that
    /// insert a default system prompt (Qwen2.5: "You are Qwen, …"; Qwen2: "You are a helpful assistant.") keep it.
    /// A file without a template (a base model) has no family whatever its architecture: it is prompted as Ollama
    /// prompts one (<see cref="NoTemplate"/>).
    /// </summary>
    public static ChatTemplate? Recognise(string? jinja, string? architecture)
    {
        _ = architecture;
        if (string.IsNullOrEmpty(jinja)) return null;
        if (jinja.Contains("<|im_start|>", StringComparison.Ordinal))
        {
            var system = jinja.Contains(QwenDefaultSystem, StringComparison.Ordinal) ? QwenDefaultSystem
                : jinja.Contains(Qwen2DefaultSystem, StringComparison.Ordinal) ? Qwen2DefaultSystem : null;
            return new ChatTemplate(TemplateFamily.ChatMl, system, jinja);
        }
        if (jinja.Contains("<|start_header_id|>", StringComparison.Ordinal))
            return jinja.Contains("Cutting Knowledge Date", StringComparison.Ordinal)
                ? new ChatTemplate(TemplateFamily.Llama31, null, jinja)
                : new ChatTemplate(TemplateFamily.Llama3, null, jinja);
        return null;
    }

    /// <summary>The prompt for <paramref name="turns"/>, ending with the assistant's header so the model answers.</summary>
    /// <param name="tools">Tool definitions as JSON ({"type":"function","function":{…}}), or none.</param>
    public string Render(IReadOnlyList<ChatTurn> turns, IReadOnlyList<JsonElement>? tools = null, bool addGenerationPrompt = true) => Family switch
    {
        TemplateFamily.ChatMl => RenderChatMl(turns, tools, addGenerationPrompt),
        _ => RenderLlama3(turns, tools, addGenerationPrompt),
    };

    private string RenderChatMl(IReadOnlyList<ChatTurn> turns, IReadOnlyList<JsonElement>? tools, bool addGenerationPrompt)
    {
        var sb = new StringBuilder();
        var start = 0;
        var hasSystem = turns.Count > 0 && turns[0].Role == "system";
        if (tools is { Count: > 0 })
        {
            sb.Append("<|im_start|>system\n").Append(hasSystem ? turns[0].Content : DefaultSystem ?? QwenDefaultSystem);
            sb.Append("\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n");
            sb.Append("You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
            foreach (var t in tools) sb.Append('\n').Append(PyJson.Serialize(t));
            sb.Append("\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n");
            sb.Append("<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n");
            if (hasSystem) start = 1;
        }
        else if (hasSystem)
        {
            sb.Append("<|im_start|>system\n").Append(turns[0].Content).Append("<|im_end|>\n");
            start = 1;
        }
        else if (DefaultSystem is not null)
        {
            sb.Append("<|im_start|>system\n").Append(DefaultSystem).Append("<|im_end|>\n");
        }
        for (var i = start; i < turns.Count; i++)
        {
            var m = turns[i];
            if (m.Role == "tool")
            {
                if (i == start || turns[i - 1].Role != "tool") sb.Append("<|im_start|>user");
                sb.Append("\n<tool_response>\n").Append(m.Content).Append("\n</tool_response>");
                if (i == turns.Count - 1 || turns[i + 1].Role != "tool") sb.Append("<|im_end|>\n");
            }
            else if (m.Role == "assistant" && m.ToolCalls is { Count: > 0 })
            {
                sb.Append("<|im_start|>assistant");
                if (m.Content.Length > 0) sb.Append('\n').Append(m.Content);
                foreach (var c in m.ToolCalls)
                {
                    sb.Append("\n<tool_call>\n{\"name\": \"").Append(c.Name).Append("\", \"arguments\": ")
                      .Append(PyJson.Serialize(c.Arguments)).Append("}\n</tool_call>");
                }
                sb.Append("<|im_end|>\n");
            }
            else
            {
                sb.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
            }
        }
        if (addGenerationPrompt) sb.Append("<|im_start|>assistant\n");
        return sb.ToString();
    }

    private string RenderLlama3(IReadOnlyList<ChatTurn> turns, IReadOnlyList<JsonElement>? tools, bool addGenerationPrompt)
    {
        var sb = new StringBuilder("<|begin_of_text|>");
        static void Header(StringBuilder sb, string role) => sb.Append("<|start_header_id|>").Append(role).Append("<|end_header_id|>\n\n");
        var start = 0;
        if (Family == TemplateFamily.Llama31)
        {
            var system = "";
            if (turns.Count > 0 && turns[0].Role == "system")
            {
                system = turns[0].Content.Trim();
                start = 1;
            }
            Header(sb, "system");
            if (tools is { Count: > 0 }) sb.Append("Environment: ipython\n");
            sb.Append("Cutting Knowledge Date: December 2023\nToday Date: ").Append(Llama31DefaultDate).Append("\n\n");
            sb.Append(system).Append("<|eot_id|>");
            var toolsPending = tools is { Count: > 0 };
            for (var i = start; i < turns.Count; i++)
            {
                var m = turns[i];
                if (toolsPending && m.Role == "user")
                {
                    // Llama 3.1's default: the tool definitions go into the first user message.
                    toolsPending = false;
                    Header(sb, "user");
                    sb.Append("Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n");
                    sb.Append("Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n");
                    foreach (var t in tools!) sb.Append(PyJson.Serialize(t, indent: 4)).Append("\n\n");
                    sb.Append(m.Content.Trim()).Append("<|eot_id|>");
                    continue;
                }
                AppendLlamaTurn(sb, m, Header, ipython: true);
            }
        }
        else
        {
            for (var i = 0; i < turns.Count; i++) AppendLlamaTurn(sb, turns[i], Header, ipython: false);
        }
        if (addGenerationPrompt) Header(sb, "assistant");
        return sb.ToString();
    }

    private static void AppendLlamaTurn(StringBuilder sb, ChatTurn m, Action<StringBuilder, string> header, bool ipython)
    {
        if (m.Role == "assistant" && m.ToolCalls is { Count: > 0 })
        {
            header(sb, "assistant");
            var c = m.ToolCalls[0];
            sb.Append("{\"name\": \"").Append(c.Name).Append("\", \"parameters\": ").Append(PyJson.Serialize(c.Arguments)).Append('}').Append("<|eot_id|>");
            return;
        }
        if (m.Role == "tool")
        {
            header(sb, ipython ? "ipython" : "tool");
            sb.Append(m.Content.Trim()).Append("<|eot_id|>");
            return;
        }
        header(sb, m.Role);
        sb.Append(m.Content.Trim()).Append("<|eot_id|>");
    }
}

/// <summary>
/// How a model without a chat template is prompted, as Ollama does with its default template <c>{{ .Prompt }}</c>:
/// generate sends the prompt as it is (a system prompt goes before it, separated by a blank line); a chat becomes a
/// plain transcript, one "Role: content" line per turn, ending with "Assistant:" for the model to continue.
/// </summary>
public static class NoTemplate
{
    /// <summary>Ends a transcript reply where the model starts writing the user's next turn.</summary>
    public static IReadOnlyList<string> StopStrings { get; } = ["\nUser:"];

    public static string Prompt(string? system, string prompt) => string.IsNullOrEmpty(system) ? prompt : system + "\n\n" + prompt;

    public static string Transcript(IReadOnlyList<ChatTurn> turns)
    {
        var sb = new StringBuilder();
        foreach (var t in turns)
        {
            sb.Append(t.Role switch { "system" => "System", "user" => "User", "assistant" => "Assistant", "tool" => "Tool", _ => t.Role })
              .Append(": ").Append(t.Content.Trim()).Append('\n');
        }
        return sb.Append("Assistant:").ToString();
    }
}

/// <summary>JSON as Jinja's tojson (Python json.dumps) writes it: ", " and ": " separators, optional indent, non-ASCII kept.</summary>
public static class PyJson
{
    public static string Serialize(JsonElement e, int? indent = null)
    {
        var sb = new StringBuilder();
        Write(sb, e, indent, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonElement e, int? indent, int depth)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
            {
                if (!e.EnumerateObject().Any()) { sb.Append("{}"); return; }
                sb.Append('{');
                var first = true;
                foreach (var p in e.EnumerateObject())
                {
                    if (!first) sb.Append(indent is null ? ", " : ",");
                    first = false;
                    NewLine(sb, indent, depth + 1);
                    WriteString(sb, p.Name);
                    sb.Append(": ");
                    Write(sb, p.Value, indent, depth + 1);
                }
                NewLine(sb, indent, depth);
                sb.Append('}');
                return;
            }
            case JsonValueKind.Array:
            {
                if (e.GetArrayLength() == 0) { sb.Append("[]"); return; }
                sb.Append('[');
                var first = true;
                foreach (var v in e.EnumerateArray())
                {
                    if (!first) sb.Append(indent is null ? ", " : ",");
                    first = false;
                    NewLine(sb, indent, depth + 1);
                    Write(sb, v, indent, depth + 1);
                }
                NewLine(sb, indent, depth);
                sb.Append(']');
                return;
            }
            case JsonValueKind.String:
                WriteString(sb, e.GetString()!);
                return;
            default:
                sb.Append(e.GetRawText());
                return;
        }
    }

    private static void NewLine(StringBuilder sb, int? indent, int depth)
    {
        if (indent is { } n) sb.Append('\n').Append(' ', n * depth);
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
