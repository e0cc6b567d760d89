using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.GenAI.Chat;
using Hailo.Runtime.Npu;

namespace HailoVision.Engine;

/// <summary>
/// A HEF VLM (Qwen2-VL) on the Hailo-10H through the shim (HailoRT genai::VLM). The chat goes to HailoRT as messages
/// whose content holds one {"type":"image"} part per image, in order, before the turn's text; each image becomes one
/// frame of the HEF's fixed size (<see cref="ImagePrep.CoverCrop"/>). The context is cleared after every answer (and
/// before, should a previous one have been cut short), so no request sees another's images. Usage: the prompt's token
/// count is what the device reports in use after the answer minus the tokens it generated, so it includes the images'
/// tokens. Only one LLM or VLM on the device holds the KV cache; the scheduler takes turns with hailo-ollama for it.
/// </summary>
public sealed class VlmRunner : IModelRunner
{
    private readonly VDevice _vdevice;
    private readonly VlmModel _vlm;

    public Backend Backend => Backend.Npu;
    public int ContextSize { get; }
    public int TrainedContext => ContextSize;
    public bool CanEmbed => false;
    public long MemoryBytes { get; }
    public FrameSpec Frame => _vlm.FrameSpec;

    private VlmRunner(VDevice vdevice, VlmModel vlm, long size)
    {
        _vdevice = vdevice;
        _vlm = vlm;
        ContextSize = vlm.GetContextUsage().MaxTokens;
        MemoryBytes = size;
        var f = vlm.FrameSpec;
        if (f.Features != 3 || f.FormatType != NpuFormatType.UInt8 || (long)f.Width * f.Height * 3 != f.FrameSize)
            throw new GenAiException(503, $"the VLM's frame is {f.Height}×{f.Width}×{f.Features} {f.FormatType}; this service feeds RGB UINT8 frames");
    }

    public static VlmRunner Load(string hefPath)
    {
        var vdevice = VDevice.Open();
        try
        {
            var vlm = VlmModel.Create(vdevice, hefPath);
            try { return new VlmRunner(vdevice, vlm, new FileInfo(hefPath).Length); }
            catch { vlm.Dispose(); throw; }
        }
        catch
        {
            vdevice.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An estimate (words and punctuation): the VLM binding has no tokenizer. Used only for a generation the device
    /// cut short without its counts; the usage of a finished answer comes from the device.
    /// </summary>
    public int CountTokens(string text, bool addSpecial) =>
        text.Length == 0 ? 0 : text.Split((char[])[' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries).Length;
    public int[] Tokenize(string text, bool addSpecial) => throw new GenAiException(400, "the NPU VLM has no tokenizer");
    public string? RenderChat(IReadOnlyList<ChatTurn> turns) => null;
    public string Detokenize(ReadOnlySpan<int> tokens) => throw new NotSupportedException("the NPU VLM binding has no detokenizer");

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
        var turns = input.Turns ?? [new ChatTurn("user", input.Prompt)];
        var frames = new List<ReadOnlyMemory<byte>>();
        foreach (var t in turns)
            foreach (var img in t.Images ?? [])
                frames.Add(ImagePrep.CoverCrop(img, _vlm.FrameSpec.Width, _vlm.FrameSpec.Height));
        if (_vlm.GetContextUsage().UsedTokens > 0) _vlm.ClearContext();
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var first = 0L;
        NpuGeneration gen;
        try
        {
            gen = _vlm.Generate(MessagesJson(turns), frames.ToArray(), p, ct);
        }
        catch (HailoException e) when (e.Status == (int)HailoStatus.InvalidArgument)
        {
            throw new GenAiException(400, $"the prompt and its {frames.Count} image(s) do not fit the NPU model's context of {ContextSize} tokens");
        }
        try
        {
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
                var used = _vlm.GetContextUsage().UsedTokens;
                var promptTokens = Math.Max(0, used - result.PieceCount);
                var promptNs = (long)(System.Diagnostics.Stopwatch.GetElapsedTime(start, first).TotalMilliseconds * 1e6);
                var evalNs = (long)(System.Diagnostics.Stopwatch.GetElapsedTime(first, end).TotalMilliseconds * 1e6);
                var reason = result.Status == GenerationStatus.MaxTokensReached ? FinishReason.Length : FinishReason.Stop;
                yield return new GenerationEvent(null, new GenerationStats(promptTokens, promptNs, result.PieceCount, evalNs, reason, [], 0));
            }
        }
        finally
        {
            // Every answer leaves the context empty: the next request (any client) starts fresh.
            try { if (!_vlm.IsGenerating) _vlm.ClearContext(); }
            catch (HailoException) { /* cleared before the next generation instead */ }
        }
    }

    /// <summary>HailoRT's messages: per turn its role and content parts, one {"type":"image"} per image then the text.</summary>
    public static string MessagesJson(IReadOnlyList<ChatTurn> turns)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var t in turns)
            {
                w.WriteStartObject();
                w.WriteString("role", t.Role);
                w.WriteStartArray("content");
                foreach (var _ in t.Images ?? [])
                {
                    w.WriteStartObject();
                    w.WriteString("type", "image");
                    w.WriteEndObject();
                }
                w.WriteStartObject();
                w.WriteString("type", "text");
                w.WriteString("text", t.Content);
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public (float[][] Vectors, int Tokens) Embed(IReadOnlyList<string> inputs, bool truncate, int numCtx, CancellationToken ct) =>
        throw new GenAiException(400, "a vision model does not embed");

    public void Dispose()
    {
        _vlm.Dispose();
        _vdevice.Dispose();
    }
}
