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
    private static ApiException Bad(string message, string param) => ChatRequests.OpenAiBad(message, param);

    private SamplingOptions Options(JsonElement r, LocalModel model) => ChatRequests.OpenAiOptions(r, model.Parameters, engine.Config.Ollama.MaxNumCtx);

    private static void StreamError(Utf8JsonWriter w, GenAiException e) => ChatRequests.OpenAiStreamError(w, e);

    public async Task ChatAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var model = native.Resolve(r.Model());
        var stream = r.Bool("stream") ?? false;
        var includeUsage = ChatRequests.IncludeUsage(r);
        var turns = ChatRequests.OpenAiMessages(r, new RequestImages(null, model.Name));
        List<JsonElement>? tools;
        try { tools = ChatRequests.Tools(r); }
        catch (ApiException e) { throw Bad(e.Message, "tools"); }
        var grammar = ChatRequests.OpenAiResponseFormat(r, model);
        if (model.System is not null && turns[0].Role != "system") turns.Insert(0, new ChatTurn("system", model.System));
        var job = new CompletionJob { Model = model, Turns = turns, Options = Options(r, model), Grammar = grammar, Tools = tools };
        await engine.RunAsync(job, new OpenAiSink(http.Response, model.Name, chat: true, stream, includeUsage, StreamError), start, http.RequestAborted);
    }

    public async Task CompletionsAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var model = native.Resolve(r.Model());
        var stream = r.Bool("stream") ?? false;
        var includeUsage = ChatRequests.IncludeUsage(r);
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
