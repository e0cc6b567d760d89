using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Hailo.Core;
using Hailo.GenAI.Chat;
using LLama;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;

namespace HailoVision.Engine;

/// <summary>
/// A GGUF vision-language model on the CPU: the text model through LLamaSharp (llama.cpp) and its projector (the
/// "mmproj" GGUF) through llama.cpp's multimodal library, libmtmd. The chat is rendered with the text model's own
/// template, each image standing as libmtmd's media marker at the start of its turn; libmtmd splits the prompt into
/// text and image chunks, adds the model's own image delimiters, encodes every image (handed over as the decoded RGB
/// pixels, never a file) and evaluates the chunks into the context, positions included (M-RoPE for Qwen2-VL). The
/// prompt's token count is the chunks' count, image tokens included. Each request starts from an empty context, so no
/// request sees another's images. One generation at a time (the scheduler serialises requests per model).
/// </summary>
public sealed class MtmdRunner : IModelRunner
{
    private readonly LLamaWeights _weights;
    private readonly MtmdWeights _mtmd;
    private readonly string _path;
    private readonly int _threads;
    private readonly int _batch;
    private LLamaContext? _context;

    /// <summary>libmtmd's media marker: where an image goes in the prompt.</summary>
    public string Marker { get; }
    /// <summary>What one image of the projector's own size costs in context tokens (the count check before encoding).</summary>
    public int ImageTokensEstimate { get; }
    public Backend Backend => Backend.Cpu;
    public int ContextSize => (int)(_context?.ContextSize ?? 0);
    public int TrainedContext { get; }
    public bool CanEmbed => false;
    public long MemoryBytes => (long)_weights.SizeInBytes + _mmprojBytes + KvBytes(ContextSize);
    private readonly long _mmprojBytes;

    private MtmdRunner(LLamaWeights weights, MtmdWeights mtmd, string path, long mmprojBytes, int threads, int batch)
    {
        _weights = weights;
        _mtmd = mtmd;
        _path = path;
        _mmprojBytes = mmprojBytes;
        _threads = threads;
        _batch = batch;
        TrainedContext = Math.Max(1, weights.ContextSize);
        Marker = NativeApi.MtmdDefaultMarker() ?? "<__media__>";
        ImageTokensEstimate = CountImageTokens(64, 64);
    }

    /// <summary>Loads the text model and its projector.</summary>
    /// <exception cref="GenAiException">503 with libmtmd's reason when the projector does not load or does not fit the text model.</exception>
    public static MtmdRunner Load(string ggufPath, string mmprojPath, int threads, int numCtx, int batch = 512)
    {
        MtmdNative.Configure();
        var p = new ModelParams(ggufPath) { ContextSize = (uint)numCtx, GpuLayerCount = 0, Threads = threads, BatchThreads = threads, BatchSize = (uint)batch };
        var weights = LLamaWeights.LoadFromFile(p);
        MtmdWeights mtmd;
        try
        {
            var mp = MtmdContextParams.Default();
            mp.UseGpu = false;
            mp.NThreads = threads;
            mp.PrintTimings = false;
            mtmd = MtmdWeights.LoadFromFile(mmprojPath, weights, mp);
            if (!mtmd.SupportsVision)
            {
                mtmd.Dispose();
                throw new GenAiException(503, $"{Path.GetFileName(mmprojPath)} is a projector without a vision encoder (audio only?)");
            }
        }
        catch (Exception e) when (e is not GenAiException)
        {
            weights.Dispose();
            throw new GenAiException(503, $"llama.cpp's multimodal library could not load the projector {Path.GetFileName(mmprojPath)} for {Path.GetFileName(ggufPath)}: {MtmdNative.LastError ?? e.Message}");
        }
        catch
        {
            weights.Dispose();
            throw;
        }
        var runner = new MtmdRunner(weights, mtmd, ggufPath, new FileInfo(mmprojPath).Length, threads, batch);
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
        return 2L * h.LayerCount * ctx * h.KVHeadCount * (h.EmbeddingSize / h.HeadCount) * 2; // K and V in F16
    }

