using System.Text;
using System.Text.Json;
using Hailo.GenAI.Chat;
using Hailo.Hosting.Http;

namespace Hailo.GenAI.Http;

/// <summary>
/// How a service takes the images of a chat request: its limits and its decoder. A text-only service has none
/// (<c>null</c> where an <see cref="ImagePolicy"/> is asked for) and answers any image with 400, as Ollama does for a
/// model without vision.
/// </summary>
/// <param name="MaxImages">Most images in one request (all messages together).</param>
/// <param name="MaxImageBytes">Largest encoded image (after base64).</param>
/// <param name="Decode">Decodes one image (raising the image library's 4xx rejection for bad data or too many pixels); its second argument is the request field.</param>
public sealed record ImagePolicy(int MaxImages, long MaxImageBytes, Func<byte[], string, ChatImage> Decode)
{
    /// <summary>The 400 a text-only model answers an image with.</summary>
    public static ApiException NotSupported(string model, string param) =>
        Err.Bad($"model '{model}' does not support images: it is a text-only model. Send images to a vision model (hailo-vision, port 11435)", param);
}

/// <summary>Counts the images of one request against <see cref="ImagePolicy.MaxImages"/>, and decodes them.</summary>
public sealed class RequestImages(ImagePolicy? policy, string model)
{
    public int Count { get; private set; }

    /// <summary>False for a text-only model.</summary>
    public bool Supported => policy is not null;

    /// <summary>
    /// Images the service fetched from http(s) URLs before reading the request (URL → bytes); such a URL is then taken
    /// like a data URL. Null: the service fetches none, and a URL is a 400.
    /// </summary>
    public IReadOnlyDictionary<string, byte[]>? Fetched { get; init; }

    /// <summary>True for a URL the service fetched (<see cref="Fetched"/>).</summary>
    public bool WasFetched(string? url) => url is not null && Fetched is { } f && f.ContainsKey(url);

    /// <summary>The 400 of a text-only model, in the caller's error shape.</summary>
    public ApiException NotSupported(string param) => ImagePolicy.NotSupported(model, param);

    /// <summary>Bytes of one image (base64 or a data URL) → the decoded image; <paramref name="param"/> names the field in errors.</summary>
    public ChatImage Take(string? base64, string param, Func<string, string, ApiException>? bad = null)
    {
        bad ??= (m, p) => Err.Bad(m, p);
        if (policy is null) throw ImagePolicy.NotSupported(model, param);
        if (++Count > policy.MaxImages)
            throw bad($"the request has more than {policy.MaxImages} images, the most this service takes in one request", param);
        if (base64 is { } text && text.Length > policy.MaxImageBytes / 3 * 4 + 4 + 128 && !WasFetched(text))
            throw bad($"an image is larger than {policy.MaxImageBytes >> 20} MiB, the most this service takes", param);
        byte[] bytes;
        if (base64 is not null && Fetched is { } fetched && fetched.TryGetValue(base64, out var got)) bytes = got;
        else
        {
            try { bytes = ImageInput.FromBase64(base64, param); }
            catch (ApiException e) { throw new ApiException(e.Status, e.Code, e.Message) { Param = param }; }
        }
        if (bytes.Length > policy.MaxImageBytes)
            throw bad($"an image is {bytes.Length} bytes, larger than the {policy.MaxImageBytes} this service takes", param);
        return policy.Decode(bytes, param);
    }
}

/// <summary>
/// The parts of chat and generate requests both GenAI services read the same way: Ollama's messages (with their
/// images), tools and format; OpenAI's messages with content parts (text, image_url) and response_format.
/// </summary>
public static class ChatRequests
{
    /// <summary>Ollama's <c>images</c> (an array of base64 strings) on a message or a generate request.</summary>
    public static List<ChatImage> OllamaImages(JsonElement e, string field, RequestImages images)
    {
        var list = new List<ChatImage>();
        if (!e.TryGetProperty(field, out var arr) || arr.ValueKind == JsonValueKind.Null) return list;
        if (arr.ValueKind != JsonValueKind.Array) throw Err.Bad($"'{field}' must be an array of base64 images", field);
        if (arr.GetArrayLength() > 0 && !images.Supported) throw images.NotSupported(field);
        var k = 0;
        foreach (var img in arr.EnumerateArray())
        {
            if (img.ValueKind != JsonValueKind.String) throw Err.Bad($"{field}[{k}] must be a base64 string", field);
            list.Add(images.Take(img.GetString(), field));
            k++;
        }
        return list;
    }

