using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hailo.Core;

namespace Hailo.Audio;

/// <summary>Audio ready for speech models: mono float samples in [-1, 1] at <see cref="AudioDecoder.TargetRate"/>.</summary>
public sealed record DecodedAudio(float[] Samples, string Format, int SourceRate, int SourceChannels, double SourceSeconds)
{
    public double Seconds => Samples.Length / (double)AudioDecoder.TargetRate;
}

/// <summary>
/// Decodes WAV (8/16/24/32-bit PCM, 32/64-bit float, μ-law, A-law, ADPCM), FLAC, OGG/Vorbis, Opus and MP3 from memory
/// with libsndfile, and WebM/Matroska with Opus (browsers' MediaRecorder) with <see cref="WebmDemuxer"/> and libopus;
/// mixes the channels to mono and resamples to 16 kHz with libsoxr (HQ). Everything else is refused
/// with 415 and the list of accepted formats; a file of an accepted format that does not decode is a 400; audio
/// longer than the caller's limit is a 413, found from the header where it has the length, before decoding.
/// </summary>
public static unsafe class AudioDecoder
{
    public const int TargetRate = 16000;

    /// <summary>The formats this decoder accepts, for 415 answers and documentation.</summary>
    public static readonly IReadOnlyList<string> AcceptedFormats =
        ["wav (8/16/24/32-bit PCM, 32/64-bit float, μ-law, A-law, ADPCM)", "flac", "ogg (Vorbis)", "opus (Ogg)", "mp3", "webm (Opus)"];

    /// <summary>File extensions of the accepted formats (OpenAI clients name their upload; the content decides).</summary>
    public static readonly IReadOnlyList<string> Extensions = ["wav", "flac", "ogg", "oga", "opus", "mp3", "mpga", "mpeg", "webm", "mka"];

    internal static string Accepted => string.Join(", ", AcceptedFormats);

    /// <summary>Decodes <paramref name="data"/> to 16 kHz mono; <paramref name="maxSeconds"/> bounds the audio's length.</summary>
    public static DecodedAudio Decode(ReadOnlyMemory<byte> data, double maxSeconds)
    {
        using var stream = Open(data, maxSeconds);
        return ReadAll(stream);
    }

    internal static DecodedAudio ReadAll(AudioStream stream)
    {
        var samples = stream.ReadToEnd();
        return new DecodedAudio(samples, stream.Format, stream.SourceRate, stream.SourceChannels, stream.SourceSeconds);
    }

    /// <summary>
    /// Opens <paramref name="data"/> for decoding as it is read (<see cref="AudioStream"/>). What the header shows is
    /// checked here: not audio this decoder accepts (415), a file that does not open (400), audio longer than
    /// <paramref name="maxSeconds"/> where the header has the length (413); the rest shows as the stream is read.
    /// </summary>
    public static AudioStream Open(ReadOnlyMemory<byte> data, double maxSeconds, PcmMeter? meter = null)
    {
        if (data.Length == 0) throw RequestRejectedException.Invalid("empty_file", "the audio file is empty (0 bytes)", "file");
        var container = Sniff(data.Span);
        if (container is null)
            throw RequestRejectedException.Unsupported("unsupported_audio_format",
                $"the file is not audio this service decodes ({Describe(data.Span)}); send one of: {Accepted}", "file");
        NativeAudio.EnsureAvailable();
        if (container == "webm") return WebmOpus.Open(data, maxSeconds, Accepted, meter);
        return SndfileStream.Open(data, container, maxSeconds, meter);
    }

    /// <summary>
    /// <see cref="Decode"/>, and what it refuses as an unsupported format (415) goes to ffmpeg when
    /// <paramref name="ffmpeg"/> finds one: MP4/M4A/AAC (Safari's MediaRecorder), WebM with Vorbis, AIFF, CAF, WMA and
    /// more. Without ffmpeg the 415 says that installing it adds those. When ffmpeg cannot decode the file either, a
    /// container recognised by its magic bytes is a 400 (it is that format, but broken); anything else stays a 415.
    /// </summary>
    public static Task<DecodedAudio> DecodeAsync(ReadOnlyMemory<byte> data, double maxSeconds, FfmpegOptions ffmpeg, CancellationToken ct) =>
        FfmpegConverter.DecodeAsync(data, maxSeconds, ffmpeg, ct);

