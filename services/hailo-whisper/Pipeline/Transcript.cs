using Hailo.Runtime.Npu;

namespace HailoWhisper.Pipeline;

/// <summary>What one transcription asks for.</summary>
public sealed record TranscribeOptions
{
    public SpeechTask Task { get; init; } = SpeechTask.Transcribe;
    /// <summary>ISO-639-1 code, or null to detect it.</summary>
    public string? Language { get; init; }
    public string? Prompt { get; init; }
    /// <summary>0 = greedy with whisper.cpp's fallback to higher temperatures when a window decodes badly.</summary>
    public float Temperature { get; init; }
    public bool WordTimestamps { get; init; }
}

/// <summary>A word with its times in seconds from the start of the audio.</summary>
public sealed record Word(string Text, double Start, double End, double Probability);

/// <summary>A segment as a backend produced it, times relative to its window; <paramref name="NoSpeechProb"/> is
/// whisper.cpp's probability of the no-speech token for the decode that produced the segment (null: not reported).</summary>
public sealed record RawSegment(double Start, double End, string Text, int[] Tokens, double? AvgLogprob, IReadOnlyList<Word>? Words,
    double? NoSpeechProb = null);

/// <summary>What a backend made of one window of audio.</summary>
public sealed record WindowResult(string? Language, IReadOnlyList<RawSegment> Segments);

/// <summary>A segment of the final transcript, times in seconds from the start of the audio.</summary>
public sealed record Segment(int Id, int Seek, double Start, double End, string Text, int[] Tokens, double Temperature, double? AvgLogprob,
    double CompressionRatio, IReadOnlyList<Word>? Words, double? NoSpeechProb = null);

/// <summary>A whole transcription.</summary>
public sealed record Transcript(string Text, string? Language, double Duration, IReadOnlyList<Segment> Segments, int Windows, double ModelSeconds)
{
    public IEnumerable<Word> Words => Segments.SelectMany(s => s.Words ?? []);
}

/// <summary>A loaded speech model of either backend; one caller at a time.</summary>
public interface ISpeechModel : IDisposable
{
    Hailo.Core.Backend Backend { get; }
    string ModelFile { get; }
    /// <summary>Whether the backend reports word times (whisper.cpp does; HailoRT Speech2Text gives segments only).</summary>
    bool SupportsWordTimestamps { get; }
    /// <summary>Transcribes one window of 16 kHz mono audio; <paramref name="progress"/>, when given, is called as decoding moves on.</summary>
    WindowResult Transcribe(ReadOnlySpan<float> samples, TranscribeOptions options, Action? progress = null);
}
