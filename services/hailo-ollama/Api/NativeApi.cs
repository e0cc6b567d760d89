using Hailo.Core;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Hailo.GenAI;
using Hailo.GenAI.Api;
using Hailo.GenAI.Chat;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using HailoOllama.Engine;
using Microsoft.AspNetCore.Http;

namespace HailoOllama.Api;

/// <summary>Ollama's native API (/api/*) with its shapes: NDJSON streams, durations in ns, {"error": "..."}.</summary>
internal sealed class NativeApi(OllamaEngine engine, Func<string, string> pullCommand)
{
    private ModelRegistry Registry => engine.Registry;

    public LocalModel Resolve(string name)
    {
        var m = Registry.Find(name);
        if (m is not null) return m;
        var catalog = OllamaModels.Find(name, Registry.Backend);
        var hint = catalog is not null
            ? $"; pull it first (POST /api/pull {{\"model\":\"{name}\"}} or: {pullCommand(catalog.Name)})"
            : "; pull it first or create it from a GGUF (POST /api/create)";
        throw new ApiException(404, "model_not_found", $"model '{Hailo.Core.ClientText.Quote(name)}' not found{hint}") { Param = "model" };
    }

    // ---------------------------------------------------------------- listing

    public Task TagsAsync(HttpContext http)
    {
        var models = Registry.List();
        return JsonOut.SingleAsync(http.Response, w =>
        {
            w.WriteStartArray("models");
            foreach (var m in models)
            {
                w.WriteStartObject();
                w.WriteString("name", m.Name);
                w.WriteString("model", m.Name);
                w.WriteString("modified_at", JsonOut.Iso(m.ModifiedAt));
                w.WriteNumber("size", SafeSize(m.Path));
                w.WriteString("digest", Registry.QuickDigest(m));
                Details(w, m);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }, http.RequestAborted);
    }

    private static long SafeSize(string path)
    {
        try { return new FileInfo(path).Length; } catch (IOException) { return 0; }
    }

    private void Details(Utf8JsonWriter w, LocalModel m)
    {
        var g = Registry.Gguf(m);
        w.WriteStartObject("details");
        w.WriteString("parent_model", m.ParentModel ?? "");
        w.WriteString("format", m.Backend == Backend.Npu ? "hef" : "gguf");
        var family = Registry.Family(m);
        var architecture = Registry.Architecture(m);
        w.WriteString("family", family);
        w.WriteStartArray("families");
        w.WriteStringValue(family);
        if (architecture != family) w.WriteStringValue(architecture);
        w.WriteEndArray();
        w.WriteString("parameter_size", g?.ParameterSize ?? (m.Name.Contains("1.5b", StringComparison.Ordinal) ? "1.5B" : ""));
        w.WriteString("quantization_level", g?.QuantizationLevel ?? (m.Backend == Backend.Npu ? "Q4_0" : ""));
        w.WriteEndObject();
    }

    public Task PsAsync(HttpContext http)
    {
        var loaded = engine.Scheduler.Loaded;
        return JsonOut.SingleAsync(http.Response, w =>
        {
            w.WriteStartArray("models");
            foreach (var r in loaded)
            {
                w.WriteStartObject();
                w.WriteString("name", r.Name);
                w.WriteString("model", r.Name);
                w.WriteNumber("size", r.Model.MemoryBytes);
                w.WriteString("digest", Registry.QuickDigest((LocalModel)r.Source));
                Details(w, (LocalModel)r.Source);
                // Ollama writes a far-future time for keep_alive -1 and "now" for a model in use.
                var expires = r.ExpiresAt ?? (r.KeepAlive == KeepAliveValue.Forever ? DateTime.UtcNow.AddYears(100) : DateTime.UtcNow + r.KeepAlive);
                w.WriteString("expires_at", JsonOut.Iso(expires));
                w.WriteNumber("size_vram", r.Model.Backend == Backend.Npu ? r.Model.MemoryBytes : 0);
                w.WriteNumber("context_length", r.Model.ContextSize);
                w.WriteString("backend", r.Model.Backend.Name());
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }, http.RequestAborted);
    }

    public async Task ShowAsync(HttpContext http)
    {
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var m = Resolve(doc.RootElement.Model());
        var verbose = doc.RootElement.Bool("verbose") ?? false;
        var g = Registry.Gguf(m);
        var template = Registry.Template(m);
        var parameters = new List<string>();
        foreach (var stop in template?.StopStrings ?? []) parameters.Add($"stop \"{stop}\"");
        if (m.Parameters is not null)
            foreach (var (k, v) in m.Parameters)
                if (v.ValueKind == JsonValueKind.Array) foreach (var e in v.EnumerateArray()) parameters.Add($"{k} {e.GetRawText()}");
                else parameters.Add($"{k} {(v.ValueKind == JsonValueKind.String ? "\"" + v.GetString() + "\"" : v.GetRawText())}");
        var templateText = m.Template ?? g?.ChatTemplate ?? template?.Source ?? "";
        await JsonOut.SingleAsync(http.Response, w =>
        {
            w.WriteString("license", OllamaModels.Find(m.Name, m.Backend)?.License ?? "");
            var modelfile = $"# Modelfile generated by hailo-ollama\nFROM {m.Path}\nTEMPLATE \"\"\"{templateText}\"\"\"\n" +
                            (m.System is null ? "" : $"SYSTEM \"\"\"{m.System}\"\"\"\n") + string.Concat(parameters.Select(p => "PARAMETER " + p + "\n"));
            w.WriteString("modelfile", modelfile);
            w.WriteString("parameters", string.Join('\n', parameters));
            w.WriteString("template", templateText);
            if (m.System is not null) w.WriteString("system", m.System);
            Details(w, m);
            w.WriteStartObject("model_info");
            if (g is not null)
            {
                foreach (var (k, v) in g.Metadata)
                {
                    if (k == "tokenizer.chat_template") continue;
                    switch (v)
                    {
                        case string s: w.WriteString(k, s); break;
                        case bool b: w.WriteBoolean(k, b); break;
                        case float f: w.WriteNumber(k, f); break;
                        case double d: w.WriteNumber(k, d); break;
                        case Gguf.GgufArray a:
                            if (verbose && a.Strings is { } strs) { w.WriteStartArray(k); foreach (var x in strs) w.WriteStringValue(x); w.WriteEndArray(); }
                            else w.WriteNull(k);
                            break;
                        default:
                            if (g.Integer(k) is { } n) w.WriteNumber(k, n);
                            break;
                    }
                }
                w.WriteNumber("general.parameter_count", g.ParameterCount);
            }
            else
            {
                w.WriteString("general.architecture", Registry.Architecture(m));
                w.WriteString("general.format", "hef");
            }
            w.WriteEndObject();
            w.WriteStartArray("capabilities");
            w.WriteStringValue("completion");
            if (template is not null) w.WriteStringValue("tools");
            if (m.Backend == Backend.Cpu) w.WriteStringValue("embedding");
            w.WriteEndArray();
            w.WriteString("modified_at", JsonOut.Iso(m.ModifiedAt));
        }, http.RequestAborted);
    }

    // ---------------------------------------------------------------- generate / chat

    public async Task GenerateAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var name = r.Model();
        var prompt = r.Str("prompt") ?? "";
        var suffix = r.Str("suffix");
        var system = r.Str("system");
        var templateOverride = r.Str("template");
        var raw = r.Bool("raw") ?? false;
        var stream = r.Bool("stream") ?? true;
        var keepAlive = r.KeepAlive();
        CheckThink(r);
        var model = Resolve(name);
        ChatRequests.OllamaImages(r, "images", new RequestImages(null, model.Name)); // a text-only model: any image is a 400
        var options = Options(r, model);
        var grammar = Format(r, model);
        long[]? context = null;
        if (r.TryGetProperty("context", out var ctxEl) && ctxEl.ValueKind != JsonValueKind.Null)
        {
            if (ctxEl.ValueKind != JsonValueKind.Array) throw Err.Bad("'context' must be an array of token ids", "context");
            var ids = new List<long>();
            foreach (var e in ctxEl.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out var id))
                    throw Err.Bad($"'context' must be an array of token ids (integers); context[{ids.Count}] is {e.GetRawText()}", "context");
                ids.Add(id);
            }
            context = [.. ids];
        }
        if (suffix is { Length: > 0 }) throw Err.Bad($"model '{name}' does not support insert (suffix)", "suffix");

        if (prompt.Length == 0 && context is null)
        {
            await LoadOrUnloadAsync(http, model, keepAlive, stream, isChat: false, start);
            return;
        }

        string finalPrompt;
        var addSpecial = false;
        IReadOnlyList<ChatTurn>? turns = null;
        var template = templateOverride ?? model.Template;
        var effectiveSystem = system ?? model.System;
        if (raw)
        {
            finalPrompt = prompt;
            addSpecial = true;
        }
        else if (template is null && engine.HasNoTemplate(model))
        {
            finalPrompt = NoTemplate.Prompt(effectiveSystem, prompt); // Ollama's default template: {{ .Prompt }}
            addSpecial = true;
        }
        else if (template is not null)
        {
            try
            {
                finalPrompt = GoTemplate.Render(template, new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["System"] = effectiveSystem ?? "", ["Prompt"] = prompt, ["Response"] = "",
                });
            }
            catch (FormatException e)
            {
                throw Err.Bad(e.Message, "template");
            }
            addSpecial = true;
        }
        else
        {
            var list = new List<ChatTurn>();
            if (effectiveSystem is not null) list.Add(new ChatTurn("system", effectiveSystem));
            list.Add(new ChatTurn("user", prompt));
            turns = list;
            finalPrompt = "";
        }
        if (context is { Length: > 0 })
        {
            if (model.Backend != Backend.Cpu) throw Err.Bad("'context' is not supported on the NPU backend", "context");
            using var lease0 = await engine.AcquireAsync(model, engine.NumCtx(options), keepAlive, http.RequestAborted);
            string previous;
            try
            {
                if (lease0.Model is LlamaRunner lr) lr.CheckTokenIds(context, "context");
                previous = lease0.Model.Detokenize(Array.ConvertAll(context, t => (int)t));
            }
            catch (GenAiException e)
            {
                throw Err.From(e);
            }
            if (turns is not null)
            {
                var rendered = Registry.Template(model)?.Render(turns) ?? prompt;
                finalPrompt = previous + rendered;
                turns = null;
            }
            else finalPrompt = previous + finalPrompt;
        }

        var job = new CompletionJob
        {
            Model = model, Turns = turns, Prompt = finalPrompt, AddSpecial = addSpecial, Options = options, Grammar = grammar,
            KeepAlive = keepAlive, Truncate = r.Bool("truncate") ?? true,
        };
        var sink = new OllamaSink(http.Response, model.Name, chat: false, stream);
        await engine.RunAsync(job, sink, start, http.RequestAborted);
    }

    public async Task ChatAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var name = r.Model();
        var stream = r.Bool("stream") ?? true;
        var keepAlive = r.KeepAlive();
        CheckThink(r);
        var model = Resolve(name);
        var turns = ChatRequests.OllamaMessages(r, new RequestImages(null, model.Name));
        var tools = ChatRequests.Tools(r);
        var options = Options(r, model);
        var grammar = Format(r, model);
        if (turns.Count == 0)
        {
            await LoadOrUnloadAsync(http, model, keepAlive, stream, isChat: true, start);
            return;
        }
        if (model.System is not null && turns[0].Role != "system") turns.Insert(0, new ChatTurn("system", model.System));
        var job = new CompletionJob
        {
            Model = model, Turns = turns, Options = options, Grammar = grammar, Tools = tools, KeepAlive = keepAlive,
            Truncate = r.Bool("truncate") ?? true,
        };
        var sink = new OllamaSink(http.Response, model.Name, chat: true, stream);
        await engine.RunAsync(job, sink, start, http.RequestAborted);
    }

    private SamplingOptions Options(JsonElement r, LocalModel model)
    {
        r.TryGetProperty("options", out var o);
        return RequestJson.Options(o.ValueKind == JsonValueKind.Undefined ? null : o, model.Parameters, engine.Config.Ollama.MaxNumCtx);
    }

    private static void CheckThink(JsonElement r)
    {
        if (r.TryGetProperty("think", out var t) && t.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null or JsonValueKind.String))
            throw Err.Bad("'think' must be true, false or \"low\" | \"medium\" | \"high\"", "think");
        // Accepted and ignored: no model of this service thinks, and clients send it regardless.
    }

    /// <summary>format: "" | "json" | a JSON schema → a grammar (CPU); the NPU has no constrained decoding.</summary>
    internal string? Format(JsonElement r, LocalModel model) => ChatRequests.FormatGrammar(r.TryGetProperty("format", out var f) ? f : default, model, "format");

    /// <summary>An empty prompt or message list: load the model (done_reason "load") or, with keep_alive 0, unload it ("unload").</summary>
    private async Task LoadOrUnloadAsync(HttpContext http, LocalModel model, TimeSpan? keepAlive, bool stream, bool isChat, long start)
    {
        string reason;
        long loadNs = 0;
        if (keepAlive == TimeSpan.Zero)
        {
            engine.Scheduler.UnloadByName(model.Name);
            reason = "unload";
        }
        else
        {
            using (var lease = await engine.AcquireAsync(model, engine.Config.Ollama.NumCtx, keepAlive, http.RequestAborted))
                loadNs = lease.LoadNs;
            reason = "load";
        }
        var total = (long)(Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1e6);
        void Write(Utf8JsonWriter w)
        {
            w.WriteString("model", model.Name);
            w.WriteString("created_at", JsonOut.Iso(DateTime.UtcNow));
            if (isChat)
            {
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                w.WriteString("content", "");
                w.WriteEndObject();
            }
            else w.WriteString("response", "");
            w.WriteBoolean("done", true);
            w.WriteString("done_reason", reason);
            w.WriteNumber("total_duration", total);
            w.WriteNumber("load_duration", loadNs);
        }
        if (stream)
        {
            http.Response.ContentType = "application/x-ndjson";
            await JsonOut.LineAsync(http.Response, Write, http.RequestAborted);
        }
        else await JsonOut.SingleAsync(http.Response, Write, http.RequestAborted);
    }

    // ---------------------------------------------------------------- embeddings

    public async Task EmbedAsync(HttpContext http, bool legacy)
    {
        var start = Stopwatch.GetTimestamp();
        using var doc = await RequestJson.ReadAsync(http.Request, http.RequestAborted);
        var r = doc.RootElement;
        var model = Resolve(r.Model());
        var inputs = new List<string>();
        var field = legacy ? "prompt" : "input";
        if (r.TryGetProperty(field, out var input))
        {
            // An empty string embeds nothing (Ollama answers it with no embeddings); "" in an array is an input.
            if (input.ValueKind == JsonValueKind.String) { if (input.GetString() is { Length: > 0 } one) inputs.Add(one); }
            else if (input.ValueKind == JsonValueKind.Array)
                foreach (var e in input.EnumerateArray())
                    inputs.Add(e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Err.Bad($"'{field}' must be a string or an array of strings", field));
            else if (input.ValueKind != JsonValueKind.Null) throw Err.Bad($"'{field}' must be a string or an array of strings", field);
        }
        var dims = r.Int("dimensions");
        if (dims is < 1) throw Err.Bad("'dimensions' must be positive", "dimensions");
        var options = Options(r, model);
        var (vectors, tokens, loadNs) = await EmbedCoreAsync(model, inputs, r.Bool("truncate") ?? true, options, r.KeepAlive(), http.RequestAborted);
        if (dims is { } d) vectors = vectors.Select(v => Renormalise(v.Take(d).ToArray())).ToArray();
        var total = (long)(Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1e6);
        await JsonOut.SingleAsync(http.Response, w =>
        {
            if (legacy)
            {
                w.WriteStartArray("embedding");
                if (vectors.Length > 0) foreach (var x in vectors[0]) w.WriteNumberValue(x);
                w.WriteEndArray();
                return;
            }
            w.WriteString("model", model.Name);
            w.WriteStartArray("embeddings");
            foreach (var v in vectors)
            {
                w.WriteStartArray();
                foreach (var x in v) w.WriteNumberValue(x);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteNumber("total_duration", total);
            w.WriteNumber("load_duration", loadNs);
            w.WriteNumber("prompt_eval_count", tokens);
        }, http.RequestAborted);
    }

    internal async Task<(float[][] Vectors, int Tokens, long LoadNs)> EmbedCoreAsync(LocalModel model, List<string> inputs, bool truncate,
        SamplingOptions options, TimeSpan? keepAlive, CancellationToken ct)
    {
        if (model.Backend != Backend.Cpu) throw Err.Bad($"model '{model.Name}' runs on the NPU, which cannot embed; use a GGUF model", "model");
        if (inputs.Count == 0) return ([], 0, 0);
        using var lease = await engine.AcquireAsync(model, engine.NumCtx(options), keepAlive, ct);
        try
        {
            var numCtx = engine.NumCtx(options);
            var (v, t) = await Task.Run(() => lease.Model.Embed(inputs, truncate, numCtx, ct), ct);
            return (v, t, lease.LoadNs);
        }
        catch (GenAiException e)
        {
            throw Err.From(e);
        }
    }

    private static float[] Renormalise(float[] v)
    {
        double s = 0;
        foreach (var x in v) s += x * x;
        var n = (float)Math.Sqrt(s);
        if (n > 0) for (var i = 0; i < v.Length; i++) v[i] /= n;
        return v;
    }
}