    /// <summary>Ollama's <c>messages</c> of /api/chat.</summary>
    public static List<ChatTurn> OllamaMessages(JsonElement r, RequestImages images)
    {
        var turns = new List<ChatTurn>();
        if (!r.TryGetProperty("messages", out var msgs) || msgs.ValueKind == JsonValueKind.Null) return turns;
        if (msgs.ValueKind != JsonValueKind.Array) throw Err.Bad("'messages' must be an array", "messages");
        var i = 0;
        foreach (var m in msgs.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object) throw Err.Bad($"messages[{i}] must be an object", "messages");
            var role = m.Str("role") ?? throw Err.Bad($"messages[{i}].role is required", "messages");
            if (role is not ("system" or "user" or "assistant" or "tool"))
                throw Err.Bad($"messages[{i}].role must be system, user, assistant or tool; got '{Hailo.Core.ClientText.Quote(role)}'", "messages");
            var pictures = OllamaImages(m, "images", images);
            var content = m.Str("content") ?? "";
            List<ToolCall>? calls = null;
            if (m.TryGetProperty("tool_calls", out var tc) && tc.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
                throw Err.Bad($"messages[{i}].tool_calls must be an array", "messages");
            if (tc.ValueKind == JsonValueKind.Array)
            {
                calls = [];
                foreach (var c in tc.EnumerateArray())
                {
                    if (c.ValueKind != JsonValueKind.Object || !c.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object || fn.Str("name") is not { } fname)
                        throw Err.Bad($"messages[{i}].tool_calls entries need function.name", "messages");
                    var args = fn.TryGetProperty("arguments", out var a) ? a : default;
                    if (args.ValueKind == JsonValueKind.String)
                    {
                        try { args = JsonDocument.Parse(args.GetString()!).RootElement.Clone(); }
                        catch (JsonException) { throw Err.Bad($"messages[{i}].tool_calls arguments are not JSON", "messages"); }
                    }
                    if (args.ValueKind != JsonValueKind.Object) args = JsonDocument.Parse("{}").RootElement.Clone();
                    calls.Add(new ToolCall(fname, args.Clone()));
                }
            }
            turns.Add(new ChatTurn(role, content, calls, m.Str("tool_name") ?? m.Str("name"), pictures.Count > 0 ? pictures : null));
            i++;
        }
        return turns;
    }

    /// <summary>tools: an array of {"type":"function","function":{name, description, parameters}}; null when none.</summary>
    public static List<JsonElement>? Tools(JsonElement r)
    {
        if (!r.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null) return null;
        if (tools.ValueKind != JsonValueKind.Array) throw Err.Bad("'tools' must be an array of {\"type\":\"function\",\"function\":{...}}", "tools");
        var list = new List<JsonElement>();
        var i = 0;
        foreach (var t in tools.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.Object) throw Err.Bad($"tools[{i}] must be an object", "tools");
            if (t.TryGetProperty("type", out var type) && (type.ValueKind != JsonValueKind.String || type.GetString() != "function"))
                throw Err.Bad($"tools[{i}].type must be \"function\"", "tools");
            if (!t.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object)
                throw Err.Bad($"tools[{i}].function must be an object with a name", "tools");
            if (!fn.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(n.GetString()))
                throw Err.Bad($"tools[{i}].function.name must be a non-empty string", "tools");
            if (fn.TryGetProperty("parameters", out var p) && p.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                throw Err.Bad($"tools[{i}].function.parameters must be a JSON schema object", "tools");
            list.Add(t.Clone());
            i++;
        }
        return list.Count == 0 ? null : list;
    }

