using System.Buffers.Binary;
using Hailo.Hosting.Http;

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
    public static ApiException Unsupported(string what, string accepted) =>
        new(415, "unsupported_audio_format", $"{what} is not decoded here; send one of: {accepted}") { Param = "file" };

    public static DecodedAudio Decode(ReadOnlySpan<byte> data, double maxSeconds, string accepted)
    {
        WebmFile file;
        try
        {
            file = WebmDemuxer.Read(data);
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
            fixed (byte* p = data.Slice(frames[i].Offset, frames[i].Length)) n = OpusApi.opus_packet_get_nb_samples(p, frames[i].Length, Rate);
            if (n < 0) throw Invalid($"Opus packet {i} of the {container} file is invalid ({OpusApi.Error(n)})");
            total += n;
        }
        var limit = (long)Math.Ceiling(maxSeconds * Rate);
        if (total - preSkip > limit)
            throw new ApiException(413, "audio_too_long",
                $"the audio is {(total - preSkip) / (double)Rate:0.#} s long; this service accepts at most {maxSeconds:0.#} s") { Param = "file" };

        // Decoded packet by packet into the resampler: the pre-skip dropped from the front, the output gain (Q7.8 dB)
        // applied, the whole track never held at 48 kHz.
        var factor = gain != 0 ? (float)Math.Pow(10, gain / (20.0 * 256)) : 1f;
        var pcm = new float[OpusApi.MaxFrameSamples * channels];
        var mono = new float[OpusApi.MaxFrameSamples];
        long decoded = 0, toSkip = preSkip;
        using var resampler = new Resampler(Rate, total);
        int error;
        var decoder = OpusApi.opus_decoder_create(Rate, channels, &error);
        if (decoder == IntPtr.Zero) throw new InvalidOperationException("libopus: " + OpusApi.Error(error));
        try
        {
            for (var i = 0; i < frames.Count && decoded < total; i++)
            {
                var f = frames[i];
                int n;
                fixed (byte* p = data.Slice(f.Offset, f.Length))
                fixed (float* o = pcm)
                    n = OpusApi.opus_decode_float(decoder, p, f.Length, o, OpusApi.MaxFrameSamples, 0);
                if (n < 0) throw Invalid($"Opus packet {i} of the {container} file does not decode ({OpusApi.Error(n)})");
                if (f.DiscardPaddingNs > 0) n -= (int)Math.Min(n, (f.DiscardPaddingNs * Rate + 500_000_000) / 1_000_000_000);
                n = (int)Math.Min(n, total - decoded);
                decoded += n;
                var block = mono.AsSpan(0, n);
                AudioDecoder.Mix(pcm.AsSpan(0, n * channels), channels, block);
                var skip = (int)Math.Min(toSkip, n);
                toSkip -= skip;
                block = block[skip..];
                if (factor != 1f)
                    foreach (ref var v in block) v *= factor;
                if (!block.IsEmpty) resampler.Push(block);
            }
        }
        finally
        {
            OpusApi.opus_decoder_destroy(decoder);
        }

        if (resampler.Pushed == 0) throw Invalid($"the {container} file holds no audio after the Opus pre-skip");
        return new DecodedAudio(resampler.Finish(), container + "/opus", Rate, channels, resampler.Pushed / (double)Rate);
    }

    private static ApiException Invalid(string message) => ApiException.BadRequest("invalid_audio", message, "file");
}
