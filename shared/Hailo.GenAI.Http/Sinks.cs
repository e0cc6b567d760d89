using System.Text.Json;
using Hailo.GenAI.Chat;
using Microsoft.AspNetCore.Http;

namespace Hailo.GenAI.Api;

/// <summary>
/// What both API families' sinks share: a non-streamed reply is collected and written once at the end; a streamed
/// one starts the response at its first event and frames each event its family's way (NDJSON line or SSE event).
/// </summary>
public abstract class StreamingSink(HttpResponse response, bool chat, bool stream) : ICompletionSink
{
    protected readonly System.Text.StringBuilder All = new();
    protected IReadOnlyList<ToolCall> Calls = [];
    protected HttpResponse Response => response;
    protected bool Chat => chat;
    protected bool Stream => stream;
    public bool Started { get; private set; }

    /// <summary>Content type and headers of the stream, set once before the response starts.</summary>
    protected abstract void StartHeaders();

    /// <summary>Writes one event of the stream (the response has started).</summary>
    protected abstract Task FrameAsync(Action<Utf8JsonWriter> write, CancellationToken ct);

    /// <summary>One event of the stream, starting the response first if need be.</summary>
    protected async Task EventAsync(Action<Utf8JsonWriter> write, CancellationToken ct)
    {
        if (!Started)
        {
            Started = true;
            StartHeaders();
            await response.StartAsync().ConfigureAwait(false);
        }
        await FrameAsync(write, ct).ConfigureAwait(false);
    }

    public Task PieceAsync(string text, CancellationToken ct)
    {
        if (stream) return StreamPieceAsync(text, ct);
        All.Append(text);
        return Task.CompletedTask;
    }

    public Task ToolCallsAsync(IReadOnlyList<ToolCall> calls, CancellationToken ct)
    {
        Calls = calls;
        return stream && chat ? StreamToolCallsAsync(calls, ct) : Task.CompletedTask;
    }

    protected abstract Task StreamPieceAsync(string text, CancellationToken ct);
    protected abstract Task StreamToolCallsAsync(IReadOnlyList<ToolCall> calls, CancellationToken ct);
    public abstract Task DoneAsync(CompletionResult result, CancellationToken ct);
    public abstract Task ErrorAsync(GenAiException error, CancellationToken ct);
}

/// <summary>Ollama's /api/generate and /api/chat output: NDJSON chunks and a final chunk with the stats, or one object.</summary>
public sealed class OllamaSink(HttpResponse response, string model, bool chat, bool stream) : StreamingSink(response, chat, stream)
{
    protected override void StartHeaders() => Response.ContentType = "application/x-ndjson";

    protected override Task FrameAsync(Action<Utf8JsonWriter> write, CancellationToken ct) => JsonOut.LineAsync(Response, write, ct);

    protected override Task StreamPieceAsync(string text, CancellationToken ct) => EventAsync(w => Chunk(w, text, null, false), ct);

    protected override Task StreamToolCallsAsync(IReadOnlyList<ToolCall> calls, CancellationToken ct) => EventAsync(w => Chunk(w, "", calls, false), ct);

