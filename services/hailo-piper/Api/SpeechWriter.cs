using System.Buffers.Binary;
using Hailo.Audio;
using Hailo.Hosting.Http;

namespace HailoPiper.Api;

/// <summary>
/// Turns a voice's float samples into the bytes of one response_format, chunk by chunk as the voice speaks:
/// wav (the voice's rate, 16-bit mono; streamed, so its sizes say "unknown" as a stream's WAV does) and pcm (OpenAI's
/// raw 24 kHz 16-bit little-endian mono, resampled with libsoxr). The compressed formats are answered 400 until
/// encoders are available. One switch: a format is one case here.
/// </summary>
public sealed class SpeechWriter : IDisposable
{
    /// <summary>OpenAI's response formats, in OpenAI's order.</summary>
    public static readonly string[] Formats = ["mp3", "opus", "aac", "flac", "wav", "pcm"];
    /// <summary>What this service writes today.</summary>
    public static readonly string[] Available = ["wav", "pcm"];
    /// <summary>OpenAI's pcm: 24 kHz, 16-bit little-endian, mono.</summary>
    public const int PcmRate = 24000;

    private readonly Resampler? _resampler;
    private readonly PcmQueue? _queue;
    private float[] _take = [];

    private SpeechWriter(string format, int voiceRate, string contentType, int outputRate)
    {
        Format = format;
        ContentType = contentType;
        OutputRate = outputRate;
        if (outputRate != voiceRate)
        {
            _queue = new PcmQueue(null);
            try
            {
                _resampler = new Resampler(voiceRate, outputRate, _queue);
            }
            catch (AudioUnavailableException e)
            {
                throw ApiException.Unavailable("resampler_unavailable", $"pcm is resampled to {outputRate} Hz with libsoxr, which is unavailable: {e.Reason}; fix: {e.Fix}", 60);
            }
        }
    }

    public string Format { get; }
    public string ContentType { get; }
    public int OutputRate { get; }
    /// <summary>Samples written so far (at <see cref="OutputRate"/>).</summary>
    public long Samples { get; private set; }

    /// <summary>The writer for a (checked) format; 400 for a format OpenAI has and this service cannot write yet.</summary>
    public static SpeechWriter Create(string format, int voiceRate) => format switch
    {
        "wav" => new SpeechWriter(format, voiceRate, "audio/wav", voiceRate),
        "pcm" => new SpeechWriter(format, voiceRate, "audio/pcm", PcmRate),
        _ => throw Unsupported(format),
    };

    /// <summary>The format as a request names it, checked: one of <see cref="Formats"/> (400 otherwise), and one this service writes.</summary>
    public static string Check(string? requested, string param = "response_format")
    {
        var f = (requested ?? "mp3").Trim().ToLowerInvariant();
        if (!Formats.Contains(f))
            throw ApiException.BadRequest("invalid_response_format", $"'{param}' must be one of {string.Join(", ", Formats)}, got '{requested}'", param);
        if (!Available.Contains(f)) throw Unsupported(f, param);
        return f;
    }

    private static ApiException Unsupported(string format, string param = "response_format") =>
        ApiException.BadRequest("unsupported_format", $"response_format '{format}' is not yet available; use wav or pcm", param);

    /// <summary>What goes before the first samples: the WAV header of a stream (sizes unknown), else nothing.</summary>
    public byte[] Header() => Format == "wav" ? WavHeader(OutputRate, uint.MaxValue) : [];

    /// <summary>The bytes of one chunk of the voice's samples.</summary>
    public byte[] Write(ReadOnlySpan<float> samples)
    {
        if (_resampler is null) return Pcm16(samples);
        _resampler.Push(samples);
        return Drain();
    }

    /// <summary>The bytes still held (the resampler's tail).</summary>
    public byte[] Finish()
    {
        if (_resampler is null) return [];
        _resampler.Finish();
        return Drain();
    }

    private byte[] Drain()
    {
        var n = _queue!.Count;
        if (_take.Length < n) _take = new float[n];
        _queue.Take(_take.AsSpan(0, n));
        return Pcm16(_take.AsSpan(0, n));
    }

    private byte[] Pcm16(ReadOnlySpan<float> samples)
    {
        var bytes = new byte[samples.Length * 2];
        for (var i = 0; i < samples.Length; i++)
            BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(2 * i), ToInt16(samples[i]));
        Samples += samples.Length;
        return bytes;
    }

    public static short ToInt16(float x) => float.IsNaN(x) ? (short)0 : (short)Math.Clamp(MathF.Round(x * 32767f), -32768f, 32767f);

    /// <summary>A whole WAV file (16-bit mono at <paramref name="rate"/>) with its sizes filled in.</summary>
    public static byte[] Wav(IReadOnlyList<float[]> chunks, int rate)
    {
        var samples = chunks.Sum(c => (long)c.Length);
        var data = checked((uint)(samples * 2));
        var bytes = new byte[44 + data];
        WavHeader(rate, data).CopyTo(bytes, 0);
        var at = 44;
        foreach (var c in chunks)
            foreach (var s in c)
            {
                BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(at), ToInt16(s));
                at += 2;
            }
        return bytes;
    }

    /// <summary>RIFF/WAVE header of 16-bit mono PCM; <paramref name="dataBytes"/> = uint.MaxValue for a stream of unknown length.</summary>
    public static byte[] WavHeader(int rate, uint dataBytes)
    {
        var h = new byte[44];
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), dataBytes == uint.MaxValue ? uint.MaxValue : dataBytes + 36);
        "WAVEfmt "u8.CopyTo(h.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(20), 1); // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(22), 1); // mono
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), (uint)rate);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(28), (uint)rate * 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(32), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(34), 16);
        "data"u8.CopyTo(h.AsSpan(36));
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(40), dataBytes);
        return h;
    }

    public void Dispose()
    {
        _resampler?.Dispose();
        _queue?.Release();
    }
}