    /// <summary>
    /// <see cref="Open"/>, with ffmpeg for what it refuses as <see cref="DecodeAsync"/> does: ffmpeg starts here and its
    /// output is read as the stream is; <paramref name="ct"/> kills it.
    /// </summary>
    public static Task<AudioStream> OpenAsync(ReadOnlyMemory<byte> data, double maxSeconds, FfmpegOptions ffmpeg, CancellationToken ct,
        PcmMeter? meter = null) =>
        FfmpegConverter.OpenAsync(data, maxSeconds, ffmpeg, ct, meter);

    /// <summary>Containers recognised by their magic bytes that only ffmpeg decodes here, or null.</summary>
    internal static string? OnlyFfmpegReads(ReadOnlySpan<byte> d)
    {
        static bool At(ReadOnlySpan<byte> d, int offset, string magic) =>
            d.Length >= offset + magic.Length && d.Slice(offset, magic.Length).SequenceEqual(System.Text.Encoding.ASCII.GetBytes(magic));
        if (At(d, 4, "ftyp")) return "MP4/M4A";
        if (WebmDemuxer.HasMagic(d)) return "WebM/Matroska";
        if (At(d, 0, "FORM") && (At(d, 8, "AIFF") || At(d, 8, "AIFC"))) return "AIFF";
        if (At(d, 0, "caff")) return "CAF";
        if (At(d, 0, ".snd")) return "Sun AU";
        if (d.Length >= 2 && d[0] == 0xFF && (d[1] & 0xF6) == 0xF0) return "AAC (ADTS)";
        return null;
    }

    internal static RequestRejectedException TooLong(double seconds, double max) =>
        RequestRejectedException.TooLarge("audio_too_long", $"the audio is {seconds:0.#} s long; this service accepts at most {max:0.#} s", "file");

    /// <summary>Averages interleaved channels into <paramref name="mono"/> (copies when there is one channel).</summary>
    internal static void Mix(ReadOnlySpan<float> interleaved, int channels, Span<float> mono)
    {
        if (channels == 1)
        {
            interleaved.CopyTo(mono);
            return;
        }
        var scale = 1f / channels;
        for (int i = 0, j = 0; i < mono.Length; i++, j += channels)
        {
            var sum = 0f;
            for (var c = 0; c < channels; c++) sum += interleaved[j + c];
            mono[i] = sum * scale;
        }
    }

    /// <summary>Resamples mono audio to 16 kHz with libsoxr (HQ recipe); returns a copy when it is already 16 kHz.</summary>
    public static float[] Resample(ReadOnlySpan<float> mono, int fromRate)
    {
        if (mono.IsEmpty) return [];
        var output = new PcmQueue(null);
        using var resampler = new Resampler(fromRate, output);
        resampler.Push(mono);
        resampler.Finish();
        var result = new float[output.Count];
        output.Take(result);
        return result;
    }

    /// <summary>
    /// Raw little-endian PCM (Wyoming's audio-chunk payloads) to 16 kHz mono float: width 1 (unsigned 8-bit), 2, 3 or 4
    /// bytes (signed), any channel count.
    /// </summary>
    public static float[] FromPcm(ReadOnlySpan<byte> pcm, int rate, int width, int channels)
    {
        if (width is < 1 or > 4) throw RequestRejectedException.Invalid("invalid_audio", $"sample width {width} bytes is not supported (1-4)");
        if (channels is < 1 or > 64) throw RequestRejectedException.Invalid("invalid_audio", $"{channels} channels is not supported (1-64)");
        if (rate is < 1000 or > 768_000) throw RequestRejectedException.Invalid("invalid_audio", $"sample rate {rate} Hz is not supported");
        var frame = width * channels;
        var frames = pcm.Length / frame;
        var interleaved = new float[frames * channels];
        for (var i = 0; i < interleaved.Length; i++)
        {
            var s = pcm.Slice(i * width, width);
            interleaved[i] = width switch
            {
                1 => (s[0] - 128) / 128f,
                2 => BinaryPrimitives.ReadInt16LittleEndian(s) / 32768f,
                3 => ((s[0] | (s[1] << 8) | (s[2] << 16)) << 8 >> 8) / 8388608f,
                _ => BinaryPrimitives.ReadInt32LittleEndian(s) / 2147483648f,
            };
        }
        var mono = new float[frames];
        Mix(interleaved, channels, mono);
        return Resample(mono, rate);
    }

