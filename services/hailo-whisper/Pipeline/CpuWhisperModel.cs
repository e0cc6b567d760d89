using System.Runtime.InteropServices;
using Hailo.Core;
using Hailo.Runtime.Npu;
using Whisper.net;

namespace HailoWhisper.Pipeline;

/// <summary>
/// A ggml Whisper model on the CPU through Whisper.net (whisper.cpp). The weights load once; a decoder (whisper.cpp
/// state) is prepared per combination of task, prompt, temperature and word timestamps and kept for reuse (the
/// default request always finds its decoder warm); the language is switched on the decoder per call.
/// </summary>
public sealed partial class CpuWhisperModel : ISpeechModel, Hailo.Hosting.IWarmUp
{
    private readonly WhisperFactory _factory;
    private readonly int _threads;
    private readonly int _cacheSize;
    private readonly LinkedList<(string Key, WhisperProcessor Processor)> _decoders = new();
    private readonly Lock _use = new();
    private List<SegmentData>? _collect;
    private Action? _progress;

    public CpuWhisperModel(string path, int threads, int cachedDecoders = 2)
    {
        PreferPassiveOpenMpThreads();
        ModelFile = Path.GetFileName(path);
        _threads = threads;
        _cacheSize = Math.Max(1, cachedDecoders);
        try
        {
            _factory = WhisperFactory.FromPath(path);
            // Prepare the default decoder now (whisper.cpp loads the weights here), so the first request does not pay for it.
            Decoder(new TranscribeOptions());
        }
        catch (Exception e) when (e is WhisperModelLoadException or InvalidOperationException or IOException)
        {
            _factory?.Dispose();
            throw new InvalidDataException($"{ModelFile} is not a whisper.cpp ggml model this runtime can load: {e.Message}", e);
        }
    }

    public Backend Backend => Backend.Cpu;
    public string ModelFile { get; }
    public bool SupportsWordTimestamps => true;

    /// <summary>Decoders kept right now (for tests of the reuse).</summary>
    internal int CachedDecoders => _decoders.Count;

    public WindowResult Transcribe(ReadOnlySpan<float> samples, TranscribeOptions options, Action? progress = null)
    {
        lock (_use) return TranscribeLocked(samples, options, progress);
    }

    /// <summary>One second of silence through the default decoder, so its buffers and worker threads exist before the first request.</summary>
    public void WarmUp() => Transcribe(new float[16000], new TranscribeOptions());

