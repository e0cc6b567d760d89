using System.Buffers.Binary;
using Hailo.Core;

namespace Hailo.Audio;

/// <summary>
/// WebM/Matroska with Opus audio (what Chrome's and Firefox's MediaRecorder make): <see cref="WebmDemuxer"/> finds the
/// first Opus track and its frames, libopus decodes them at 48 kHz, the OpusHead's pre-skip is dropped from the start
/// and each block's DiscardPadding from its end, the output gain applied, channels averaged to mono, and the result
/// resampled to 16 kHz like every other format. The length is added up from the packets' TOC bytes before anything is
/// decoded, so audio over the limit is a 413 without the work.
/// </summary>
internal static unsafe class WebmOpus
{
    private const int Rate = 48000;

    /// <summary>A codec this reader does not decode (the caller may hand the file to ffmpeg, else it is a 415).</summary>
    public static RequestRejectedException Unsupported(string what, string accepted) =>
        RequestRejectedException.Unsupported("unsupported_audio_format", $"{what} is not decoded here; send one of: {accepted}", "file");

    public static AudioStream Open(ReadOnlyMemory<byte> data, double maxSeconds, string accepted, PcmMeter? meter)
    {
        WebmFile file;
        try
        {
            file = WebmDemuxer.Read(data.Span);
        }
        catch (WebmException e)
        {
            throw Invalid($"the file looks like WebM/Matroska but does not decode: {e.Message}");
        }
        var container = file.DocType == "webm" ? "webm" : "matroska";
        var audioTracks = file.Tracks.Where(t => t.Type == 2).ToList();
        if (audioTracks.Count == 0) throw Invalid($"the {container} file has no audio track");
        var track = audioTracks.FirstOrDefault(t => t.Codec == "A_OPUS")
            ?? throw Unsupported($"{container} with {string.Join(", ", audioTracks.Select(t => t.Codec).Distinct())} audio (only Opus)", accepted);
        if (track.Encoded) throw Unsupported($"{container} whose Opus track uses content encoding (compression or encryption)", accepted);

        var head = track.CodecPrivate;
        int channels, preSkip, gain = 0;
        if (head.Length >= 19 && head.AsSpan(0, 8).SequenceEqual("OpusHead"u8))
        {
            channels = head[9];
            preSkip = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(10));
            gain = BinaryPrimitives.ReadInt16LittleEndian(head.AsSpan(16));
            var family = head[18];
            // Mapping family 0 is one stream of 1-2 channels; family 1 and others with more streams need the multistream API.
            var oneStream = family == 0 || (head.Length >= 21 && head[19] == 1);
            if (!oneStream || channels is < 1 or > 2)
                throw Unsupported($"Opus with {channels} channels (channel mapping family {family})", accepted);
        }
        else if (head.Length == 0)
        {
            channels = Math.Clamp(track.Channels, 1, 2);
            preSkip = (int)Math.Min(track.CodecDelayNs * Rate / 1_000_000_000, Rate);
        }
        else throw Invalid($"the {container} file's Opus track has a CodecPrivate that is not an OpusHead");

        var frames = file.Frames.Where(f => f.Track == track.Number && f.Length > 0).ToList();
        if (frames.Count == 0) throw Invalid($"the {container} file's Opus track holds no audio frames");
        NativeAudio.EnsureOpus();

        // The length from the packets' TOC bytes, before decoding.
        long total = 0;
        for (var i = 0; i < frames.Count; i++)
        {
            int n;
            fixed (byte* p = data.Span.Slice(frames[i].Offset, frames[i].Length)) n = OpusApi.opus_packet_get_nb_samples(p, frames[i].Length, Rate);
            if (n < 0) throw Invalid($"Opus packet {i} of the {container} file is invalid ({OpusApi.Error(n)})");
            total += n;
        }
        var limit = (long)Math.Ceiling(maxSeconds * Rate);
        if (total - preSkip > limit)
            throw RequestRejectedException.TooLarge("audio_too_long",
                $"the audio is {(total - preSkip) / (double)Rate:0.#} s long; this service accepts at most {maxSeconds:0.#} s", "file");

        return new Stream(data, frames, container, channels, preSkip, gain, total, meter);
    }

    /// <summary>
    /// Decodes packet by packet into the resampler as it is read: the pre-skip dropped from the front, the output gain
    /// (Q7.8 dB) applied, the track held neither at 48 kHz nor at 16 kHz.
    /// </summary>
    private sealed class Stream : AudioStream
    {
        private readonly ReadOnlyMemory<byte> _data;
        private readonly List<WebmFrame> _frames;
        private readonly string _container;
        private readonly int _channels;
        private readonly float _factor;
        private readonly long _total;
        private readonly float[] _pcm;
        private readonly float[] _mono;
        private readonly Resampler _resampler;
        private readonly IntPtr _decoder;
        private long _decoded, _toSkip;
        private int _next;

        public Stream(ReadOnlyMemory<byte> data, List<WebmFrame> frames, string container, int channels, int preSkip, int gain, long total,
            PcmMeter? meter) : base(container + "/opus", Rate, channels, meter)
        {
            _data = data;
            _frames = frames;
            _container = container;
            _channels = channels;
            _factor = gain != 0 ? (float)Math.Pow(10, gain / (20.0 * 256)) : 1f;
            _total = total;
            _toSkip = preSkip;
            int error;
            _decoder = OpusApi.opus_decoder_create(Rate, channels, &error);
            if (_decoder == IntPtr.Zero) throw new InvalidOperationException("libopus: " + OpusApi.Error(error));
            _pcm = PcmMeter.New(meter, OpusApi.MaxFrameSamples * channels);
            _mono = PcmMeter.New(meter, OpusApi.MaxFrameSamples);
            _resampler = new Resampler(Rate, Output, meter);
        }

        private protected override bool DecodeNext()
        {
            if (_next >= _frames.Count || _decoded >= _total)
            {
                if (_resampler.Pushed == 0) throw Invalid($"the {_container} file holds no audio after the Opus pre-skip");
                SourceFrames = _resampler.Pushed;
                _resampler.Finish();
                return false;
            }
            var i = _next++;
            var f = _frames[i];
            int n;
            fixed (byte* p = _data.Span.Slice(f.Offset, f.Length))
            fixed (float* o = _pcm)
                n = OpusApi.opus_decode_float(_decoder, p, f.Length, o, OpusApi.MaxFrameSamples, 0);
            if (n < 0) throw Invalid($"Opus packet {i} of the {_container} file does not decode ({OpusApi.Error(n)})");
            if (f.DiscardPaddingNs > 0) n -= (int)Math.Min(n, (f.DiscardPaddingNs * Rate + 500_000_000) / 1_000_000_000);
            n = (int)Math.Min(n, _total - _decoded);
            _decoded += n;
            var block = _mono.AsSpan(0, n);
            AudioDecoder.Mix(_pcm.AsSpan(0, n * _channels), _channels, block);
            var skip = (int)Math.Min(_toSkip, n);
            _toSkip -= skip;
            block = block[skip..];
            if (_factor != 1f)
                foreach (ref var v in block) v *= _factor;
            if (!block.IsEmpty) _resampler.Push(block);
            SourceFrames = _resampler.Pushed;
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            OpusApi.opus_decoder_destroy(_decoder);
            _resampler.Dispose();
            Meter?.Released(_pcm.Length + _mono.Length);
        }
    }

    private static RequestRejectedException Invalid(string message) => RequestRejectedException.Invalid("invalid_audio", message, "file");
}