    /// <summary>The container by its magic bytes, or null when it is nothing this decoder accepts.</summary>
    internal static string? Sniff(ReadOnlySpan<byte> d)
    {
        static bool At(ReadOnlySpan<byte> d, int offset, string magic) =>
            d.Length >= offset + magic.Length && d.Slice(offset, magic.Length).SequenceEqual(System.Text.Encoding.ASCII.GetBytes(magic));
        if ((At(d, 0, "RIFF") || At(d, 0, "RIFX") || At(d, 0, "RF64")) && At(d, 8, "WAVE")) return "wav";
        if (At(d, 0, "riff") && d.Length >= 16 && d[4] == 0x2E && d[5] == 0x91) return "wav"; // Sony Wave64 GUID
        if (At(d, 0, "fLaC")) return "flac";
        if (At(d, 0, "OggS")) return "ogg";
        if (At(d, 0, "ID3")) return "mp3";
        if (WebmDemuxer.HasMagic(d)) return "webm";
        // An MPEG audio frame header: 11 sync bits, a valid version, layer, bit rate and sample rate.
        if (d.Length >= 4 && d[0] == 0xFF && (d[1] & 0xE0) == 0xE0 && (d[1] & 0x18) != 0x08 && (d[1] & 0x06) != 0
            && (d[2] & 0xF0) != 0xF0 && (d[2] & 0x0C) != 0x0C) return "mp3";
        return null;
    }

    /// <summary>A few words on what the bytes are, for the 415 message.</summary>
    internal static string Describe(ReadOnlySpan<byte> d)
    {
        static bool At(ReadOnlySpan<byte> d, int offset, string magic) =>
            d.Length >= offset + magic.Length && d.Slice(offset, magic.Length).SequenceEqual(System.Text.Encoding.ASCII.GetBytes(magic));
        if (At(d, 4, "ftyp")) return "an MP4/M4A container";
        if (d.Length >= 4 && d[0] == 0x1A && d[1] == 0x45 && d[2] == 0xDF && d[3] == 0xA3) return "a WebM/Matroska container";
        if (At(d, 0, "FORM")) return "an AIFF/IFF file";
        if (At(d, 0, ".snd")) return "a Sun AU file";
        if (At(d, 0, "caff")) return "a CAF file";
        if (At(d, 0, "RIFF")) return "a RIFF file that is not WAVE";
        if (d.Length >= 2 && d[0] == 0xFF && (d[1] & 0xF6) == 0xF0) return "raw AAC (ADTS)";
        return $"unrecognised content starting {Convert.ToHexString(d[..Math.Min(8, d.Length)]).ToLowerInvariant()}";
    }

    private static string? FormatName(SfMajor major, SfSub sub) => major switch
    {
        SfMajor.Wav or SfMajor.WavEx or SfMajor.Rf64 or SfMajor.W64 => "wav/" + sub switch
        {
            SfSub.PcmU8 or SfSub.PcmS8 => "pcm8",
            SfSub.Pcm16 => "pcm16",
            SfSub.Pcm24 => "pcm24",
            SfSub.Pcm32 => "pcm32",
            SfSub.Float => "float32",
            SfSub.Double => "float64",
            SfSub.Ulaw => "ulaw",
            SfSub.Alaw => "alaw",
            SfSub.ImaAdpcm => "ima-adpcm",
            SfSub.MsAdpcm => "ms-adpcm",
            _ => $"0x{(int)sub:x}",
        },
        SfMajor.Flac => "flac",
        SfMajor.Ogg => sub switch { SfSub.Vorbis => "ogg/vorbis", SfSub.Opus => "ogg/opus", _ => null },
        SfMajor.Mpeg => sub == SfSub.MpegLayer3 ? "mp3" : sub is SfSub.MpegLayer1 or SfSub.MpegLayer2 ? "mpeg-audio" : null,
        _ => null,
    };

