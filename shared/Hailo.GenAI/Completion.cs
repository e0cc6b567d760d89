using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hailo.GenAI.Chat;
using Microsoft.Extensions.Logging;

namespace Hailo.GenAI;

/// <summary>One generation request, in engine terms, whatever API it came from.</summary>
public sealed record CompletionJob
{
    public required IModelFile Model { get; init; }
    /// <summary>A chat: rendered with the model's template (or sent as messages on the NPU).</summary>
    public IReadOnlyList<ChatTurn>? Turns { get; init; }
    /// <summary>A finished prompt (generate: raw or templated).</summary>
    public string? Prompt { get; init; }
    /// <summary>Tokenise the prompt with the model's BOS (raw prompts and custom templates).</summary>
    public bool AddSpecial { get; init; }
    public required SamplingOptions Options { get; init; }
    public string? Grammar { get; init; }
    public IReadOnlyList<JsonElement>? Tools { get; init; }
    public TimeSpan? KeepAlive { get; init; }
    /// <summary>false: refuse a prompt longer than the context instead of cutting it.</summary>
    public bool Truncate { get; init; } = true;
}

/// <summary>Where a generation's output goes: an API family's stream or single response.</summary>
public interface ICompletionSink
{
    Task PieceAsync(string text, CancellationToken ct);
    Task ToolCallsAsync(IReadOnlyList<ToolCall> calls, CancellationToken ct);
    Task DoneAsync(CompletionResult result, CancellationToken ct);
    /// <summary>An error after output started (the status is already sent): in the family's in-stream shape.</summary>
    Task ErrorAsync(GenAiException error, CancellationToken ct);
    bool Started { get; }
}

public sealed record CompletionResult(GenerationStats Stats, string DoneReason, long TotalNs, long LoadNs, string Text, IReadOnlyList<ToolCall> ToolCalls);

/// <summary>The chat templates of a service's models.</summary>
public interface IChatTemplates
{
    /// <summary>The template the service renders for the model; null when it has none of its own (see <see cref="HasNoTemplate"/>).</summary>
    ChatTemplate? Template(IModelFile model);

    /// <summary>
    /// True for a CPU model whose file carries no chat template at all (a base model): prompted as Ollama prompts
    /// one (<see cref="NoTemplate"/>). False with no <see cref="Template"/>: the runner's own template code renders it.
    /// </summary>
    bool HasNoTemplate(IModelFile model);
}

/// <summary>
/// A service's limits on completions: the most messages in a chat (and the setting that sets it, named in the error),
/// and the context when a request names none.
/// </summary>
public sealed record CompletionLimits(int MaxMessages, int DefaultNumCtx, string MaxMessagesSetting = "max_messages");

/// <summary>
/// Runs <see cref="CompletionJob"/>s on the scheduler's models: prompt, context accounting, stop strings, tool calls.
/// A request it cannot serve is a <see cref="GenAiException"/>, which the service maps to its API family's error.
/// </summary>
public sealed class CompletionEngine(Scheduler scheduler, IChatTemplates templates, CompletionLimits limits, ILogger? log = null, IGenAiHost? host = null)
{
    private long _abortedGenerations, _abortedTokens;

    /// <summary>Generations whose client went away before the end, and the tokens they had produced by then.</summary>
    public (long Generations, long Tokens) Aborted => (Interlocked.Read(ref _abortedGenerations), Interlocked.Read(ref _abortedTokens));

    public Scheduler Scheduler => scheduler;
    public IChatTemplates Templates => templates;
    public CompletionLimits Limits => limits;

    public int NumCtx(SamplingOptions o) => o.NumCtx ?? limits.DefaultNumCtx;

    public Task<Lease> AcquireAsync(IModelFile model, int numCtx, TimeSpan? keepAlive, CancellationToken ct) =>
        scheduler.AcquireAsync(model, numCtx, keepAlive, ct);