    /// <summary>
    /// Disposes every decoder but the default request's (each holds whisper.cpp's state: its KV caches and compute
    /// buffers, tens of MiB): called when the service falls idle. Does nothing while a window is being transcribed.
    /// </summary>
    public void ReleaseIdleDecoders()
    {
        if (!_use.TryEnter()) return;
        try
        {
            var keep = Key(new TranscribeOptions());
            for (var node = _decoders.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Key != keep)
                {
                    node.Value.Processor.Dispose();
                    _decoders.Remove(node);
                }
                node = next;
            }
        }
        finally { _use.Exit(); }
    }

    private WindowResult TranscribeLocked(ReadOnlySpan<float> samples, TranscribeOptions options, Action? progress)
    {
        var processor = Decoder(options);
        processor.ChangeLanguage(options.Language ?? "auto");
        var collected = new List<SegmentData>();
        _collect = collected;
        _progress = progress;
        try
        {
            processor.Process(samples);
        }
        finally
        {
            _collect = null;
            _progress = null;
        }
        string? language = null;
        var segments = new List<RawSegment>(collected.Count);
        foreach (var s in collected)
        {
            language ??= string.IsNullOrEmpty(s.Language) || s.Language == "auto" ? null : s.Language;
            var tokens = s.Tokens ?? [];
            var text = tokens.Where(IsText).ToArray();
            double? avgLogprob = text.Length == 0 ? null : Math.Round(text.Average(t => Math.Log(Math.Max(t.Probability, 1e-10f))), 4);
            segments.Add(new RawSegment(s.Start.TotalSeconds, s.End.TotalSeconds, s.Text, text.Select(t => t.Id).ToArray(), avgLogprob,
                options.WordTimestamps ? Words(text, s) : null, NoSpeech(s.NoSpeechProbability)));
        }
        return new WindowResult(language, segments);
    }

    /// <summary>
    /// whisper.cpp's no-speech probability of the segment's decode (the softmax of the no-speech token after the start
    /// token), as the shortest double that prints like the float; null when it is not a probability.
    /// </summary>
    internal static double? NoSpeech(float p) =>
        float.IsFinite(p) && p is >= 0 and <= 1 ? double.Parse(p.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture) : null;

    // Timestamp and control tokens print as [_BEG_], [_TT_42] or <|endoftext|>; the rest is text.
    private static bool IsText(WhisperToken t) =>
        t.Text is { } s && !s.StartsWith("[_", StringComparison.Ordinal) && !s.StartsWith("<|", StringComparison.Ordinal);

    /// <summary>Joins whisper.cpp's sub-word tokens into words (a word starts with a space) with their token times.</summary>
    internal static IReadOnlyList<Word> Words(IReadOnlyList<WhisperToken> tokens, SegmentData segment)
    {
        var words = new List<Word>();
        string? text = null;
        double start = 0, end = 0, prob = 1;
        foreach (var t in tokens)
        {
            var piece = t.Text ?? "";
            var ts = Math.Max(t.Start, 0) / 100.0;
            var te = Math.Max(t.End, 0) / 100.0;
            if (text is null || piece.StartsWith(' '))
            {
                if (!string.IsNullOrWhiteSpace(text)) words.Add(new Word(text.Trim(), start, Math.Max(end, start), Math.Round(prob, 4)));
                text = piece;
                start = ts;
                end = te;
                prob = t.Probability;
            }
            else
            {
                text += piece;
                end = te;
                prob = Math.Min(prob, t.Probability);
            }
        }
        if (!string.IsNullOrWhiteSpace(text)) words.Add(new Word(text.Trim(), start, Math.Max(end, start), Math.Round(prob, 4)));
        // Token times are only as good as whisper.cpp's alignment: keep them inside the segment and in order.
        double s0 = segment.Start.TotalSeconds, s1 = segment.End.TotalSeconds, last = s0;
        for (var i = 0; i < words.Count; i++)
        {
            var w = words[i];
            var a = Math.Clamp(w.Start, last, s1);
            var b = Math.Clamp(w.End, a, s1);
            words[i] = w with { Start = Math.Round(a, 3), End = Math.Round(b, 3) };
            last = a;
        }
        return words;
    }

    private static string Key(TranscribeOptions o) => $"{o.Task}|{o.Temperature:R}|{o.WordTimestamps}|{o.Prompt}";

    private WhisperProcessor Decoder(TranscribeOptions o)
    {
        var key = Key(o);
        for (var node = _decoders.First; node is not null; node = node.Next)
        {
            if (node.Value.Key != key) continue;
            _decoders.Remove(node);
            _decoders.AddFirst(node);
            return node.Value.Processor;
        }
        var builder = _factory.CreateBuilder()
            .WithThreads(_threads)
            .WithLanguage("auto")
            // whisper.cpp reports each segment and each 30 s step of a window: both are progress for the watchdog.
            .WithSegmentEventHandler(s =>
            {
                _collect?.Add(s);
                _progress?.Invoke();
            })
            .WithProgressHandler(_ => _progress?.Invoke());
        if (o.Task == SpeechTask.Translate) builder = builder.WithTranslate();
        if (!string.IsNullOrWhiteSpace(o.Prompt)) builder = builder.WithPrompt(o.Prompt);
        if (o.Temperature > 0) builder = builder.WithTemperature(o.Temperature);
        if (o.WordTimestamps) builder = builder.WithTokenTimestamps();
        var processor = builder.Build();
        _decoders.AddFirst((key, processor));
        while (_decoders.Count > _cacheSize)
        {
            _decoders.Last!.Value.Processor.Dispose();
            _decoders.RemoveLast();
        }
        return processor;
    }

    public void Dispose()
    {
        foreach (var (_, p) in _decoders) p.Dispose();
        _decoders.Clear();
        _factory.Dispose();
    }

    /// <summary>
    /// whisper.cpp's CPU backend runs its threads under OpenMP; libgomp's "active" waiting keeps idle worker threads
    /// spinning between and after requests. Unless the operator chose otherwise, ask for passive waiting before the
    /// library loads (libgomp reads the variable once, from the C environment).
    /// </summary>
    internal static void PreferPassiveOpenMpThreads()
    {
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is { Length: > 0 }) return;
        Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", "PASSIVE");
        _ = setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
