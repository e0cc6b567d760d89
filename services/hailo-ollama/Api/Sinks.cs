using System.Text.Json;
using Hailo.Hosting.Http;
using HailoOllama.Chat;
using Microsoft.AspNetCore.Http;

namespace HailoOllama.Api;

/// <summary>Ollama's /api/generate and /api/chat output: NDJSON chunks and a final chunk with the stats, or one object.</summary>
internal sealed class OllamaSink(HttpResponse response, string model, bool chat, bool stream) : ICompletionSink
{
    private readonly System.Text.StringBuilder _all = new();
    private IReadOnlyList<ToolCall> _calls = [];
    public bool Started { get; private set; }

    private async Task BeginAsync()
    {
        if (Started) return;
        Started = true;
        response.ContentType = "application/x-ndjson";
        await response.StartAsync().ConfigureAwait(false);
    }

    public async Task PieceAsync(string text, CancellationToken ct)
    {
        if (!stream) { _all.Append(text); return; }
        await BeginAsync().ConfigureAwait(false);
        await JsonOut.LineAsync(response, w => Chunk(w, text, null, false), ct).ConfigureAwait(false);
    }

    public async Task ToolCallsAsync(IReadOnlyList<ToolCall> calls, CancellationToken ct)
    {
        _calls = calls;
        if (!stream || !chat) return;
        await BeginAsync().ConfigureAwait(false);
        await JsonOut.LineAsync(response, w => Chunk(w, "", calls, false), ct).ConfigureAwait(false);
    }

    private void Chunk(Utf8JsonWriter w, string text, IReadOnlyList<ToolCall>? calls, bool done)
    {
        w.WriteString("model", model);
        w.WriteString("created_at", JsonOut.Iso(DateTime.UtcNow));
        if (chat)
        {
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", text);
            if (calls is { Count: > 0 }) WriteCalls(w, calls);
            w.WriteEndObject();
        }
        else w.WriteString("response", text);
        w.WriteBoolean("done", done);
    }