    /// <summary>
    /// Runs the job into the sink. A client that goes away (ct is the request's abort) stops the generation at its
    /// next token; that is logged (Information) and counted, not an error. Once the response has started nothing
    /// is thrown: there is no status left to set and nobody to read it.
    /// </summary>
    public async Task RunAsync(CompletionJob job, ICompletionSink sink, long startTimestamp, CancellationToken ct)
    {
        var produced = 0;
        try
        {
            await RunCoreAsync(job, sink, startTimestamp, () => produced++, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Interlocked.Increment(ref _abortedGenerations);
            Interlocked.Add(ref _abortedTokens, produced);
            log?.LogInformation("{Model}: client went away after {Tokens} tokens; generation stopped", job.Model.Name, produced);
            if (!sink.Started) throw; // nothing sent yet: the host records it as 499
        }
    }

    private async Task RunCoreAsync(CompletionJob job, ICompletionSink sink, long startTimestamp, Action onToken, CancellationToken ct)
    {
        if (job.Turns is { Count: var count } && count > limits.MaxMessages)
            throw new GenAiException(400, $"the chat has {count} messages, more than the {limits.MaxMessages} allowed ({limits.MaxMessagesSetting})") { Param = "messages" };
        var numCtx = NumCtx(job.Options);
        using var lease = await AcquireAsync(job.Model, numCtx, job.KeepAlive, ct).ConfigureAwait(false);
        var model = lease.Model;
        var ctxSize = Math.Min(numCtx, model.TrainedContext);
        var input = BuildInput(job, model, ctxSize, ct);
        // A generation is one unit of work for the watchdog; each prompt batch and each token is progress.
        Action? progress = null;
        using var work = host?.BeginWork(out progress);
        if (work is not null) input.Progress = progress;

        var stop = new StopFilter(input.Options.Stop);
        var holdTools = job.Tools is { Count: > 0 };
        var text = new StringBuilder();
        var held = new StringBuilder();
        var streaming = true; // false once a possible tool call is being held back
        var family = templates.Template(job.Model)?.Family ?? TemplateFamily.ChatMl;
        GenerationStats? stats = null;
        var stoppedByString = false;
        try
        {
            await foreach (var ev in model.GenerateAsync(input, ct).ConfigureAwait(false))
            {
                progress?.Invoke();
                if (ev.Done is { } d) { stats = d; break; }
                onToken(); // a piece per token, except that a token ending inside a UTF-8 character comes with the next
                if (stoppedByString) continue; // the runner ends at its next token and sends its stats
                var (emit, hit) = stop.Push(ev.Piece!);
                if (emit.Length > 0) await EmitAsync(emit).ConfigureAwait(false);
                if (hit)
                {
                    stoppedByString = true;
                    input.Signal.Request();
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var error = e switch
            {
                GenAiException ge => ge,
                Hailo.Runtime.Npu.HailoException h => new GenAiException(503, $"the NPU failed during generation: {h.Message}", 5),
                _ => new GenAiException(500, $"generation failed: {e.Message}"),
            };
            if (!sink.Started) throw error;
            await sink.ErrorAsync(error, CancellationToken.None).ConfigureAwait(false);
            return;
        }
        if (!stoppedByString)
        {
            var rest = stop.Flush();
            if (rest.Length > 0) await EmitAsync(rest).ConfigureAwait(false);
        }
        // The NPU reports an aborted generation without stats: count what was produced.
        stats ??= new GenerationStats(input.Prompt.Length == 0 ? 0 : model.CountTokens(input.Prompt, input.AddSpecial), 0, CountGenerated(model, text), 0, FinishReason.Stop, [], 0);
        IReadOnlyList<ToolCall> calls = [];
        if (holdTools)
        {
            var known = new HashSet<string>(job.Tools!.Select(ToolName).Where(n => n is not null)!, StringComparer.Ordinal);
            var parsed = ToolCallParser.Parse(held.ToString(), family, known.Count > 0 ? known : null);
            calls = parsed.Calls;
            var content = calls.Count > 0 ? parsed.Content : held.ToString();
            if (content.Length > 0) await sink.PieceAsync(content, ct).ConfigureAwait(false);
            if (calls.Count > 0) await sink.ToolCallsAsync(calls, ct).ConfigureAwait(false);
        }
        var reason = stoppedByString ? "stop" : stats.Reason == FinishReason.Length ? "length" : "stop";
        var total = (long)(Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds * 1e6);
        await sink.DoneAsync(new CompletionResult(stats, reason, total, lease.LoadNs, text.ToString(), calls), ct).ConfigureAwait(false);

        async Task EmitAsync(string piece)
        {
            text.Append(piece);
            if (holdTools)
            {
                if (streaming)
                {
                    var sofar = (held.ToString() + piece).TrimStart();
                    if (sofar.Length == 0 || MightBeToolCall(sofar)) { streaming = false; held.Append(piece); return; }
                }
                else { held.Append(piece); return; }
            }
            await sink.PieceAsync(piece, ct).ConfigureAwait(false);
        }
    }

    private static int CountGenerated(IModelRunner model, StringBuilder text) => text.Length == 0 ? 0 : model.CountTokens(text.ToString(), false);

    private static string? ToolName(JsonElement t) =>
        t.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
            ? n.GetString() : null;

    private static bool MightBeToolCall(string s)
    {
        foreach (var marker in (string[])["<tool_call>", "<|python_tag|>", "{", "["])
            if (s.StartsWith(marker, StringComparison.Ordinal) || marker.StartsWith(s, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>
    /// The prompt as the backend takes it. A chat that does not fit the context loses its oldest turns (the system
    /// prompt and the last turn are kept); what still does not fit is cut from the front by the runner. With
    /// truncate: false such a request is refused instead. The turns kept are found with O(log n) renders of at most
    /// about twice what fits, so a chat of many turns costs one tokenisation of the whole plus little more.
    /// </summary>
    public GenerationInput BuildInput(CompletionJob job, IModelRunner model, int ctxSize, CancellationToken ct)
    {
        var reserve = Math.Min(Math.Max(job.Options.NumPredict, 0), ctxSize / 4);
        var budget = Math.Max(1, ctxSize - Math.Max(1, reserve));
        if (job.Turns is { } turns)
        {
            if (model.Backend == Hailo.Core.Backend.Npu)
                return new GenerationInput("", job.Options, ctxSize, job.Grammar, false, turns.ToList(), job.Tools);
            var template = templates.Template(job.Model);
            var options = job.Options;
            var addSpecial = false;
            Func<IReadOnlyList<ChatTurn>, string> render;
            if (template is not null) render = t => template.Render(t, job.Tools);
            else if (templates.HasNoTemplate(job.Model))
            {
                if (job.Tools is { Count: > 0 })
                    throw new GenAiException(400, $"model '{job.Model.Name}' does not support tools: it has no chat template");
                render = NoTemplate.Transcript;
                addSpecial = true;
                options = options with { Stop = [.. options.Stop, .. NoTemplate.StopStrings] };
            }
            else render = t => LlamaFallback(model, t);

            ct.ThrowIfCancellationRequested();
            var prompt = render(turns);
            var tokens = model.CountTokens(prompt, addSpecial);
            var kept = turns;
            if (tokens > budget)
            {
                if (!job.Truncate)
                    throw new GenAiException(400, $"the input is {tokens} tokens, longer than the context of {ctxSize} (num_ctx); shorten it or allow truncation");
                (kept, prompt) = DropOldestTurns(turns, render, t => model.CountTokens(t, addSpecial), budget, ct);
            }
            return new GenerationInput(prompt, options, ctxSize, job.Grammar, addSpecial, kept, job.Tools);
        }
        var p = job.Prompt ?? "";
        if (!job.Truncate && model.Backend == Hailo.Core.Backend.Cpu)
        {
            var n = model.CountTokens(p, job.AddSpecial);
            if (n > budget) throw new GenAiException(400, $"the input is {n} tokens, longer than the context of {ctxSize} (num_ctx); shorten it or allow truncation");
        }
        return new GenerationInput(p, job.Options, ctxSize, job.Grammar, job.AddSpecial);
    }

    /// <summary>
    /// The newest turns that fit <paramref name="budget"/> (the system prompt and the last turn always stay), given
    /// that the whole chat does not. Keeping more turns never makes the prompt shorter, so the number kept is
    /// searched for: doubled until it no longer fits, then halved between the last fit and the first misfit.
    /// Only prompts of about twice what fits are rendered and tokenised, O(log n) times.
    /// </summary>
    public static (IReadOnlyList<ChatTurn> Turns, string Prompt) DropOldestTurns(IReadOnlyList<ChatTurn> turns,
        Func<IReadOnlyList<ChatTurn>, string> render, Func<string, int> countTokens, int budget, CancellationToken ct)
    {
        var first = turns.Count > 0 && turns[0].Role == "system" ? 1 : 0;
        var last = turns.Count - 1;
        var droppable = last - first; // turns [first, last) may go; the whole chat (all kept) is known not to fit
        if (droppable <= 0) return (turns, render(turns));

        List<ChatTurn> Keep(int newest)
        {
            var list = new List<ChatTurn>(first + newest + 1);
            for (var i = 0; i < first; i++) list.Add(turns[i]);
            for (var i = last - newest; i <= last; i++) list.Add(turns[i]);
            return list;
        }
        (List<ChatTurn> Turns, string Prompt, bool Fits) Try(int newest)
        {
            ct.ThrowIfCancellationRequested();
            var t = Keep(newest);
            var prompt = render(t);
            return (t, prompt, countTokens(prompt) <= budget);
        }

        var best = Try(0);
        if (!best.Fits) return (best.Turns, best.Prompt); // even the last turn alone is too long: the runner cuts it
        int good = 0, bad = droppable;
        for (var n = 1; n < droppable; n *= 2)
        {
            var r = Try(n);
            if (!r.Fits) { bad = n; break; }
            (good, best) = (n, r);
        }
        while (bad - good > 1)
        {
            var mid = good + (bad - good) / 2;
            var r = Try(mid);
            if (r.Fits) (good, best) = (mid, r);
            else bad = mid;
        }
        return (best.Turns, best.Prompt);
    }

    /// <summary>
    /// A model whose template family this service does not render: the runner's own template code (llama.cpp's knows
    /// more families by their markers).
    /// </summary>
    private static string LlamaFallback(IModelRunner model, IReadOnlyList<ChatTurn> turns) =>
        model.RenderChat(turns) ?? throw new GenAiException(400, "this model has no chat template the service can render");
}
