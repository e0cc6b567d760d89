using Hailo.Core;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Hailo.GenAI;
using Hailo.GenAI.Chat;
using LLama;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;

namespace HailoOllama.Engine;

/// <summary>
/// A GGUF model on the CPU through LLamaSharp (llama.cpp). One context (KV cache) per loaded model, reused across
/// requests: the tokens of the previous prompt + reply are remembered and only what differs is evaluated again
/// (a chat that grows by one turn re-evaluates just that turn). The context is re-created when a request asks for
/// another num_ctx. One generation at a time (the scheduler serialises requests per model).
/// </summary>
public sealed class LlamaRunner : IModelRunner
{
    private readonly LLamaWeights _weights;
    private readonly string _path;
    private readonly int _threads;
    private readonly int _batch;
    private LLamaContext? _context;
    private readonly List<LLamaToken> _cached = [];
    private LLamaEmbedder? _embedder;
    private int _embedderCtx;

    public Backend Backend => Backend.Cpu;
    public int ContextSize => (int)(_context?.ContextSize ?? 0);
    public int TrainedContext { get; }
    public bool CanEmbed => true;
    public long MemoryBytes => (long)_weights.SizeInBytes + KvBytes(ContextSize);
    public LLamaWeights Weights => _weights;

    private LlamaRunner(LLamaWeights weights, string path, int threads, int batch)
    {
        _weights = weights;
        _path = path;
        _threads = threads;
        _batch = batch;
        TrainedContext = Math.Max(1, weights.ContextSize);
    }

    public static LlamaRunner Load(string path, int threads, int numCtx, int batch = 512)
    {
        LlamaNative.Configure();
        var p = new ModelParams(path) { ContextSize = (uint)numCtx, GpuLayerCount = 0, Threads = threads, BatchThreads = threads, BatchSize = (uint)batch };
        var weights = LLamaWeights.LoadFromFile(p);
        var runner = new LlamaRunner(weights, path, threads, batch);
        try
        {
            runner.EnsureContext(Math.Min(numCtx, runner.TrainedContext));
            return runner;
        }
        catch
        {
            runner.Dispose();
            throw;
        }
    }

    private long KvBytes(int ctx)
    {
        var h = _weights.NativeHandle;
        if (h.HeadCount == 0) return 0;
        var headDim = h.EmbeddingSize / h.HeadCount;
        return 2L * h.LayerCount * ctx * h.KVHeadCount * headDim * 2; // K and V in F16
    }

    private ModelParams Params(int ctx, bool embeddings = false) => new(_path)
    {
        ContextSize = (uint)ctx, Threads = _threads, BatchThreads = _threads, BatchSize = (uint)Math.Min(_batch, ctx),
        UBatchSize = (uint)Math.Min(_batch, ctx), Embeddings = embeddings,
    };

    private LLamaContext EnsureContext(int ctx)
    {
        if (_context is not null && _context.ContextSize == ctx) return _context;
        _context?.Dispose();
        _context = null;
        _cached.Clear();
        _context = _weights.CreateContext(Params(ctx));
        return _context;
    }

    public int[] Tokenize(string text, bool addSpecial) =>
        Array.ConvertAll(_weights.NativeHandle.Tokenize(text, addSpecial, true, Encoding.UTF8), t => (int)t);

    /// <summary>Texts up to this many characters are counted exactly, in one tokenisation.</summary>
    internal const int ExactCountChars = 1 << 18;

    /// <summary>
    /// The text's token count; exact up to <see cref="ExactCountChars"/> characters. A longer text is counted 16 K
    /// characters at a time (split after a space or newline where one is near), which may count a token that spans
    /// a split twice: such a text is already far beyond any context, and the callers only compare the count with a
    /// context-sized budget. Tokenising megabytes in one piece took llama.cpp over a minute for a text of many
    /// special-token strings (its special-token splitting grows faster than the text), holding the model all the while.
    /// </summary>
    public int CountTokens(string text, bool addSpecial)
    {
        if (text.Length <= ExactCountChars) return Tokenize(text, addSpecial).Length;
        const int Chunk = 1 << 14;
        long count = addSpecial ? Tokenize("", true).Length : 0;
        for (var at = 0; at < text.Length;)
        {
            var end = Math.Min(text.Length, at + Chunk);
            if (end < text.Length)
            {
                var space = text.AsSpan(end - 256, 256).LastIndexOfAny(' ', '\n');
                if (space >= 0) end = end - 256 + space + 1;
                else if (char.IsHighSurrogate(text[end - 1])) end--;
            }
            count += _weights.NativeHandle.Tokenize(text[at..end], false, true, Encoding.UTF8).Length;
            at = end;
        }
        return (int)Math.Min(count, int.MaxValue);
    }

