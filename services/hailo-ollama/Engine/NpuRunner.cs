using Hailo.Core;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Hailo.GenAI;
using Hailo.GenAI.Chat;
using Hailo.Runtime.Npu;

namespace HailoOllama.Engine;

/// <summary>
/// A HEF LLM on the Hailo-10H through the shim (HailoRT genai::LLM). Chat requests go to HailoRT as messages and
/// are rendered with the HEF's own template; /api/generate sends the prompt raw. The conversation is cleared before
/// each request (HailoRT accepts a system message only on a fresh context), so no prefix is reused on the NPU.
/// Cancellation aborts the generation on the device. Only one LLM or VLM on the device holds the KV cache: a load
/// while another process holds it fails with <see cref="HailoStatus.InvalidOperation"/>, which the scheduler
/// answers with 503 and Retry-After.
/// </summary>
public sealed class NpuRunner : IModelRunner
{
    private readonly VDevice _vdevice;
    private readonly LlmModel _llm;

    public Backend Backend => Backend.Npu;
    public int ContextSize { get; }
    public int TrainedContext => ContextSize;
    public bool CanEmbed => false;
    public long MemoryBytes { get; }
    public string PromptTemplate { get; }

    private NpuRunner(VDevice vdevice, LlmModel llm, long size)
    {
        _vdevice = vdevice;
        _llm = llm;
        ContextSize = llm.GetContextUsage().MaxTokens;
        MemoryBytes = size;
        PromptTemplate = llm.GetPromptTemplate();
    }

    public static NpuRunner Load(string hefPath)
    {
        var vdevice = VDevice.Open();
        try
        {
            var llm = LlmModel.Create(vdevice, hefPath);
            return new NpuRunner(vdevice, llm, new FileInfo(hefPath).Length);
        }
        catch
        {
            vdevice.Dispose();
            throw;
        }
    }

    public int[] Tokenize(string text, bool addSpecial) => _llm.Tokenize(text);
    public int CountTokens(string text, bool addSpecial) => text.Length == 0 ? 0 : _llm.Tokenize(text).Length;
    /// <summary>None: the NPU takes the chat as messages and applies the model's template itself.</summary>
    public string? RenderChat(IReadOnlyList<ChatTurn> turns) => null;
    public string Detokenize(ReadOnlySpan<int> tokens) => throw new NotSupportedException("the NPU binding has no detokenizer");

    public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationInput input, [EnumeratorCancellation] CancellationToken ct)
    {
        var o = input.Options;
        var greedy = o.Temperature <= 0;
        var p = new GenerationParameters
        {
            Temperature = greedy ? null : o.Temperature,
            TopP = o.TopP,
            TopK = o.TopK > 0 ? o.TopK : null,
            FrequencyPenalty = o.RepeatPenalty > 0 ? o.RepeatPenalty : null,
            MaxGeneratedTokens = o.NumPredict > 0 ? o.NumPredict : null,
            DoSample = !greedy,
            Seed = o.Seed,
        };
        if (_llm.GetContextUsage().UsedTokens > 0) _llm.ClearContext();
        var promptTokens = input.Turns is { } turns
            ? turns.Sum(t => CountTokens(t.Content, false))
            : CountTokens(input.Prompt, false);
        if (promptTokens >= ContextSize)
            throw new GenAiException(400, $"the prompt is {promptTokens} tokens; the NPU model's context holds {ContextSize}");
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var first = 0L;
        NpuGeneration gen;
        if (input.Turns is { } t2)
        {
            var messages = MessagesJson(t2);
            var tools = input.Tools is { Count: > 0 } tl ? "[" + string.Join(',', tl.Select(x => x.GetRawText())) + "]" : null;
            gen = _llm.GenerateChat(messages, tools, p, ct);
        }
        else
        {
            gen = _llm.Generate(input.Prompt, p, ct);
        }
        await using (((IAsyncDisposable)gen).ConfigureAwait(false))
        {
            await foreach (var piece in gen.WithCancellation(ct).ConfigureAwait(false))
            {
                if (input.Signal.Requested) gen.Abort();
                if (first == 0) first = System.Diagnostics.Stopwatch.GetTimestamp();
                yield return new GenerationEvent(piece, null);
            }
            var result = await gen.Completion.ConfigureAwait(false);
            var end = System.Diagnostics.Stopwatch.GetTimestamp();
            if (first == 0) first = end;
            var promptNs = (long)(System.Diagnostics.Stopwatch.GetElapsedTime(start, first).TotalMilliseconds * 1e6);
            var evalNs = (long)(System.Diagnostics.Stopwatch.GetElapsedTime(first, end).TotalMilliseconds * 1e6);
            var reason = result.Status == GenerationStatus.MaxTokensReached ? FinishReason.Length : FinishReason.Stop;
            yield return new GenerationEvent(null, new GenerationStats(promptTokens, promptNs, result.PieceCount, evalNs, reason, [], 0));
        }
    }

    private static string MessagesJson(IReadOnlyList<ChatTurn> turns)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var t in turns)
            {
                w.WriteStartObject();
                w.WriteString("role", t.Role);
                w.WriteString("content", t.Content);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public (float[][] Vectors, int Tokens) Embed(IReadOnlyList<string> inputs, bool truncate, int numCtx, CancellationToken ct) =>
        throw new GenAiException(400, "this model runs on the NPU, which has no embedding model; use a GGUF model on the CPU for embeddings");

    public void Dispose()
    {
        _llm.Dispose();
        _vdevice.Dispose();
    }
}