    /// <summary>format: "" | "json" | a JSON schema → a grammar (CPU); the NPU has no constrained decoding.</summary>
    public static string? FormatGrammar(JsonElement f, IModelFile model, string param)
    {
        string? grammar = f.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => null,
            JsonValueKind.String when f.GetString() is "" => null,
            JsonValueKind.String when f.GetString() == "json" => JsonGrammar.AnyObject(),
            JsonValueKind.String => throw Err.Bad($"'{param}' must be \"json\" or a JSON schema object, got \"{Hailo.Core.ClientText.Quote(f.GetString())}\"", param),
            JsonValueKind.Object => JsonGrammar.FromSchema(f),
            _ => throw Err.Bad($"'{param}' must be \"json\" or a JSON schema object", param),
        };
        if (grammar is not null && model.Backend == Hailo.Core.Backend.Npu)
            throw Err.Bad($"'{param}' (structured output) needs constrained decoding, which the NPU backend (HailoRT) does not have; run this request on a CPU model", param);
        return grammar;
    }

    /// <summary>An OpenAI request error (type invalid_request_error).</summary>
    public static ApiException OpenAiBad(string message, string param) => new(400, "invalid_request_error", message) { Param = param };

    /// <summary>OpenAI's <c>messages</c>: roles, content as a string or parts (text; image_url with a data URL), tool calls.</summary>
    public static List<ChatTurn> OpenAiMessages(JsonElement r, RequestImages images)
    {
        var turns = new List<ChatTurn>();
        if (!r.TryGetProperty("messages", out var msgs) || msgs.ValueKind != JsonValueKind.Array || msgs.GetArrayLength() == 0)
            throw OpenAiBad("'messages' must be a non-empty array", "messages");
        var i = 0;
        foreach (var m in msgs.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object) throw OpenAiBad($"messages[{i}] must be an object", "messages");
            var role = m.Str("role") ?? throw OpenAiBad($"messages[{i}].role is required", "messages");
            if (role == "developer") role = "system";
            if (role is not ("system" or "user" or "assistant" or "tool")) throw OpenAiBad($"messages[{i}].role '{Hailo.Core.ClientText.Quote(role)}' is not supported", "messages");
            var (content, pictures) = OpenAiContent(m, i, images);
            List<ToolCall>? calls = null;
            if (m.TryGetProperty("tool_calls", out var tc) && tc.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
                throw OpenAiBad($"messages[{i}].tool_calls must be an array", "messages");
            if (tc.ValueKind == JsonValueKind.Array)
            {
                calls = [];
                foreach (var c in tc.EnumerateArray())
                {
                    if (c.ValueKind != JsonValueKind.Object || !c.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object || fn.Str("name") is not { } name)
                        throw OpenAiBad($"messages[{i}].tool_calls[].function.name is required", "messages");
                    var argsText = fn.Str("arguments") ?? "{}";
                    JsonElement args;
                    try { args = JsonDocument.Parse(argsText).RootElement.Clone(); }
                    catch (JsonException) { throw OpenAiBad($"messages[{i}].tool_calls[].function.arguments must be a JSON string", "messages"); }
                    calls.Add(new ToolCall(name, args));
                }
            }
            turns.Add(new ChatTurn(role, content, calls, m.Str("name"), pictures));
            i++;
        }
        return turns;
    }

    private static (string Text, List<ChatImage>? Images) OpenAiContent(JsonElement m, int i, RequestImages images)
    {
        if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) return ("", null);
        if (c.ValueKind == JsonValueKind.String) return (c.GetString()!, null);
        if (c.ValueKind != JsonValueKind.Array) throw OpenAiBad($"messages[{i}].content must be a string or an array of content parts", "messages");
        var sb = new StringBuilder();
        List<ChatImage>? pictures = null;
        var k = 0;
        foreach (var part in c.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object) throw OpenAiBad($"messages[{i}].content[{k}] must be an object with a type", "messages");
            var type = part.Str("type");
            if (type == "text")
            {
                if (!part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                    throw OpenAiBad($"messages[{i}].content[{k}].text must be a string", "messages");
                sb.Append(t.GetString());
            }
            else if (type is "image_url" or "input_image" or "image" && !images.Supported) throw images.NotSupported("messages");
            else if (type == "image_url")
            {
                // {"image_url": {"url": "data:image/jpeg;base64,...", "detail": "auto"}} or, from some clients, {"image_url": "data:..."}.
                var u = part.TryGetProperty("image_url", out var iu) ? iu : default;
                var url = u.ValueKind switch
                {
                    JsonValueKind.String => u.GetString(),
                    JsonValueKind.Object when u.TryGetProperty("url", out var x) && x.ValueKind == JsonValueKind.String => x.GetString(),
                    _ => throw OpenAiBad($"messages[{i}].content[{k}].image_url must be an object with a url (a data: URL)", "messages"),
                };
                if (url is not null && !url.StartsWith("data:", StringComparison.OrdinalIgnoreCase) && !images.WasFetched(url))
                    throw new ApiException(400, "invalid_image_url",
                        $"messages[{i}].content[{k}].image_url.url must be a data URL (data:image/jpeg;base64,...): this service does not fetch images from URLs") { Param = "messages" };
                (pictures ??= []).Add(images.Take(url, "messages", OpenAiBad));
            }
            else throw OpenAiBad($"messages[{i}].content[{k}] has a part of unsupported type '{Hailo.Core.ClientText.Quote(type)}' (text, image_url)", "messages");
            k++;
        }
        return (sb.ToString(), pictures);
    }

    /// <summary>OpenAI's response_format → a grammar (text: none; json_object; json_schema with its schema).</summary>
    public static string? OpenAiResponseFormat(JsonElement r, IModelFile model)
    {
        if (!r.TryGetProperty("response_format", out var rf) || rf.ValueKind != JsonValueKind.Object) return null;
        var type = rf.Str("type");
        return type switch
        {
            "json_object" => FormatGrammar(JsonDocument.Parse("\"json\"").RootElement, model, "response_format"),
            "json_schema" when rf.TryGetProperty("json_schema", out var js) && js.ValueKind == JsonValueKind.Object && js.TryGetProperty("schema", out var schema)
                => FormatGrammar(schema, model, "response_format"),
            "json_schema" => throw OpenAiBad("response_format.json_schema.schema is required", "response_format"),
            "text" or null => null,
            _ => throw OpenAiBad($"response_format.type '{Hailo.Core.ClientText.Quote(type)}' is not supported (text, json_object, json_schema)", "response_format"),
        };
    }

    /// <summary>OpenAI's sampling fields onto a model's stored parameters.</summary>
    public static SamplingOptions OpenAiOptions(JsonElement r, IReadOnlyDictionary<string, JsonElement>? modelParameters, int maxNumCtx)
    {
        var o = RequestJson.Options(null, modelParameters, maxNumCtx);
        if (r.Num("temperature") is { } t) { if (t is < 0 or > 2) throw OpenAiBad("temperature must be between 0 and 2", "temperature"); o = o with { Temperature = (float)t }; }
        if (r.Num("top_p") is { } tp) { if (tp is < 0 or > 1) throw OpenAiBad("top_p must be between 0 and 1", "top_p"); o = o with { TopP = (float)tp }; }
        if (r.Num("frequency_penalty") is { } fp) { if (fp is < -2 or > 2) throw OpenAiBad("frequency_penalty must be between -2 and 2", "frequency_penalty"); o = o with { FrequencyPenalty = (float)fp }; }
        if (r.Num("presence_penalty") is { } pp) { if (pp is < -2 or > 2) throw OpenAiBad("presence_penalty must be between -2 and 2", "presence_penalty"); o = o with { PresencePenalty = (float)pp }; }
        if (r.Int("seed") is { } seed) o = o with { Seed = (uint)seed };
        var max = r.Int("max_completion_tokens") ?? r.Int("max_tokens");
        if (max is { } m) { if (m < 1) throw OpenAiBad("max_tokens must be at least 1", "max_tokens"); o = o with { NumPredict = m }; }
        if (r.TryGetProperty("stop", out var stop) && stop.ValueKind != JsonValueKind.Null) o = o with { Stop = RequestJson.Stops(stop, "stop") };
        if (r.Int("n") is { } n && n != 1) throw OpenAiBad("only n = 1 is supported", "n");
        return o;
    }

    /// <summary>The "error" object of an OpenAI stream's error event after the stream started.</summary>
    public static void OpenAiStreamError(Utf8JsonWriter w, GenAiException e)
    {
        w.WriteString("message", e.Message);
        w.WriteString("type", OllamaErrorWriter.OpenAiType(e.Status));
        w.WriteNull("param");
        w.WriteString("code", Err.From(e).Code);
    }

    /// <summary>stream_options.include_usage.</summary>
    public static bool IncludeUsage(JsonElement r) =>
        r.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object && so.Bool("include_usage") == true;
}
