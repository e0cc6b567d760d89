using System.Runtime.CompilerServices;
using System.Text;

namespace HailoPiper.Engine;

/// <summary>
/// espeak-ng's own formant synthesis (Debian's libespeak-ng1 and espeak-ng-data): a voice with no model to
/// download. Named "espeak:&lt;voice&gt;", e.g. espeak:en-us. Speed scales espeak-ng's rate (175 words per minute at
/// speed 1, within the 80–700 it speaks). Sentences as espeak-ng splits them, one chunk each.
/// </summary>
public sealed class EspeakVoice : IVoice
{
    public const string Prefix = "espeak:";

    /// <summary>A sentence longer than this many characters ends at its next clause boundary (espeak-ng itself ends
    /// a clause after about 150 words), so a chunk stays a few tens of seconds at most.</summary>
    public const int MaxSentenceChars = 500;

    public string EspeakName { get; }
    public string Name { get; }
    public int SampleRate { get; }
    public IReadOnlyList<string> Speakers => [];
    public IReadOnlyList<string> Languages { get; }

    /// <param name="voice">An espeak-ng voice name ("en-us"), with or without the "espeak:" prefix.</param>
    /// <exception cref="VoiceLoadException">libespeak-ng is missing or has no such voice.</exception>
    public EspeakVoice(string voice)
    {
        EspeakName = voice.StartsWith(Prefix, StringComparison.Ordinal) ? voice[Prefix.Length..] : voice;
        Espeak.CheckVoice(EspeakName);
        Name = Prefix + EspeakName;
        SampleRate = Espeak.SampleRate;
        var parts = EspeakName.Split('-', 2);
        Languages = [parts.Length == 2 ? $"{parts[0]}_{parts[1].ToUpperInvariant()}" : parts[0]];
    }

    /// <summary>espeak-ng's rate in words per minute for a speed (1 = its default pace).</summary>
    public static int RateFor(float speed) =>
        (int)Math.Clamp(MathF.Round(Espeak.DefaultRate * speed), Espeak.MinRate, Espeak.MaxRate);

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException">Speed not positive.</exception>
    public async IAsyncEnumerable<float[]> SynthesizeAsync(string text, SynthesisOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!(options.Speed > 0) || !float.IsFinite(options.Speed))
            throw new ArgumentOutOfRangeException(nameof(options), options.Speed, "speed must be a positive number");
        var rate = RateFor(options.Speed);
        var silence = VitsVoice.SilenceSamples(options.SentenceSilenceSeconds, SampleRate);

        await Task.Yield();
        foreach (var sentence in Sentences(EspeakName, text))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var samples = Espeak.Synthesize(EspeakName, sentence, rate, cancellationToken);
            if (samples.Length == 0) continue;
            var chunk = new float[samples.Length + silence];
            for (var i = 0; i < samples.Length; i++) chunk[i] = samples[i] / 32768f;
            yield return chunk;
        }
    }

    /// <summary>The text cut into sentences where espeak-ng ends them, run-on ones also at a clause boundary after
    /// <see cref="MaxSentenceChars"/> (sentences with nothing to say left out).</summary>
    public static IReadOnlyList<string> Sentences(string voice, string text)
    {
        var sentences = new List<string>();
        var current = new StringBuilder();
        var speaks = false;
        foreach (var clause in Espeak.Clauses(voice, text))
        {
            current.Append(clause.Text);
            speaks |= clause.Phonemes.Length > 0;
            if (!clause.EndsSentence && current.Length < MaxSentenceChars) continue;
            if (speaks) sentences.Add(current.ToString().Trim());
            current.Clear();
            speaks = false;
        }
        if (speaks) sentences.Add(current.ToString().Trim());
        return sentences;
    }

    public void Dispose() { }
}