    private LLamaContext EnsureContext(int ctx)
    {
        if (_context is not null && _context.ContextSize == ctx) return _context;
        _context?.Dispose();
        _context = null;
        _context = _weights.CreateContext(new ModelParams(_path)
        {
            ContextSize = (uint)ctx, Threads = _threads, BatchThreads = _threads,
            BatchSize = (uint)Math.Min(_batch, ctx), UBatchSize = (uint)Math.Min(_batch, ctx),
        });
        return _context;
    }

    /// <summary>The context tokens of the image chunk libmtmd makes of one image of this size.</summary>
    public int CountImageTokens(int width, int height)
    {
        using var bitmap = SafeMtmdEmbed.FromRgbBytes((uint)width, (uint)height, new byte[width * height * 3])
            ?? throw new InvalidOperationException("libmtmd made no bitmap");
        using var chunks = Tokenize(Marker, [bitmap]);
        return chunks.Enumerate().Where(c => c.Type == SafeMtmdInputChunk.SafeMtmdInputChunkType.Image).Sum(c => (int)c.NTokens);
    }

    private SafeMtmdInputChunks Tokenize(string prompt, ReadOnlySpan<SafeMtmdEmbed> bitmaps)
    {
        var r = _mtmd.Tokenize(prompt, false, true, bitmaps, out var chunks);
        if (r != 0 || chunks is null)
        {
            chunks?.Dispose();
            throw r switch
            {
                1 => new GenAiException(400, $"the prompt has not one image marker per image ({bitmaps.Length} image(s))"),
                2 => new GenAiException(400, $"an image could not be prepared for the model: {MtmdNative.LastError ?? "libmtmd's preprocessing failed"}"),
                _ => new GenAiException(500, $"libmtmd could not tokenize the prompt (error {r})"),
            };
        }
        return chunks;
    }

    public int[] Tokenize(string text, bool addSpecial) =>
        Array.ConvertAll(_weights.NativeHandle.Tokenize(text, addSpecial, true, Encoding.UTF8), t => (int)t);

    /// <summary>The text's tokens, each image marker counted as an image of the projector's own size.</summary>
    public int CountTokens(string text, bool addSpecial)
    {
        var parts = text.Split(Marker);
        return Tokenize(string.Concat(parts), addSpecial).Length + (parts.Length - 1) * ImageTokensEstimate;
    }

    /// <summary>
    /// The chat in the text model's own template (llama.cpp's template code), each turn's images as that many media
    /// markers before its text. A marker a client typed is taken out of the text: only images make markers.
    /// </summary>
    public string? RenderChat(IReadOnlyList<ChatTurn> turns)
    {
        var contents = turns.Select(t => string.Concat(Enumerable.Repeat(Marker + "\n", t.Images?.Count ?? 0)) + t.Content.Replace(Marker, "", StringComparison.Ordinal)).ToList();
        try
        {
            var t = new LLamaTemplate(_weights) { AddAssistant = true };
            for (var i = 0; i < turns.Count; i++) t.Add(turns[i].Role, contents[i]);
            return Encoding.UTF8.GetString(t.Apply());
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or LLama.Exceptions.RuntimeError)
        {
            return NoTemplate.Transcript(turns.Select((t, i) => t with { Content = contents[i] }).ToList());
        }
    }

    public string Detokenize(ReadOnlySpan<int> tokens)
    {
        var vocab = _weights.Vocab.Count;
        foreach (var t in tokens)
            if ((uint)t >= (uint)vocab) throw new GenAiException(400, $"{t} is not a token id of this model (its vocabulary has {vocab} tokens)");
        var d = new StreamingTokenDecoder(Encoding.UTF8, _weights);
        foreach (var t in tokens) d.Add(t);
        return d.Read();
    }

    public IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationInput input, CancellationToken ct) =>
        WorkerStream.Start((onPiece, token) => Run(input, onPiece, token), ct);