    internal static void WriteCalls(Utf8JsonWriter w, IReadOnlyList<ToolCall> calls)
    {
        w.WriteStartArray("tool_calls");
        var i = 0;
        foreach (var c in calls)
        {
            w.WriteStartObject();
            w.WriteStartObject("function");
            w.WriteNumber("index", i++);
            w.WriteString("name", c.Name);
            JsonOut.Element(w, "arguments", c.Arguments);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public async Task DoneAsync(CompletionResult r, CancellationToken ct)
    {
        void Final(Utf8JsonWriter w)
        {
            Chunk(w, stream ? "" : _all.ToString(), stream ? null : _calls, true);
            w.WriteString("done_reason", r.DoneReason);
            if (!chat)
            {
                w.WriteStartArray("context");
                foreach (var t in r.Stats.Context) w.WriteNumberValue(t);
                w.WriteEndArray();
            }
            w.WriteNumber("total_duration", r.TotalNs);
            w.WriteNumber("load_duration", r.LoadNs);
            w.WriteNumber("prompt_eval_count", r.Stats.PromptTokens);
            w.WriteNumber("prompt_eval_duration", r.Stats.PromptEvalNs);
            w.WriteNumber("eval_count", r.Stats.EvalTokens);
            w.WriteNumber("eval_duration", r.Stats.EvalNs);
        }
        if (stream)
        {
            await BeginAsync().ConfigureAwait(false);
            await JsonOut.LineAsync(response, Final, ct).ConfigureAwait(false);
        }
        else await JsonOut.SingleAsync(response, Final, ct).ConfigureAwait(false);
    }

    public Task ErrorAsync(ApiException error, CancellationToken ct) =>
        JsonOut.LineAsync(response, w => w.WriteString("error", error.Message), ct);
}

/// <summary>OpenAI chat/completions output: SSE chunks ending in data: [DONE], or one object.</summary>
internal sealed class OpenAiSink(HttpResponse response, string model, bool chat, bool stream, bool includeUsage) : ICompletionSink
{
    private readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private readonly System.Text.StringBuilder _all = new();
    private IReadOnlyList<ToolCall> _calls = [];
    private bool _roleSent;
    public bool Started { get; private set; }

    private async Task BeginAsync()
    {
        if (Started) return;
        Started = true;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync().ConfigureAwait(false);
    }

    private void Head(Utf8JsonWriter w)
    {
        w.WriteString("id", _id);
        w.WriteString("object", chat ? (stream ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        w.WriteNumber("created", _created);
        w.WriteString("model", model);
        w.WriteString("system_fingerprint", "fp_hailo_ollama");
    }

    public async Task PieceAsync(string text, CancellationToken ct)
    {
        if (!stream) { _all.Append(text); return; }
        await BeginAsync().ConfigureAwait(false);
        await JsonOut.SseAsync(response, w =>
        {
            Head(w);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            if (chat)
            {
                w.WriteStartObject("delta");
                if (!_roleSent) w.WriteString("role", "assistant");
                w.WriteString("content", text);
                w.WriteEndObject();
            }
            else w.WriteString("text", text);
            w.WriteNull("finish_reason");
            w.WriteEndObject();
            w.WriteEndArray();
        }, ct).ConfigureAwait(false);
        _roleSent = true;
    }

    internal static void WriteCalls(Utf8JsonWriter w, IReadOnlyList<ToolCall> calls, bool withIndex)
    {
        w.WriteStartArray("tool_calls");
        var i = 0;
        foreach (var c in calls)
        {
            w.WriteStartObject();
            if (withIndex) w.WriteNumber("index", i);
            w.WriteString("id", "call_" + Guid.NewGuid().ToString("N")[..20]);
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", c.Name);
            w.WriteString("arguments", c.Arguments.GetRawText());
            w.WriteEndObject();
            w.WriteEndObject();
            i++;
        }
        w.WriteEndArray();
    }

    public async Task ToolCallsAsync(IReadOnlyList<ToolCall> calls, CancellationToken ct)
    {
        _calls = calls;
        if (!stream || !chat) return;
        await BeginAsync().ConfigureAwait(false);
        await JsonOut.SseAsync(response, w =>
        {
            Head(w);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("delta");
            if (!_roleSent) w.WriteString("role", "assistant");
            WriteCalls(w, calls, withIndex: true);
            w.WriteEndObject();
            w.WriteNull("finish_reason");
            w.WriteEndObject();
            w.WriteEndArray();
        }, ct).ConfigureAwait(false);
        _roleSent = true;
    }

    private static void Usage(Utf8JsonWriter w, CompletionResult r)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", r.Stats.PromptTokens);
        w.WriteNumber("completion_tokens", r.Stats.EvalTokens);
        w.WriteNumber("total_tokens", r.Stats.PromptTokens + r.Stats.EvalTokens);
        w.WriteEndObject();
    }

    public async Task DoneAsync(CompletionResult r, CancellationToken ct)
    {
        var finish = _calls.Count > 0 ? "tool_calls" : r.DoneReason == "length" ? "length" : "stop";
        if (!stream)
        {
            await JsonOut.SingleAsync(response, w =>
            {
                Head(w);
                w.WriteStartArray("choices");
                w.WriteStartObject();
                w.WriteNumber("index", 0);
                if (chat)
                {
                    w.WriteStartObject("message");
                    w.WriteString("role", "assistant");
                    w.WriteString("content", _all.ToString());
                    if (_calls.Count > 0) WriteCalls(w, _calls, withIndex: false);
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteString("text", _all.ToString());
                    w.WriteNull("logprobs");
                }
                w.WriteString("finish_reason", finish);
                w.WriteEndObject();
                w.WriteEndArray();
                Usage(w, r);
            }, ct).ConfigureAwait(false);
            return;
        }
        await BeginAsync().ConfigureAwait(false);
        await JsonOut.SseAsync(response, w =>
        {
            Head(w);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            if (chat)
            {
                w.WriteStartObject("delta");
                w.WriteEndObject();
            }
            else w.WriteString("text", "");
            w.WriteString("finish_reason", finish);
            w.WriteEndObject();
            w.WriteEndArray();
        }, ct).ConfigureAwait(false);
        if (includeUsage)
            await JsonOut.SseAsync(response, w =>
            {
                Head(w);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                Usage(w, r);
            }, ct).ConfigureAwait(false);
        await response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), ct).ConfigureAwait(false);
        await response.Body.FlushAsync(ct).ConfigureAwait(false);
    }

    public async Task ErrorAsync(ApiException error, CancellationToken ct)
    {
        await JsonOut.SseAsync(response, w =>
        {
            w.WriteStartObject("error");
            w.WriteString("message", error.Message);
            w.WriteString("type", OllamaErrorWriter.OpenAiType(error.Status));
            w.WriteNull("param");
            w.WriteString("code", error.Code);
            w.WriteEndObject();
        }, ct).ConfigureAwait(false);
        await response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), ct).ConfigureAwait(false);
    }
}