    /// <summary>The WAVE fmt chunk's format tag (the sub-format's for WAVE_FORMAT_EXTENSIBLE), or null.</summary>
    internal static int? WavCodec(ReadOnlySpan<byte> d)
    {
        var pos = 12;
        while (pos + 8 <= d.Length)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(d.Slice(pos + 4, 4));
            if (d.Slice(pos, 4).SequenceEqual("fmt "u8) && pos + 10 <= d.Length)
            {
                int tag = BinaryPrimitives.ReadUInt16LittleEndian(d.Slice(pos + 8, 2));
                if (tag == 0xFFFE && pos + 8 + 26 <= d.Length) tag = BinaryPrimitives.ReadUInt16LittleEndian(d.Slice(pos + 8 + 24, 2));
                return tag;
            }
            if (size > int.MaxValue) break;
            pos += 8 + (int)size + (int)(size & 1);
        }
        return null;
    }

    private static bool IsDecodableWavTag(int tag) => tag is 0x0001 or 0x0002 or 0x0003 or 0x0006 or 0x0007 or 0x0011;

    private static string WavTagName(int tag) => tag switch
    {
        0x0055 => "MPEG Layer 3 in WAV",
        0x0050 => "MPEG in WAV",
        0x0161 or 0x0162 or 0x0163 => "Windows Media Audio",
        0x00FF or 0x1600 or 0x1610 => "AAC in WAV",
        0x0031 => "GSM 6.10",
        0x0022 => "TrueSpeech",
        _ => "unknown codec",
    };

    /// <summary>
    /// libsndfile over the upload in memory: each block of frames is mixed to mono and pushed through the resampler
    /// as it is read, so neither the track at its source rate nor at 16 kHz is ever held whole.
    /// </summary>
    private sealed class SndfileStream : AudioStream
    {
        private const int Block = 16384;
        private readonly MemorySource _source;
        private readonly IntPtr _file;
        private readonly SfInfo _info;
        private readonly SfMajor _major;
        private readonly long _limitFrames;
        private readonly double _maxSeconds;
        private readonly bool _known;
        private readonly float[] _buffer;
        private readonly float[] _mono;
        private readonly Resampler _resampler;

        private SndfileStream(MemorySource source, IntPtr file, SfInfo info, SfMajor major, string format, long limitFrames, double maxSeconds,
            bool known, PcmMeter? meter) : base(format, info.SampleRate, info.Channels, meter)
        {
            _source = source;
            _file = file;
            _info = info;
            _major = major;
            _limitFrames = limitFrames;
            _maxSeconds = maxSeconds;
            _known = known;
            _buffer = PcmMeter.New(meter, Block * info.Channels);
            _mono = PcmMeter.New(meter, Block);
            _resampler = new Resampler(info.SampleRate, Output, meter);
        }

        public static SndfileStream Open(ReadOnlyMemory<byte> data, string container, double maxSeconds, PcmMeter? meter)
        {
            var source = new MemorySource(data);
            var file = IntPtr.Zero;
            try
            {
                var io = new SfVirtualIo
                {
                    GetFileLen = &MemorySource.GetFileLen,
                    Seek = &MemorySource.Seek,
                    Read = &MemorySource.Read,
                    Write = &MemorySource.Write,
                    Tell = &MemorySource.Tell,
                };
                SfInfo info = default;
                file = SndFileApi.sf_open_virtual(&io, SndFileApi.ModeRead, &info, source.Handle);
                if (file == IntPtr.Zero)
                {
                    var why = SndFileApi.Error(IntPtr.Zero);
                    if (container == "wav" && WavCodec(data.Span) is { } tag && !IsDecodableWavTag(tag))
                        throw RequestRejectedException.Unsupported("unsupported_audio_format",
                            $"WAV with sample format 0x{tag:x4} ({WavTagName(tag)}) is not supported; send one of: {Accepted}", "file");
                    throw RequestRejectedException.Invalid("invalid_audio", $"the file looks like {container} but does not decode: {why}", "file");
                }
                var major = (SfMajor)(info.Format & SndFileApi.FormatTypeMask);
                var sub = (SfSub)(info.Format & SndFileApi.FormatSubMask);
                var format = FormatName(major, sub);
                if (format is null)
                    throw RequestRejectedException.Unsupported("unsupported_audio_format",
                        $"audio format 0x{info.Format:x} is not accepted here; send one of: {Accepted}", "file");
                if (info.Channels < 1 || info.SampleRate < 1000 || info.SampleRate > 768_000)
                    throw RequestRejectedException.Invalid("invalid_audio", $"the {format} file declares {info.Channels} channel(s) at {info.SampleRate} Hz", "file");

                var limitFrames = (long)Math.Ceiling(maxSeconds * info.SampleRate);
                var known = info.Frames is > 0 and < long.MaxValue / 2;
                // MP3 lengths are estimates from the bit rate; the others come from the header.
                if (known && major != SfMajor.Mpeg && info.Frames > limitFrames) throw TooLong(info.Frames / (double)info.SampleRate, maxSeconds);
                return new SndfileStream(source, file, info, major, format, limitFrames, maxSeconds, known, meter);
            }
            catch
            {
                if (file != IntPtr.Zero) SndFileApi.sf_close(file);
                source.Dispose();
                throw;
            }
        }

        private protected override bool DecodeNext()
        {
            var channels = _info.Channels;
            long got;
            fixed (float* p = _buffer) got = SndFileApi.sf_readf_float(_file, p, Block);
            if (got > 0)
            {
                if (SourceFrames + got > _limitFrames) throw TooLong((SourceFrames + got) / (double)_info.SampleRate, _maxSeconds);
                Mix(_buffer.AsSpan(0, (int)got * channels), channels, _mono.AsSpan(0, (int)got));
                _resampler.Push(_mono.AsSpan(0, (int)got));
                SourceFrames += got;
                return true;
            }
            if (_known && _major == SfMajor.Flac && SourceFrames < _info.Frames - _info.SampleRate / 10)
                throw RequestRejectedException.Invalid("invalid_audio",
                    $"the FLAC file is truncated: its header says {_info.Frames / (double)_info.SampleRate:0.###} s, only {SourceFrames / (double)_info.SampleRate:0.###} s decode", "file");
            if (SourceFrames == 0) throw RequestRejectedException.Invalid("invalid_audio", $"the {Format} file holds no audio samples", "file");
            _resampler.Finish();
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            SndFileApi.sf_close(_file);
            _resampler.Dispose();
            _source.Dispose();
            Meter?.Released(_buffer.Length + _mono.Length);
        }
    }

    /// <summary>The caller's bytes behind libsndfile's virtual I/O callbacks.</summary>
    private sealed class MemorySource : IDisposable
    {
        private readonly ReadOnlyMemory<byte> _data;
        private long _position;
        private GCHandle _self;

        public MemorySource(ReadOnlyMemory<byte> data)
        {
            _data = data;
            _self = GCHandle.Alloc(this);
        }

        public IntPtr Handle => GCHandle.ToIntPtr(_self);

        private static MemorySource Of(IntPtr user) => (MemorySource)GCHandle.FromIntPtr(user).Target!;

        [UnmanagedCallersOnly]
        public static long GetFileLen(IntPtr user) => Of(user)._data.Length;

        [UnmanagedCallersOnly]
        public static long Seek(long offset, int whence, IntPtr user)
        {
            var s = Of(user);
            var target = whence switch { 0 => offset, 1 => s._position + offset, 2 => s._data.Length + offset, _ => -1 };
            if (target < 0) return -1;
            s._position = target;
            return target;
        }

        [UnmanagedCallersOnly]
        public static long Read(void* ptr, long count, IntPtr user)
        {
            var s = Of(user);
            if (count <= 0 || s._position >= s._data.Length) return 0;
            var n = (int)Math.Min(count, s._data.Length - s._position);
            s._data.Span.Slice((int)s._position, n).CopyTo(new Span<byte>(ptr, n));
            s._position += n;
            return n;
        }

        [UnmanagedCallersOnly]
        public static long Write(void* ptr, long count, IntPtr user) => 0;

        [UnmanagedCallersOnly]
        public static long Tell(IntPtr user) => Of(user)._position;

        public void Dispose()
        {
            if (_self.IsAllocated) _self.Free();
        }
    }
}
