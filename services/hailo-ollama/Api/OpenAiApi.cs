using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hailo.GenAI;
using Hailo.GenAI.Api;
using Hailo.GenAI.Chat;
using Hailo.Hosting.Http;
using HailoOllama.Engine;
using Microsoft.AspNetCore.Http;

namespace HailoOllama.Api;

/// <summary>The OpenAI-compatible layer (/v1/*): a translation onto the same engine, with OpenAI's shapes and errors.</summary>
internal sealed class OpenAiApi(OllamaEngine engine, NativeApi native)
{
    private static ApiException Bad(string message, string param) => new(400, "invalid_request_error", message) { Param = param };

    private SamplingOptions Options(JsonElement r, LocalModel model)
    {
        var o = RequestJson.Options(null, model.Parameters, engine.Config.Ollama.MaxNumCtx);
        if (r.Num("temperature") is { } t) { if (t is < 0 or > 2) throw Bad("temperature must be between 0 and 2", "temperature"); o = o with { Temperature = (float)t }; }
        if (r.Num("top_p") is { } tp) { if (tp is < 0 or > 1) throw Bad("top_p must be between 0 and 1", "top_p"); o = o with { TopP = (float)tp }; }
        if (r.Num("frequency_penalty") is { } fp) { if (fp is < -2 or > 2) throw Bad("frequency_penalty must be between -2 and 2", "frequency_penalty"); o = o with { FrequencyPenalty = (float)fp }; }
        if (r.Num("presence_penalty") is { } pp) { if (pp is < -2 or > 2) throw Bad("presence_penalty must be between -2 and 2", "presence_penalty"); o = o with { PresencePenalty = (float)pp }; }
        if (r.Int("seed") is { } seed) o = o with { Seed = (uint)seed };
        var max = r.Int("max_completion_tokens") ?? r.Int("max_tokens");
        if (max is { } m) { if (m < 1) throw Bad("max_tokens must be at least 1", "max_tokens"); o = o with { NumPredict = m }; }
        if (r.TryGetProperty("stop", out var stop) && stop.ValueKind != JsonValueKind.Null) o = o with { Stop = RequestJson.Stops(stop, "stop") };
        if (r.Int("n") is { } n && n != 1) throw Bad("only n = 1 is supported", "n");
        return o;
    }

    /// <summary>The "error" object of an error event after a stream started.</summary>
    private static void StreamError(Utf8JsonWriter w, GenAiException e)
    {
        w.WriteString("message", e.Message);
        w.WriteString("type", OllamaErrorWriter.OpenAiType(e.Status));
        w.WriteNull("param");
        w.WriteString("code", Err.From(e).Code);
    }

