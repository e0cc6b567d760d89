namespace Hailo.Runtime.Npu;

/// <summary>Whisper task: transcribe in the spoken language, or translate to English.</summary>
public enum SpeechTask
{
    Transcribe = 0,
    Translate = 1,
}

/// <summary>Options of one transcription.</summary>
public sealed record SpeechToTextOptions
{
    public SpeechTask Task { get; init; } = SpeechTask.Transcribe;
    /// <summary>ISO-639-1 code such as "en"; "" = auto-detect.</summary>
    public string Language { get; init; } = "";
    /// <summary>null = model default (HailoRT ≥ 5.2 only).</summary>
    public float? RepetitionPenalty { get; init; }
    /// <summary>null = the shim's default (10 s). HailoRT 5.1/5.2 ignore it.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>One recognised segment, times in seconds from the start of the audio.</summary>
public readonly record struct TranscriptSegment(float StartSeconds, float EndSeconds, string Text);

/// <summary>A loaded Speech2Text (Whisper) model. It does not take the KV cache, so it coexists with an LLM.</summary>
public sealed unsafe class SpeechToText : IDisposable
{
    /// <summary>The only sample rate the models accept.</summary>
    public const int SampleRate = 16000;

    private readonly S2tHandle _handle;

    private SpeechToText(S2tHandle handle, string hefPath)
    {
        _handle = handle;
        HefPath = hefPath;
    }

    public string HefPath { get; }

    internal S2tHandle Handle => _handle;

    public static SpeechToText Create(VDevice vdevice, string hefPath)
    {
        ArgumentNullException.ThrowIfNull(vdevice);
        ArgumentException.ThrowIfNullOrEmpty(hefPath);
        NpuRuntime.EnsureLoaded();
        var st = NativeMethods.hs_s2t_create(vdevice.Handle, hefPath, out var handle);
        if (st != 0) throw Shim.ErrorDisposing(st, handle);
        return new SpeechToText(handle, hefPath);
    }

    /// <summary>
    /// Transcribes 16 kHz mono float PCM in [-1, 1). Blocks for the whole audio (HailoRT has no partial results);
    /// callers on the thread pool should wrap it in Task.Run.
    /// </summary>
    public IReadOnlyList<TranscriptSegment> Transcribe(ReadOnlySpan<float> pcm, SpeechToTextOptions? options = null)
    {
        if (pcm.IsEmpty) throw new ArgumentException("no audio samples", nameof(pcm));
        options ??= new SpeechToTextOptions();
        var p = NativeMethods.hs_s2t_default_params();
        p.Task = (int)options.Task;
        if (options.RepetitionPenalty is { } rp) p.RepetitionPenalty = rp;
        p.TimeoutMs = Shim.TimeoutMs(options.Timeout);
        FixedString.Write(p.Language, 16, options.Language ?? "", nameof(options.Language));

        int st;
        SegmentsHandle segments;
        fixed (float* samples = pcm) st = NativeMethods.hs_s2t_transcribe(_handle, samples, (nuint)pcm.Length, &p, out segments);
        if (st != 0) throw Shim.ErrorDisposing(st, segments);
        using (segments)
        {
            uint count;
            Shim.Check(NativeMethods.hs_segments_count(segments, &count));
            var result = new TranscriptSegment[count];
            for (var i = 0u; i < count; i++)
            {
                float start, end;
                byte* text;
                nuint len;
                Shim.Check(NativeMethods.hs_segment_get(segments, i, &start, &end, &text, &len));
                // The text belongs to the segments handle: copy it before the handle is freed.
                result[i] = new TranscriptSegment(start, end, System.Text.Encoding.UTF8.GetString(text, (int)len));
            }
            return result;
        }
    }

    public void Dispose() => _handle.Dispose();
}