    /// <summary>
    /// llama.cpp's own template code, which knows more families by their markers than the service renders. A template
    /// it does not know either is prompted as one without a template.
    /// </summary>
    public string? RenderChat(IReadOnlyList<ChatTurn> turns)
    {
        try
        {
            var t = new LLamaTemplate(_weights) { AddAssistant = true };
            foreach (var turn in turns) t.Add(turn.Role, turn.Content);
            return Encoding.UTF8.GetString(t.Apply());
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or LLama.Exceptions.RuntimeError)
        {
            return NoTemplate.Transcript(turns);
        }
    }

    /// <summary>Tokens in the model's vocabulary: valid ids are 0 to this minus one.</summary>
    public int VocabSize => _weights.Vocab.Count;

    /// <summary>
    /// Checks token ids a client sent before any reaches llama.cpp, which aborts the process on one outside the
    /// vocabulary. <paramref name="field"/> names them in the message (e.g. "context").
    /// </summary>
    /// <exception cref="GenAiException">400 naming the first id that is not in the vocabulary, and its size.</exception>
    public void CheckTokenIds(ReadOnlySpan<long> ids, string field)
    {
        var vocab = VocabSize;
        for (var i = 0; i < ids.Length; i++)
            if (ids[i] < 0 || ids[i] >= vocab)
                throw new GenAiException(400, $"{field}[{i}] is {ids[i]}, not a token id of this model: its vocabulary has {vocab} tokens (ids 0 to {vocab - 1})");
    }

    /// <summary>The text of <paramref name="tokens"/> (ids outside the vocabulary are refused, not sent to llama.cpp).</summary>
    public string Detokenize(ReadOnlySpan<int> tokens)
    {
        foreach (var t in tokens)
            if ((uint)t >= (uint)VocabSize) throw new GenAiException(400, $"{t} is not a token id of this model (its vocabulary has {VocabSize} tokens)");
        var d = new StreamingTokenDecoder(Encoding.UTF8, _weights);
        foreach (var t in tokens) d.Add(t);
        return d.Read();
    }

    private int _longestPiece;

    /// <summary>
    /// The part of a prompt that can reach the model. Only the last <paramref name="ctxSize"/> tokens of a prompt are
    /// kept (it is truncated from the front below), and no token is longer than the vocabulary's longest piece, so
    /// those tokens lie within the last ctxSize × longest characters (a UTF-8 piece has at least one byte per
    /// character). A prompt far longer than that is cut there before it is tokenised: tokenising megabytes that are
    /// then thrown away held the model for most of a minute under load. The first few tokens after the cut may differ
    /// from the whole prompt's; with this margin they are among those truncated anyway.
    /// </summary>
    internal string Tail(string prompt, int ctxSize)
    {
        if (prompt.Length <= 4L * ctxSize) return prompt; // short: tokenising it whole costs little, and the vocabulary is not scanned
        if (_longestPiece == 0)
        {
            Span<byte> piece = stackalloc byte[1024];
            var longest = 1;
            for (var t = 0; t < VocabSize; t++)
            {
                var n = (int)_weights.NativeHandle.TokenToSpan((LLamaToken)t, piece, 0, true);
                longest = Math.Max(longest, n);
            }
            _longestPiece = longest;
        }
        var keep = (2L * ctxSize + 16) * _longestPiece;
        if (prompt.Length <= keep) return prompt;
        var from = prompt.Length - (int)keep;
        if (char.IsLowSurrogate(prompt[from])) from++;
        return prompt[from..];
    }