    public async Task ChatAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var model = native.Resolve(r.Model());
        var stream = r.Bool("stream") ?? false;
        var includeUsage = r.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object && so.Bool("include_usage") == true;
        var turns = new List<ChatTurn>();
        if (!r.TryGetProperty("messages", out var msgs) || msgs.ValueKind != JsonValueKind.Array || msgs.GetArrayLength() == 0)
            throw Bad("'messages' must be a non-empty array", "messages");
        var i = 0;
        foreach (var m in msgs.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object) throw Bad($"messages[{i}] must be an object", "messages");
            var role = m.Str("role") ?? throw Bad($"messages[{i}].role is required", "messages");
            if (role == "developer") role = "system";
            if (role is not ("system" or "user" or "assistant" or "tool")) throw Bad($"messages[{i}].role '{Hailo.Core.ClientText.Quote(role)}' is not supported", "messages");
            var content = Content(m, i, model);
            List<ToolCall>? calls = null;
            if (m.TryGetProperty("tool_calls", out var tc) && tc.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
                throw Bad($"messages[{i}].tool_calls must be an array", "messages");
            if (tc.ValueKind == JsonValueKind.Array)
            {
                calls = [];
                foreach (var c in tc.EnumerateArray())
                {
                    if (c.ValueKind != JsonValueKind.Object || !c.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object || fn.Str("name") is not { } name)
                        throw Bad($"messages[{i}].tool_calls[].function.name is required", "messages");
                    var argsText = fn.Str("arguments") ?? "{}";
                    JsonElement args;
                    try { args = JsonDocument.Parse(argsText).RootElement.Clone(); }
                    catch (JsonException) { throw Bad($"messages[{i}].tool_calls[].function.arguments must be a JSON string", "messages"); }
                    calls.Add(new ToolCall(name, args));
                }
            }
            turns.Add(new ChatTurn(role, content, calls, m.Str("name")));
            i++;
        }
        List<JsonElement>? tools;
        try { tools = NativeApi.Tools(r); }
        catch (ApiException e) { throw Bad(e.Message, "tools"); }
        string? grammar = null;
        if (r.TryGetProperty("response_format", out var rf) && rf.ValueKind == JsonValueKind.Object)
        {
            var type = rf.Str("type");
            grammar = type switch
            {
                "json_object" => NativeApi.FormatGrammar(JsonDocument.Parse("\"json\"").RootElement, model, "response_format"),
                "json_schema" when rf.TryGetProperty("json_schema", out var js) && js.ValueKind == JsonValueKind.Object && js.TryGetProperty("schema", out var schema)
                    => NativeApi.FormatGrammar(schema, model, "response_format"),
                "json_schema" => throw Bad("response_format.json_schema.schema is required", "response_format"),
                "text" or null => null,
                _ => throw Bad($"response_format.type '{Hailo.Core.ClientText.Quote(type)}' is not supported (text, json_object, json_schema)", "response_format"),
            };
        }
        if (model.System is not null && turns[0].Role != "system") turns.Insert(0, new ChatTurn("system", model.System));
        var job = new CompletionJob { Model = model, Turns = turns, Options = Options(r, model), Grammar = grammar, Tools = tools };
        await engine.RunAsync(job, new OpenAiSink(http.Response, model.Name, chat: true, stream, includeUsage, StreamError), start, http.RequestAborted);
    }

    private static string Content(JsonElement m, int i, LocalModel model)
    {
        if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) return "";
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array) throw Bad($"messages[{i}].content must be a string or an array of content parts", "messages");
        var sb = new StringBuilder();
        foreach (var part in c.EnumerateArray())
        {
            var type = part.ValueKind == JsonValueKind.Object ? part.Str("type") : null;
            if (type == "text") sb.Append(part.Str("text"));
            else if (type is "image_url" or "input_image" or "image")
                throw Bad($"model '{model.Name}' does not support images: it is a text-only model. Send images to a vision model (hailo-vision, port 11435)", "messages");
            else throw Bad($"messages[{i}].content has a part of unsupported type '{Hailo.Core.ClientText.Quote(type)}'", "messages");
        }
        return sb.ToString();
    }

    public async Task CompletionsAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var model = native.Resolve(r.Model());
        var stream = r.Bool("stream") ?? false;
        var includeUsage = r.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object && so.Bool("include_usage") == true;
        string prompt;
        if (r.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String) prompt = p.GetString()!;
        else if (p.ValueKind == JsonValueKind.Array && p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String) prompt = p[0].GetString()!;
        else throw Bad("'prompt' must be a string (or an array holding one string)", "prompt");
        if (r.Str("suffix") is { Length: > 0 }) throw Bad("'suffix' is not supported by this model", "suffix");
        var job = new CompletionJob { Model = model, Prompt = prompt, AddSpecial = true, Options = Options(r, model) };
        await engine.RunAsync(job, new OpenAiSink(http.Response, model.Name, chat: false, stream, includeUsage, StreamError), start, http.RequestAborted);
    }

    public Task ModelsAsync(HttpContext http)
    {
        var models = engine.Registry.List().Select(Model).ToList();
        return JsonOut.SingleAsync(http.Response, new OpenAiModelList("list", models), OpenAiJson.Default.OpenAiModelList, http.RequestAborted);
    }

    private static OpenAiModel Model(LocalModel m) => new(m.Name, "model", new DateTimeOffset(m.ModifiedAt).ToUnixTimeSeconds(), "library");

    public Task ModelAsync(HttpContext http, string id)
    {
        if (!ModelName.TryNormalise(id, out var name)) throw new ApiException(404, "model_not_found", $"model '{Hailo.Core.ClientText.Quote(id)}' not found") { Param = "model" };
        var m = engine.Registry.Find(name) ?? throw new ApiException(404, "model_not_found", $"model '{Hailo.Core.ClientText.Quote(id)}' not found") { Param = "model" };
        return JsonOut.SingleAsync(http.Response, Model(m), OpenAiJson.Default.OpenAiModel, http.RequestAborted);
    }

    public async Task EmbeddingsAsync(HttpContext http)
    {
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var model = native.Resolve(r.Model());
        var inputs = new List<string>();
        if (!r.TryGetProperty("input", out var input)) throw Bad("'input' is required", "input");
        if (input.ValueKind == JsonValueKind.String) inputs.Add(input.GetString()!);
        else if (input.ValueKind == JsonValueKind.Array)
            foreach (var e in input.EnumerateArray())
                inputs.Add(e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Bad("'input' must be a string or an array of strings", "input"));
        else throw Bad("'input' must be a string or an array of strings", "input");
        if (inputs.Count == 0) throw Bad("'input' must not be empty", "input");
        var format = r.Str("encoding_format") ?? "float";
        if (format is not ("float" or "base64")) throw Bad("encoding_format must be float or base64", "encoding_format");
        var dims = r.Int("dimensions");
        if (dims is < 1) throw Bad("dimensions must be positive", "dimensions");
        var (vectors, tokens, _) = await native.EmbedCoreAsync(model, inputs, true, RequestJson.Options(null, null, engine.Config.Ollama.MaxNumCtx), null, http.RequestAborted);
        await JsonOut.SingleAsync(http.Response, w =>
        {
            w.WriteString("object", "list");
            w.WriteStartArray("data");
            for (var i = 0; i < vectors.Length; i++)
            {
                var v = dims is { } d ? vectors[i].Take(d).ToArray() : vectors[i];
                w.WriteStartObject();
                w.WriteString("object", "embedding");
                if (format == "base64")
                {
                    var bytes = new byte[v.Length * 4];
                    Buffer.BlockCopy(v, 0, bytes, 0, bytes.Length);
                    w.WriteString("embedding", Convert.ToBase64String(bytes));
                }
                else
                {
                    w.WriteStartArray("embedding");
                    foreach (var x in v) w.WriteNumberValue(x);
                    w.WriteEndArray();
                }
                w.WriteNumber("index", i);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("model", model.Name);
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", tokens);
            w.WriteNumber("total_tokens", tokens);
            w.WriteEndObject();
        }, http.RequestAborted);
    }
}