    /// <summary>The images of the turns in prompt order, as libmtmd bitmaps of their decoded RGB pixels.</summary>
    private static List<SafeMtmdEmbed> Bitmaps(IReadOnlyList<ChatTurn>? turns)
    {
        var list = new List<SafeMtmdEmbed>();
        try
        {
            foreach (var t in turns ?? [])
                foreach (var img in t.Images ?? [])
                    list.Add(SafeMtmdEmbed.FromRgbBytes((uint)img.Width, (uint)img.Height, img.Rgb)
                        ?? throw new GenAiException(400, $"libmtmd refused a {img.Width}×{img.Height} image"));
            return list;
        }
        catch
        {
            foreach (var b in list) b.Dispose();
            throw;
        }
    }

    /// <summary>The generation itself: the prompt's chunks (text and images) evaluated, then tokens sampled.</summary>
    public GenerationStats Run(GenerationInput input, Action<string> onPiece, CancellationToken ct)
    {
        var ctxSize = Math.Min(input.NumCtx, TrainedContext);
        var context = EnsureContext(ctxSize);
        var handle = context.NativeHandle;
        var vocab = _weights.Vocab;
        var prompt = input.Prompt;
        var bitmaps = Bitmaps(input.Turns);
        try
        {
            // A prompt given as text alone (no turns) carries no images: its markers, if any, are not images.
            if (input.Turns is null) prompt = prompt.Replace(Marker, "", StringComparison.Ordinal);
            var markers = prompt.Split(Marker).Length - 1;
            if (markers != bitmaps.Count)
                throw new GenAiException(400, $"the prompt has {markers} image marker(s) for {bitmaps.Count} image(s)");
            var start = Stopwatch.GetTimestamp();
            // llama.cpp's templates leave the BOS out: libmtmd adds it where the text model wants one.
            var r = _mtmd.Tokenize(prompt, true, true, bitmaps.ToArray(), out var chunksOut);
            if (r != 0 || chunksOut is null)
            {
                chunksOut?.Dispose();
                throw r == 2
                    ? new GenAiException(400, $"an image could not be prepared for the model: {MtmdNative.LastError ?? "libmtmd's preprocessing failed"}")
                    : new GenAiException(500, $"libmtmd could not tokenize the prompt (error {r})");
            }
            using var chunks = chunksOut;
            var promptTokens = (int)chunks.CountTokens();
            if (promptTokens >= ctxSize)
                throw new GenAiException(400, $"the prompt and its {bitmaps.Count} image(s) are {promptTokens} tokens, more than the context of {ctxSize} (num_ctx) leaves room for");

            handle.MemoryClear();
            var nPast = 0;
            var batch = (int)context.BatchSize;
            // The enumerated chunks are views into the collection, which frees them.
            var all = chunks.Enumerate().ToList();
            for (var i = 0; i < all.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                var rc = _mtmd.NativeHandle.EvaluateChunk(all[i].NativePtr, handle, ref nPast, 0, batch, i == all.Count - 1);
                if (rc != 0) throw new InvalidOperationException($"libmtmd could not evaluate prompt chunk {i} ({all[i].Type}): error {rc}");
                input.Progress?.Invoke();
            }
            var promptNs = ElapsedNs(start);

            var o = input.Options;
            using var sampler = new DefaultSamplingPipeline
            {
                Temperature = o.Temperature,
                TopK = o.TopK,
                TopP = o.TopP,
                MinP = o.MinP,
                TypicalP = o.TypicalP,
                RepeatPenalty = o.RepeatPenalty,
                PenaltyCount = o.RepeatLastN < 0 ? ctxSize : Math.Min(o.RepeatLastN, ctxSize),
                PresencePenalty = o.PresencePenalty,
                FrequencyPenalty = o.FrequencyPenalty,
                Seed = o.Seed ?? (uint)Random.Shared.Next(),
                Grammar = input.Grammar is null ? null : new Grammar(input.Grammar, "root"),
            };
            var decoder = new StreamingTokenDecoder(Encoding.UTF8, _weights);
            var evalStart = Stopwatch.GetTimestamp();
            var generated = 0;
            var cells = promptTokens;
            var reason = FinishReason.Length;
            var limit = o.NumPredict < 0 ? int.MaxValue : o.NumPredict;
            var b = new LLamaBatch();
            while (generated < limit)
            {
                ct.ThrowIfCancellationRequested();
                if (input.Signal.Requested) { reason = FinishReason.Stop; break; }
                if (cells >= ctxSize) { reason = FinishReason.Length; break; }
                var token = sampler.Sample(handle, -1);
                if (token.IsEndOfGeneration(vocab)) { reason = FinishReason.Stop; break; }
                generated++;
                decoder.Add(token);
                var piece = decoder.Read();
                if (piece.Length > 0) onPiece(piece);
                b.Clear();
                b.Add(token, nPast, LLamaSeqId.Zero, true);
                var d = handle.Decode(b);
                if (d != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed: {d}");
                nPast++;
                cells++;
                input.Progress?.Invoke();
            }
            return new GenerationStats(promptTokens, promptNs, generated, ElapsedNs(evalStart), reason, [], 0);
        }
        finally
        {
            foreach (var bm in bitmaps) bm.Dispose();
        }
    }

    private static long ElapsedNs(long start) => (long)(Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1_000_000);

    public (float[][] Vectors, int Tokens) Embed(IReadOnlyList<string> inputs, bool truncate, int numCtx, CancellationToken ct) =>
        throw new GenAiException(400, "a vision model does not embed");

    public void Dispose()
    {
        _context?.Dispose();
        _mtmd.Dispose();
        _weights.Dispose();
    }
}

/// <summary>
/// One-time native set-up of llama.cpp and libmtmd: their logs go to ours (warnings and errors only), and libmtmd's
/// last error is kept for the message of a projector that does not load. The callbacks are static
/// [UnmanagedCallersOnly] functions (a managed delegate would need a thunk written at run time, which the systemd
/// unit's MemoryDenyWriteExecute=yes forbids).
/// </summary>
public static unsafe class MtmdNative
{
    private static int s_done;
    private static volatile string? s_lastError;
    public static Microsoft.Extensions.Logging.ILogger? Log { get; set; }

    /// <summary>The last error llama.cpp or libmtmd logged (the reason behind a failed load).</summary>
    public static string? LastError => s_lastError;

    private const int LevelWarn = 3, LevelError = 4; // ggml_log_level (ggml.h)

    public static void Configure()
    {
        if (Interlocked.Exchange(ref s_done, 1) != 0) return;
        NativeApi.llama_empty_call(); // loads the build of llama.cpp (and libmtmd) LLamaSharp picks for this CPU
        Set("libllama.so", "llama_log_set");
        _ = NativeApi.MtmdDefaultMarker(); // loads libmtmd
        Set("libmtmd.so", "mtmd_log_set");
    }

    private static void Set(string library, string function)
    {
        if (NativeLibrary.TryLoad(library, out var lib) && NativeLibrary.TryGetExport(lib, function, out var set))
            ((delegate* unmanaged<delegate* unmanaged<int, byte*, void*, void>, void*, void>)set)(&OnLog, null);
        else
            Log?.LogWarning("{Library}'s log could not be redirected ({Function} not found); it goes to standard error", library, function);
    }

    [UnmanagedCallersOnly]
    private static void OnLog(int level, byte* text, void* user)
    {
        try
        {
            if (level is not (LevelWarn or LevelError) || text == null) return;
            var message = Marshal.PtrToStringUTF8((IntPtr)text)?.TrimEnd();
            if (string.IsNullOrEmpty(message)) return;
            if (level == LevelError) s_lastError = message;
            Log?.Log(level == LevelError ? Microsoft.Extensions.Logging.LogLevel.Error : Microsoft.Extensions.Logging.LogLevel.Warning, "llama.cpp: {Message}", message);
        }
        catch
        {
            // Nothing may unwind into native code.
        }
    }
}
