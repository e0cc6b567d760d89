namespace HailoPiper.Engine;

/// <summary>Options for one synthesis. Speed 1 is the voice's own pace; 2 speaks twice as fast.</summary>
public sealed record SynthesisOptions(float Speed = 1f, int? SpeakerId = null, float? NoiseScale = null,
    float? NoiseW = null, float SentenceSilenceSeconds = 0.2f);

/// <summary>A loaded voice. Thread safety: a voice may be used by one synthesis at a time; the service queues.</summary>
public interface IVoice : IDisposable
{
    string Name { get; }
    /// <summary>Output rate in Hz (mono, float samples in [-1, 1]).</summary>
    int SampleRate { get; }
    /// <summary>Speaker names by id for multi-speaker voices; empty for single-speaker voices.</summary>
    IReadOnlyList<string> Speakers { get; }
    /// <summary>Language codes the voice speaks, e.g. "en_US".</summary>
    IReadOnlyList<string> Languages { get; }
    /// <summary>Speaks the text sentence by sentence: one chunk per sentence, the silence after it included, so a
    /// caller can stream the first sentence before the rest is synthesised. Honours cancellation between sentences.</summary>
    IAsyncEnumerable<float[]> SynthesizeAsync(string text, SynthesisOptions options, CancellationToken cancellationToken);
}
