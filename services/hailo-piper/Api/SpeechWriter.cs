using System.Buffers.Binary;
using Hailo.Audio.Encoding;
using Hailo.Hosting.Http;

namespace HailoPiper.Api;

/// <summary>
/// Turns a voice's float samples into the bytes of one response_format, chunk by chunk as the voice speaks, with
/// Hailo.Audio's encoders: mp3 (libmp3lame), opus (Ogg Opus, 48 kHz), aac (ffmpeg), flac (libFLAC), wav (the voice's
/// rate, 16-bit mono; streamed, so its sizes say "unknown" as a stream's WAV does) and pcm (OpenAI's raw 24 kHz
/// 16-bit little-endian mono). A format whose library is not installed is a 400 that says what to install.
/// </summary>
public sealed class SpeechWriter : IAsyncDisposable
{
    /// <summary>OpenAI's response formats, in OpenAI's order.</summary>
    public static IReadOnlyList<string> Formats => AudioEncoders.Names;
    /// <summary>OpenAI's pcm: 24 kHz, 16-bit little-endian, mono.</summary>
    public const int PcmRate = AudioEncoders.PcmRate;

    private readonly ChunkSink _sink = new();
    private readonly IAudioEncoder _encoder;

    private SpeechWriter(AudioFormat format, int voiceRate, AudioEncoderOptions? options)
    {
        Format = AudioEncoders.Name(format);
        ContentType = AudioEncoders.ContentType(format);
        try
        {
            _encoder = AudioEncoders.Create(format, voiceRate, _sink, options);
        }
        catch (AudioEncoderUnavailableException e)
        {
            throw Unavailable(Format, e.Message);
        }
    }

    public string Format { get; }
    public string ContentType { get; }
    public int OutputRate => _encoder.OutputRate;

    /// <summary>The writer for a format checked by <see cref="Check"/>.</summary>
    public static SpeechWriter Create(string format, int voiceRate, AudioEncoderOptions? options = null) =>
        AudioEncoders.TryParse(format, out var f) ? new SpeechWriter(f, voiceRate, options) : throw Invalid(format, "response_format");

    /// <summary>
    /// The format as a request names it (OpenAI's default mp3 when absent), checked: one of <see cref="Formats"/>
    /// (400 invalid_response_format otherwise) whose encoder can run here (400 format_unavailable naming the package).
    /// </summary>
    public static string Check(string? requested, string param = "response_format", AudioEncoderOptions? options = null)
    {
        if (!AudioEncoders.TryParse(requested ?? "mp3", out var f)) throw Invalid(requested, param);
        var name = AudioEncoders.Name(f);
        if (AudioEncoders.Unavailable(f, options) is { } why) throw Unavailable(name, why, param);
        return name;
    }

    private static ApiException Invalid(string? requested, string param) =>
        ApiException.BadRequest("invalid_response_format", $"'{param}' must be one of {string.Join(", ", Formats)}, got '{Hailo.Core.ClientText.Quote(requested)}'", param);

    private static ApiException Unavailable(string format, string why, string param = "response_format") =>
        ApiException.BadRequest("format_unavailable", $"response_format '{format}' cannot be encoded on this machine: {why}; wav and pcm always can", param);

    /// <summary>What the encoder wrote before any samples (a stream's WAV header; nothing for most formats).</summary>
    public byte[] Header() => Drain();

    /// <summary>The bytes ready after one chunk of the voice's samples (for some formats none until more come).</summary>
    public async ValueTask<byte[]> WriteAsync(float[] samples, CancellationToken ct)
    {
        await _encoder.WriteAsync(samples, ct).ConfigureAwait(false);
        return Drain();
    }

    /// <summary>The bytes still held: the encoder's last frames and the format's trailer.</summary>
    public async ValueTask<byte[]> FinishAsync(CancellationToken ct)
    {
        await _encoder.CompleteAsync(ct).ConfigureAwait(false);
        return Drain();
    }

    private byte[] Drain() => _sink.Drain();

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

    public async ValueTask DisposeAsync()
    {
        await _encoder.DisposeAsync().ConfigureAwait(false);
        await _sink.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// Where the encoder writes: collects its bytes until they are taken for the response. Forward only, as the response
/// body is (a seekable output would have the wav encoder go back to fill in sizes in bytes already sent).
/// </summary>
internal sealed class ChunkSink : Stream
{
    private readonly MemoryStream _bytes = new();

    public byte[] Drain()
    {
        var bytes = _bytes.ToArray();
        _bytes.SetLength(0);
        return bytes;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => _bytes.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => _bytes.Write(buffer);

    protected override void Dispose(bool disposing)
    {
        if (disposing) _bytes.Dispose();
        base.Dispose(disposing);
    }
}
