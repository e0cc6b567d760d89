namespace Hailo.Wyoming;

/// <summary>The PCM format of an audio-start or audio-chunk event: samples per second, bytes per sample, channels.</summary>
public readonly record struct AudioFormat(int Rate, int Width, int Channels)
{
    /// <summary>
    /// The event's format (Wyoming's defaults, 16 kHz 16-bit mono, where it names none); a format outside
    /// <paramref name="limits"/> ends the connection.
    /// </summary>
    public static AudioFormat Of(WyomingEvent e, WyomingLimits limits)
    {
        var rate = e.Int("rate") ?? 16000;
        var width = e.Int("width") ?? 2;
        var channels = e.Int("channels") ?? 1;
        if (limits.CheckFormat(rate, width, channels) is { } why)
            throw new WyomingProtocolException($"unsupported audio format: {why}", "invalid_audio");
        return new AudioFormat(rate, width, channels);
    }

    /// <summary>Seconds of audio in <paramref name="bytes"/> bytes of this format.</summary>
    public double Seconds(long bytes) => bytes / (double)(Width * Channels) / Rate;
}

/// <summary>
/// The audio a peer sends between audio-start and audio-stop (speech to text, wake word), counted against
/// <see cref="WyomingLimits.MaxSessionBytes"/>: more ends the connection.
/// </summary>
public sealed class AudioInput(WyomingLimits limits)
{
    /// <summary>Whether audio-start came and audio-stop has not yet.</summary>
    public bool Started { get; private set; }
    /// <summary>Bytes of audio since audio-start.</summary>
    public long Bytes { get; private set; }
    /// <summary>Seconds of audio since audio-start.</summary>
    public double Seconds { get; private set; }

    /// <summary>audio-start: checks its format and begins a new utterance.</summary>
    public AudioFormat Start(WyomingEvent e)
    {
        var format = AudioFormat.Of(e, limits);
        Reset();
        Started = true;
        return format;
    }

    /// <summary>
    /// audio-chunk: checks its format and counts its payload; the format and the PCM (null when the chunk has none).
    /// Audio past the cap since audio-start ends the connection.
    /// </summary>
    public (AudioFormat Format, byte[]? Pcm) Chunk(WyomingEvent e)
    {
        var format = AudioFormat.Of(e, limits);
        if (e.Payload is not { Length: > 0 } pcm) return (format, null);
        Bytes += pcm.Length;
        if (Bytes > limits.MaxSessionBytes)
            throw new WyomingProtocolException(
                $"the audio sent since audio-start exceeds {limits.MaxSessionBytes} bytes (wyoming.max_session_mb)", "audio_too_large");
        Seconds += format.Seconds(pcm.Length);
        return (format, pcm);
    }

    /// <summary>audio-stop: the utterance is over.</summary>
    public void Stop()
    {
        Reset();
        Started = false;
    }

    private void Reset()
    {
        Bytes = 0;
        Seconds = 0;
    }
}
