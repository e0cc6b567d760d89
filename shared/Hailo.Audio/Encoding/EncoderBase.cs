using System.Buffers.Binary;

namespace Hailo.Audio.Encoding;

/// <summary>
/// What every encoder shares: the order of calls (writes, one completion, disposal), a failed or cancelled encoder
/// refusing further writes, and, for a format with a fixed rate, the input resampled with libsoxr on the way in.
/// </summary>
internal abstract class EncoderBase : IAudioEncoder
{
    private readonly Resampler? _resampler;
    private readonly PcmQueue? _resampled;
    private float[] _block = [];
    private bool _completed, _failed, _disposed;

    protected EncoderBase(Stream output, int inputRate, int outputRate)
    {
        Output = output;
        OutputRate = outputRate;
        if (inputRate == outputRate) return;
        _resampled = new PcmQueue(null);
        _resampler = new Resampler(inputRate, outputRate, _resampled);
    }

    /// <summary>An encoder that takes the input at the rate it encodes (its library resamples, if at all).</summary>
    protected EncoderBase(Stream output, int rate)
    {
        Output = output;
        OutputRate = rate;
    }

    protected Stream Output { get; }

    public int OutputRate { get; }

    public async ValueTask WriteAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken = default)
    {
        Check();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            if (_resampler is not null)
            {
                _resampler.Push(samples.Span);
                samples = TakeResampled();
            }
            await EncodeAsync(samples, cancellationToken);
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    public async ValueTask CompleteAsync(CancellationToken cancellationToken = default)
    {
        Check();
        cancellationToken.ThrowIfCancellationRequested();
        _completed = true;
        try
        {
            if (_resampler is not null)
            {
                _resampler.Finish();
                var tail = TakeResampled();
                if (!tail.IsEmpty) await EncodeAsync(tail, cancellationToken);
            }
            await FinishAsync(cancellationToken);
            await Output.FlushAsync(cancellationToken);
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    private ReadOnlyMemory<float> TakeResampled()
    {
        if (_block.Length < _resampled!.Count) _block = new float[Math.Max(_resampled.Count, 4096)];
        var n = _resampled.Take(_block);
        return _block.AsMemory(0, n);
    }

    private void Check()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) throw new InvalidOperationException("the encoder is complete; it takes no more audio");
        if (_failed) throw new InvalidOperationException("the encoder failed or was cancelled earlier; it takes no more audio");
    }

    /// <summary>Encodes samples at <see cref="OutputRate"/> (valid only during the call) and writes what is ready.</summary>
    protected abstract ValueTask EncodeAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken);

    /// <summary>Flushes the encoder and writes the trailer.</summary>
    protected abstract ValueTask FinishAsync(CancellationToken cancellationToken);

    /// <summary>Releases native state (once).</summary>
    protected virtual ValueTask ReleaseAsync() => default;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        _resampler?.Dispose();
        await ReleaseAsync();
    }

    /// <summary>Float in [-1, 1] to 16-bit, clipped.</summary>
    internal static short ToInt16(float sample) =>
        (short)Math.Clamp(MathF.Round(sample * 32767f), short.MinValue, short.MaxValue);

    /// <summary>Writes samples as 16-bit little-endian into <paramref name="destination"/> (2 bytes each).</summary>
    internal static void ToInt16LittleEndian(ReadOnlySpan<float> samples, Span<byte> destination)
    {
        for (var i = 0; i < samples.Length; i++)
            BinaryPrimitives.WriteInt16LittleEndian(destination[(2 * i)..], ToInt16(samples[i]));
    }
}

/// <summary>
/// RIFF/WAVE, 16-bit mono PCM at the input rate. Streamed, the total length is not known when the header goes out:
/// the RIFF and data sizes are then 0xFFFFFFFF, as OpenAI's API and ffmpeg write them to a pipe, and readers take the
/// data to the end of the stream. When the output can seek, the exact sizes are written over them at completion; when
/// the whole audio is given (<see cref="AudioEncoders.EncodeAsync"/>), they are exact from the start.
/// </summary>
internal sealed class WavEncoder : EncoderBase
{
    private const int HeaderSize = 44;
    private readonly long? _totalSamples;
    private readonly long _start;
    private byte[] _buffer = new byte[8192];
    private bool _headerWritten;
    private long _dataBytes;

    public WavEncoder(int rate, Stream output, long? totalSamples) : base(output, rate, rate)
    {
        _totalSamples = totalSamples;
        _start = output.CanSeek ? output.Position : -1;
    }

    private static uint Clamp(long size) => (uint)Math.Min(size, uint.MaxValue - 1);

    private void Header(Span<byte> h, long? dataBytes)
    {
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], dataBytes is { } d ? Clamp(36 + d) : uint.MaxValue);
        "WAVEfmt "u8.CopyTo(h[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h[20..], 1); // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(h[22..], 1); // mono
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)OutputRate);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], (uint)OutputRate * 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h[32..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h[34..], 16);
        "data"u8.CopyTo(h[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(h[40..], dataBytes is { } e ? Clamp(e) : uint.MaxValue);
    }

    protected override async ValueTask EncodeAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        var offset = _headerWritten ? 0 : HeaderSize;
        var need = offset + samples.Length * 2;
        if (_buffer.Length < need) _buffer = new byte[need];
        if (!_headerWritten) Header(_buffer, _totalSamples * 2);
        ToInt16LittleEndian(samples.Span, _buffer.AsSpan(offset));
        await Output.WriteAsync(_buffer.AsMemory(0, need), cancellationToken);
        _headerWritten = true;
        _dataBytes += samples.Length * 2;
    }

    protected override async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        if (!_headerWritten) await EncodeAsync(ReadOnlyMemory<float>.Empty, cancellationToken);
        if (_totalSamples is not null || _start < 0) return;
        var header = new byte[HeaderSize];
        Header(header, _dataBytes);
        var end = Output.Position;
        Output.Position = _start + 4;
        await Output.WriteAsync(header.AsMemory(4, 4), cancellationToken);
        Output.Position = _start + 40;
        await Output.WriteAsync(header.AsMemory(40, 4), cancellationToken);
        Output.Position = end;
    }
}

/// <summary>Raw 16-bit signed little-endian mono samples at 24 kHz (OpenAI's <c>pcm</c>), resampled from the input rate.</summary>
internal sealed class PcmEncoder(int inputRate, Stream output) : EncoderBase(output, inputRate, AudioEncoders.PcmRate)
{
    private byte[] _buffer = new byte[8192];

    protected override async ValueTask EncodeAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        if (samples.IsEmpty) return;
        if (_buffer.Length < samples.Length * 2) _buffer = new byte[samples.Length * 2];
        ToInt16LittleEndian(samples.Span, _buffer);
        await Output.WriteAsync(_buffer.AsMemory(0, samples.Length * 2), cancellationToken);
    }

    protected override ValueTask FinishAsync(CancellationToken cancellationToken) => default;
}