    public IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationInput input, CancellationToken ct) =>
        WorkerStream.Start((onPiece, token) => Run(input, onPiece, token), ct);

    /// <summary>The generation loop itself (also what the benchmark compares against LLamaSharp's own executor).</summary>
    public GenerationStats Run(GenerationInput input, Action<string> onPiece, CancellationToken ct)
    {
        var ctxSize = Math.Min(input.NumCtx, TrainedContext);
        var context = EnsureContext(ctxSize);
        var handle = context.NativeHandle;
        var vocab = _weights.Vocab;
        var tokens = _weights.NativeHandle.Tokenize(Tail(input.Prompt, ctxSize), input.AddSpecial, true, Encoding.UTF8).ToList();
        if (tokens.Count == 0) tokens.Add(vocab.BOS ?? vocab.EOS ?? (LLamaToken)0);

        // Keep room for at least one generated token: truncate from the front (after a leading BOS).
        var truncated = 0;
        var room = ctxSize - 1;
        if (tokens.Count > room)
        {
            truncated = tokens.Count - room;
            var keepBos = vocab.BOS is { } bos && tokens[0] == bos ? 1 : 0;
            tokens.RemoveRange(keepBos, truncated);
        }

        var start = Stopwatch.GetTimestamp();
        var common = 0;
        while (common < _cached.Count && common < tokens.Count && _cached[common] == tokens[common]) common++;
        if (common == tokens.Count) common--; // the last prompt token is evaluated again for its logits
        if (common < _cached.Count)
        {
            handle.MemorySequenceRemove(LLamaSeqId.Zero, common, -1);
            _cached.RemoveRange(common, _cached.Count - common);
        }

        var b = new LLamaBatch();
        var batchSize = (int)context.BatchSize;
        for (var i = common; i < tokens.Count; i += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            b.Clear();
            var end = Math.Min(tokens.Count, i + batchSize);
            for (var k = i; k < end; k++) b.Add(tokens[k], k, LLamaSeqId.Zero, k == tokens.Count - 1);
            Check(handle.Decode(b));
            _cached.AddRange(tokens.GetRange(i, end - i));
            input.Progress?.Invoke();
        }
        var promptNs = ElapsedNs(start);
        var promptEvaluated = tokens.Count - common;

        var o = input.Options;
        using var sampler = new DefaultSamplingPipeline
        {
            Temperature = o.Temperature,
            TopK = o.TopK,
            TopP = o.TopP,
            MinP = o.MinP,
            TypicalP = o.TypicalP,
            RepeatPenalty = o.RepeatPenalty,
            // No further back than the context: llama.cpp allocates a buffer of this many tokens.
            PenaltyCount = o.RepeatLastN < 0 ? ctxSize : Math.Min(o.RepeatLastN, ctxSize),
            PresencePenalty = o.PresencePenalty,
            FrequencyPenalty = o.FrequencyPenalty,
            Seed = o.Seed ?? (uint)Random.Shared.Next(),
            Grammar = input.Grammar is null ? null : new Grammar(input.Grammar, "root"),
        };

        var decoder = new StreamingTokenDecoder(Encoding.UTF8, _weights);
        var evalStart = Stopwatch.GetTimestamp();
        var generated = 0;
        var reason = FinishReason.Length;
        var logitIndex = b.TokenCount - 1;
        var limit = o.NumPredict < 0 ? int.MaxValue : o.NumPredict;
        while (generated < limit)
        {
            ct.ThrowIfCancellationRequested();
            if (input.Signal.Requested) { reason = FinishReason.Stop; break; }
            if (_cached.Count >= ctxSize) { reason = FinishReason.Length; break; }
            var token = sampler.Sample(handle, logitIndex);
            if (token.IsEndOfGeneration(vocab)) { reason = FinishReason.Stop; break; }
            generated++;
            decoder.Add(token);
            var piece = decoder.Read();
            if (piece.Length > 0) onPiece(piece);
            b.Clear();
            b.Add(token, _cached.Count, LLamaSeqId.Zero, true);
            Check(handle.Decode(b));
            _cached.Add(token);
            logitIndex = 0;
        }
        var evalNs = ElapsedNs(evalStart);
        return new GenerationStats(promptEvaluated, promptNs, generated, evalNs, reason,
            _cached.Select(t => (int)t).ToArray(), truncated);
    }

    private static long ElapsedNs(long start) => (long)(Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1_000_000);

    private static void Check(DecodeResult r)
    {
        if (r != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed: {r}");
    }

    public (float[][] Vectors, int Tokens) Embed(IReadOnlyList<string> inputs, bool truncate, int numCtx, CancellationToken ct)
    {
        var ctx = Math.Min(numCtx, TrainedContext);
        if (_embedder is null || _embedderCtx != ctx)
        {
            _embedder?.Dispose();
            _embedder = new LLamaEmbedder(_weights, Params(ctx, embeddings: true));
            _embedderCtx = ctx;
        }
        var vectors = new float[inputs.Count][];
        var total = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            var text = inputs[i];
            var tokens = Tokenize(text, true);
            if (tokens.Length > ctx)
            {
                if (!truncate) throw new GenAiException(400, $"input {i} is {tokens.Length} tokens, longer than the context ({ctx}); set truncate: true to cut it");
                text = Detokenize(tokens.AsSpan(0, ctx - 1));
                tokens = Tokenize(text, true);
            }
            if (tokens.Length == 0) throw new GenAiException(400, $"input {i} is empty: it has no tokens to embed");
            total += tokens.Length;
            var e = _embedder.GetEmbeddings(text, ct).GetAwaiter().GetResult();
            var v = e.Count == 1 ? e[0] : Mean(e);
            vectors[i] = Normalise(v);
        }
        return (vectors, total);
    }

    private static float[] Mean(IReadOnlyList<float[]> rows)
    {
        var m = new float[rows[0].Length];
        foreach (var r in rows) for (var i = 0; i < m.Length; i++) m[i] += r[i] / rows.Count;
        return m;
    }

    private static float[] Normalise(float[] v)
    {
        double s = 0;
        foreach (var x in v) s += x * x;
        var n = (float)Math.Sqrt(s);
        if (n > 0) for (var i = 0; i < v.Length; i++) v[i] /= n;
        return v;
    }

    public void Dispose()
    {
        _embedder?.Dispose();
        _context?.Dispose();
        _weights.Dispose();
    }
}