    private void Chunk(Utf8JsonWriter w, string text, IReadOnlyList<ToolCall>? calls, bool done)
    {
        w.WriteString("model", model);
        w.WriteString("created_at", JsonOut.Iso(DateTime.UtcNow));
        if (Chat)
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

    public static void WriteCalls(Utf8JsonWriter w, IReadOnlyList<ToolCall> calls)
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

    public override async Task DoneAsync(CompletionResult r, CancellationToken ct)
    {
        void Final(Utf8JsonWriter w)
        {
            Chunk(w, Stream ? "" : All.ToString(), Stream ? null : Calls, true);
            w.WriteString("done_reason", r.DoneReason);
            if (!Chat)
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
        if (Stream) await EventAsync(Final, ct).ConfigureAwait(false);
        else await JsonOut.SingleAsync(Response, Final, ct).ConfigureAwait(false);
    }

    public override Task ErrorAsync(GenAiException error, CancellationToken ct) =>
        EventAsync(w => w.WriteString("error", error.Message), ct);
}

/// <summary>
/// OpenAI chat/completions output: SSE chunks ending in data: [DONE], or one object. An error after the stream started
/// is an event whose "error" object <paramref name="writeError"/> writes (the service's OpenAI error shape).
/// </summary>
public sealed class OpenAiSink(HttpResponse response, string model, bool chat, bool stream, bool includeUsage,
    Action<Utf8JsonWriter, GenAiException> writeError) : StreamingSink(response, chat, stream)
{
    private readonly string _id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N")[..24];
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private bool _roleSent;

    protected override void StartHeaders()
    {
        Response.ContentType = "text/event-stream";
        Response.Headers.CacheControl = "no-cache";
    }

    protected override Task FrameAsync(Action<Utf8JsonWriter> write, CancellationToken ct) => JsonOut.SseAsync(Response, write, ct);

    private void Head(Utf8JsonWriter w)
    {
        w.WriteString("id", _id);
        w.WriteString("object", Chat ? (Stream ? "chat.completion.chunk" : "chat.completion") : "text_completion");
        w.WriteNumber("created", _created);
        w.WriteString("model", model);
        w.WriteString("system_fingerprint", "fp_hailo_ollama");
    }

    /// <summary>
    /// The head and the one-element "choices" array. A whole reply (not streamed) has a "message" (chat) or "text" with
    /// "logprobs": null (completions), its tool calls without an index; a stream chunk has a "delta" (chat) or "text",
    /// its tool calls indexed. Null content: no "content" in the chat object ("" as a completion's text); null calls:
    /// no "tool_calls"; null finish: "finish_reason": null.
    /// </summary>
    private void Choice(Utf8JsonWriter w, bool whole, bool role, string? content, IReadOnlyList<ToolCall>? calls, string? finish)
    {
        Head(w);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        if (Chat)
        {
            w.WriteStartObject(whole ? "message" : "delta");
            if (role) w.WriteString("role", "assistant");
            if (content is not null) w.WriteString("content", content);
            if (calls is not null) WriteCalls(w, calls, withIndex: !whole);
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", content ?? "");
            if (whole) w.WriteNull("logprobs");
        }
        if (finish is null) w.WriteNull("finish_reason");
        else w.WriteString("finish_reason", finish);
        w.WriteEndObject();
        w.WriteEndArray();
    }

    protected override async Task StreamPieceAsync(string text, CancellationToken ct)
    {
        await EventAsync(w => Choice(w, whole: false, role: !_roleSent, text, null, null), ct).ConfigureAwait(false);
        _roleSent = true;
    }

    protected override async Task StreamToolCallsAsync(IReadOnlyList<ToolCall> calls, CancellationToken ct)
    {
        await EventAsync(w => Choice(w, whole: false, role: !_roleSent, null, calls, null), ct).ConfigureAwait(false);
        _roleSent = true;
    }

    public static void WriteCalls(Utf8JsonWriter w, IReadOnlyList<ToolCall> calls, bool withIndex)
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

    private static void Usage(Utf8JsonWriter w, CompletionResult r)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", r.Stats.PromptTokens);
        w.WriteNumber("completion_tokens", r.Stats.EvalTokens);
        w.WriteNumber("total_tokens", r.Stats.PromptTokens + r.Stats.EvalTokens);
        w.WriteEndObject();
    }

    public override async Task DoneAsync(CompletionResult r, CancellationToken ct)
    {
        var finish = Calls.Count > 0 ? "tool_calls" : r.DoneReason == "length" ? "length" : "stop";
        if (!Stream)
        {
            await JsonOut.SingleAsync(Response, w =>
            {
                Choice(w, whole: true, role: true, All.ToString(), Calls.Count > 0 ? Calls : null, finish);
                Usage(w, r);
            }, ct).ConfigureAwait(false);
            return;
        }
        await EventAsync(w => Choice(w, whole: false, role: false, null, null, finish), ct).ConfigureAwait(false);
        if (includeUsage)
            await EventAsync(w =>
            {
                Head(w);
                w.WriteStartArray("choices");
                w.WriteEndArray();
                Usage(w, r);
            }, ct).ConfigureAwait(false);
        await DoneMarkerAsync(ct).ConfigureAwait(false);
    }

    public override async Task ErrorAsync(GenAiException error, CancellationToken ct)
    {
        await EventAsync(w =>
        {
            w.WriteStartObject("error");
            writeError(w, error);
            w.WriteEndObject();
        }, ct).ConfigureAwait(false);
        await DoneMarkerAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The stream's last event.</summary>
    private async Task DoneMarkerAsync(CancellationToken ct)
    {
        await Response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), ct).ConfigureAwait(false);
        await Response.Body.FlushAsync(ct).ConfigureAwait(false);
    }
}
