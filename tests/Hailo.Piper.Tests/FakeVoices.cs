using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using HailoPiper.Engine;
using HailoPiper.Voices;

namespace Hailo.Piper.Tests;

/// <summary>
/// A voice for the service's tests: each sentence (the text split after '.') is one chunk of a sine tone,
/// <see cref="SamplesPerChar"/> samples per character at speed 1 (fewer when faster), then the sentence silence. With
/// <see cref="HoldSecondSentence"/> set it waits before the second sentence until <see cref="Release"/>.
/// </summary>
public sealed class SineVoice(string name, int rate, IReadOnlyList<string> languages, IReadOnlyList<string> speakers, FakeVoiceLoader owner) : IVoice
{
    public const int SamplesPerChar = 200;

    public string Name { get; } = name;
    public int SampleRate { get; } = rate;
    public IReadOnlyList<string> Speakers { get; } = speakers;
    public IReadOnlyList<string> Languages { get; } = languages;
    public bool Disposed { get; private set; }

    public static IReadOnlyList<string> Sentences(string text) =>
        text.Split('.', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(s => s.Length > 0).ToArray();

    public static int Length(string sentence, int rate, SynthesisOptions o) =>
        (int)(sentence.Length * SamplesPerChar / o.Speed) + (int)(o.SentenceSilenceSeconds * rate);

    public async IAsyncEnumerable<float[]> SynthesizeAsync(string text, SynthesisOptions options, [EnumeratorCancellation] CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        owner.Started(this, options);
        try
        {
            var i = 0;
            foreach (var sentence in Sentences(text))
            {
                ct.ThrowIfCancellationRequested();
                if (i == 1 && owner.HoldSecondSentence is { } hold) await hold.Task.WaitAsync(ct);
                var n = Length(sentence, SampleRate, options);
                var speech = (int)(sentence.Length * SamplesPerChar / options.Speed);
                var chunk = new float[n];
                for (var k = 0; k < speech; k++) chunk[k] = 0.5f * MathF.Sin(2 * MathF.PI * 440 * k / SampleRate);
                if (owner.Delay > TimeSpan.Zero) await Task.Delay(owner.Delay, ct);
                yield return chunk;
                i++;
            }
        }
        finally
        {
            owner.Ended(this);
        }
    }

    public void Dispose() => Disposed = true;
}

/// <summary>Loads <see cref="SineVoice"/>s for any voice the catalog names, and counts what happens to them.</summary>
public sealed class FakeVoiceLoader : IVoiceLoader
{
    private int _running;
    private int _maxRunning;
    public ConcurrentQueue<string> Loads { get; } = new();
    public ConcurrentDictionary<string, SineVoice> Voices { get; } = new();
    public ConcurrentQueue<SynthesisOptions> Options { get; } = new();
    public TaskCompletionSource? HoldSecondSentence { get; set; }
    public TimeSpan Delay { get; set; }
    /// <summary>Syntheses running at once, at most, since the last reset.</summary>
    public int MaxRunning => Volatile.Read(ref _maxRunning);
    public ConcurrentDictionary<string, int> RunningPerVoice { get; } = new();
    public ConcurrentDictionary<string, int> MaxPerVoice { get; } = new();
    public Func<VoiceInfo, Exception?>? Fail { get; set; }

    public IVoice Load(VoiceInfo voice, CancellationToken ct)
    {
        if (Fail?.Invoke(voice) is { } e) throw e;
        Loads.Enqueue(voice.Name);
        var v = new SineVoice(voice.Name, voice.SampleRate, voice.Languages, voice.Speakers, this);
        Voices[voice.Name] = v;
        return v;
    }

    internal void Started(SineVoice v, SynthesisOptions o)
    {
        Options.Enqueue(o);
        var now = Interlocked.Increment(ref _running);
        int seen;
        while ((seen = Volatile.Read(ref _maxRunning)) < now && Interlocked.CompareExchange(ref _maxRunning, now, seen) != seen) { }
        var mine = RunningPerVoice.AddOrUpdate(v.Name, 1, (_, c) => c + 1);
        MaxPerVoice.AddOrUpdate(v.Name, mine, (_, c) => Math.Max(c, mine));
    }

    internal void Ended(SineVoice v)
    {
        Interlocked.Decrement(ref _running);
        RunningPerVoice.AddOrUpdate(v.Name, 0, (_, c) => c - 1);
    }

    public void ResetCounts()
    {
        Volatile.Write(ref _maxRunning, 0);
        MaxPerVoice.Clear();
    }
}