/// <summary>
/// One-time native set-up of llama.cpp: its log goes to ours (warnings and errors only). The callback is a static
/// [UnmanagedCallersOnly] function handed to llama_log_set of the library LLamaSharp loaded: a managed delegate would
/// need a thunk written at run time, which MemoryDenyWriteExecute=yes (the systemd unit's hardening) forbids.
/// </summary>
public static unsafe class LlamaNative
{
    private static int s_done;
    public static Microsoft.Extensions.Logging.ILogger? Log { get; set; }

    // ggml_log_level (ggml.h)
    private const int LevelWarn = 3, LevelError = 4;

    public static void Configure()
    {
        if (Interlocked.Exchange(ref s_done, 1) != 0) return;
        NativeApi.llama_empty_call(); // loads the build of llama.cpp LLamaSharp picks for this CPU
        // Already loaded, so the name finds that very library (by its SONAME) rather than loading another.
        if (NativeLibrary.TryLoad("libllama.so", out var library) && NativeLibrary.TryGetExport(library, "llama_log_set", out var logSet))
            ((delegate* unmanaged<delegate* unmanaged<int, byte*, void*, void>, void*, void>)logSet)(&OnLog, null);
        else
            Log?.LogWarning("llama.cpp's log could not be redirected (llama_log_set not found); it goes to standard error");
    }

    [UnmanagedCallersOnly]
    private static void OnLog(int level, byte* text, void* user)
    {
        try
        {
            if (Log is null || level is not (LevelWarn or LevelError) || text == null) return;
            var message = Marshal.PtrToStringUTF8((IntPtr)text)?.TrimEnd();
            if (string.IsNullOrEmpty(message)) return;
            Log.Log(level == LevelError ? Microsoft.Extensions.Logging.LogLevel.Error : Microsoft.Extensions.Logging.LogLevel.Warning, "llama.cpp: {Message}", message);
        }
        catch
        {
            // Nothing may unwind into native code.
        }
    }
}
