using System.Buffers.Binary;
using System.Globalization;
using Hailo.Audio;
using Hailo.Core;
using Hailo.Hosting.Http;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>Writes EBML elements for hand-made WebM files.</summary>
internal static class Ebml
{
    public static byte[] Id(uint id) => id switch
    {
        <= 0xFF => [(byte)id],
        <= 0xFFFF => [(byte)(id >> 8), (byte)id],
        <= 0xFFFFFF => [(byte)(id >> 16), (byte)(id >> 8), (byte)id],
        _ => [(byte)(id >> 24), (byte)(id >> 16), (byte)(id >> 8), (byte)id],
    };

    /// <summary>A size as an 8-byte number (always valid, never "unknown").</summary>
    public static byte[] Size(long size)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, size);
        b[0] = 0x01;
        return b;
    }

    public static byte[] Element(uint id, params byte[][] body)
    {
        var payload = body.SelectMany(x => x).ToArray();
        return [.. Id(id), .. Size(payload.Length), .. payload];
    }

    /// <summary>An element of unknown size (the 1-byte form 0xFF), its children following.</summary>
    public static byte[] Unknown(uint id, params byte[][] body) => [.. Id(id), 0xFF, .. body.SelectMany(x => x)];

    public static byte[] UInt(uint id, ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, v);
        return Element(id, b);
    }

    public static byte[] Int(uint id, long v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, v);
        return Element(id, b);
    }

    public static byte[] Text(uint id, string s) => Element(id, System.Text.Encoding.ASCII.GetBytes(s));

    /// <summary>The EBML header followed by <paramref name="segment"/>.</summary>
    public static byte[] File(byte[] segment) => [.. Header(), .. segment];

    public static byte[] Header(string docType = "webm") => Element(0x1A45DFA3, UInt(0x4286, 1), Text(0x4282, docType));

    public static byte[] OpusTrack(int number, byte[] opusHead, int channels) => Element(0xAE,
        UInt(0xD7, (ulong)number), UInt(0x83, 2), Text(0x86, "A_OPUS"), Element(0x63A2, opusHead),
        Element(0xE1, Element(0xB5, BitConverter.GetBytes(48000.0).Reverse().ToArray()), UInt(0x9F, (ulong)channels)));

    /// <summary>A block's head: track number (1-byte vint), 16-bit timestamp, flags with the lacing bits.</summary>
    private static byte[] BlockHead(int track, short time, int lacing, bool keyframe) =>
        [(byte)(0x80 | track), (byte)(time >> 8), (byte)time, (byte)((keyframe ? 0x80 : 0) | (lacing << 1))];

    public static byte[] SimpleBlock(int track, short time, byte[] frame) => Element(0xA3, BlockHead(track, time, 0, true), frame);

    public static byte[] Xiph(int track, short time, params byte[][] frames)
    {
        var sizes = new List<byte>();
        foreach (var f in frames[..^1])
        {
            var n = f.Length;
            while (n >= 255) { sizes.Add(255); n -= 255; }
            sizes.Add((byte)n);
        }
        return Element(0xA3, [BlockHead(track, time, 1, true), [(byte)(frames.Length - 1)], [.. sizes], .. frames]);
    }

    public static byte[] EbmlLaced(int track, short time, params byte[][] frames)
    {
        // The first size as a 2-byte number, the differences as 2-byte signed numbers (bias 2^13 - 1).
        var sizes = new List<byte> { (byte)(0x40 | (frames[0].Length >> 8)), (byte)frames[0].Length };
        for (var i = 1; i < frames.Length - 1; i++)
        {
            var raw = frames[i].Length - frames[i - 1].Length + 8191;
            sizes.Add((byte)(0x40 | (raw >> 8)));
            sizes.Add((byte)raw);
        }
        return Element(0xA3, [BlockHead(track, time, 3, true), [(byte)(frames.Length - 1)], [.. sizes], .. frames]);
    }

    public static byte[] Fixed(int track, short time, params byte[][] frames) =>
        Element(0xA3, [BlockHead(track, time, 2, true), [(byte)(frames.Length - 1)], .. frames]);

    public static byte[] BlockGroup(int track, short time, byte[] frame, long discardPaddingNs = 0) => discardPaddingNs == 0
        ? Element(0xA0, Element(0xA1, BlockHead(track, time, 0, false), frame))
        : Element(0xA0, Element(0xA1, BlockHead(track, time, 0, false), frame), Int(0x75A2, discardPaddingNs));
}

/// <summary>
/// WebM/Matroska with Opus: files ffmpeg makes (the demuxer's frames are ffprobe's packets; decoded audio matches the
/// WAV it came from), hand-made files that exercise unknown sizes, every lacing, block groups and DiscardPadding, and
/// bad files that must be 400s, never crashes.
/// </summary>
public sealed class WebmTests
{
    /// <summary>LibriVox speech as WebM/Opus by ffmpeg (constant bit rate, so fixed-size lacing has equal frames).</summary>
    internal static string SpeechWebm() => AudioFiles.Make("speech.webm", "ffmpeg",
        ["-hide_banner", "-loglevel", "error", "-i", AudioFiles.LibriVox(), "-c:a", "libopus", "-b:a", "128k", "-vbr", "off", "-y", "{out}"]);

    private static ApiException Refused(byte[] bytes, double max = 3600) => ApiException.From(Assert.ThrowsAny<RequestRejectedException>(() => AudioDecoder.Decode(bytes, max)));

    private static int[] FfprobePacketSizes(string path)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("ffprobe", ["-v", "error", "-select_streams", "a:0", "-show_entries", "packet=size", "-of", "csv=p=0", path])
        { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s.TrimEnd(','), CultureInfo.InvariantCulture)).ToArray();
    }

    [Fact]
    public void The_demuxers_frames_are_ffprobes_packets()
    {
        foreach (var path in new[] { SpeechWebm(), AudioFiles.Ffmpeg("sine.webm", "-c:a", "libopus"), AudioFiles.Ffmpeg("sine.mka", "-c:a", "libopus"),
                     AudioFiles.Ffmpeg("sine-live.webm", "-c:a", "libopus", "-live", "1") /* a Segment of unknown size */ })
        {
            var file = WebmDemuxer.Read(File.ReadAllBytes(path));
            var track = Assert.Single(file.Tracks, t => t.Codec == "A_OPUS");
            Assert.Equal(FfprobePacketSizes(path), file.Frames.Where(f => f.Track == track.Number).Select(f => f.Length));
        }
    }

    [Fact]
    public void Xiph_ebml_and_fixed_lacing_split_frames_of_any_size()
    {
        byte[][] frames = [new byte[300], new byte[10], new byte[700], new byte[255], new byte[0], new byte[44]];
        for (var i = 0; i < frames.Length; i++) Array.Fill(frames[i], (byte)(i + 1));
        var bytes = Ebml.File(Ebml.Unknown(0x18538067, Ebml.Element(0x1F43B675,
            Ebml.Xiph(1, 0, frames), Ebml.EbmlLaced(3, 0, frames), Ebml.Fixed(4, 0, new byte[6], new byte[6], new byte[6]))));
        var file = WebmDemuxer.Read(bytes);
        foreach (var track in new[] { 1, 3 })
        {
            var got = file.Frames.Where(f => f.Track == track).ToArray();
            Assert.Equal(frames.Select(f => f.Length), got.Select(f => f.Length));
            for (var i = 0; i < frames.Length; i++) Assert.Equal(frames[i], bytes.AsSpan(got[i].Offset, got[i].Length).ToArray());
        }
        Assert.Equal([6, 6, 6], file.Frames.Where(f => f.Track == 4).Select(f => f.Length));
        // Lacing sizes larger than the block are refused.
        var bad = Ebml.File(Ebml.Element(0x18538067, Ebml.Element(0x1F43B675, Ebml.Element(0xA3, [0x81, 0, 0, 0x02, 1, 255, 255, 9], new byte[20]))));
        Assert.Throws<WebmException>(() => WebmDemuxer.Read(bad));
    }

    [Fact]
    public void Webm_opus_speech_decodes_to_the_wavs_samples_within_the_codecs_error()
    {
        var wav = AudioDecoder.Decode(File.ReadAllBytes(AudioFiles.LibriVox()), 60).Samples;
        var webm = AudioDecoder.Decode(File.ReadAllBytes(SpeechWebm()), 60);
        Assert.Equal("webm/opus", webm.Format);
        Assert.Equal(48000, webm.SourceRate);
        // Pre-skip dropped: the same length (ffmpeg pads the last 20 ms frame; DiscardPadding trims it) and aligned.
        Assert.InRange(webm.Samples.Length, wav.Length - 16, wav.Length + 16);
        var n = Math.Min(wav.Length, webm.Samples.Length);
        double signal = 0, noise = 0;
        for (var i = 0; i < n; i++)
        {
            signal += wav[i] * (double)wav[i];
            var d = wav[i] - webm.Samples[i];
            noise += d * (double)d;
        }
        var snr = 10 * Math.Log10(signal / noise);
        Assert.True(snr > 15, $"SNR {snr:0.0} dB");
    }

    /// <summary>The speech file's Opus packets and OpusHead, rebuilt by hand below in other shapes.</summary>
    private static (byte[] Head, byte[][] Packets, float[] Reference) Source()
    {
        var bytes = File.ReadAllBytes(SpeechWebm());
        var file = WebmDemuxer.Read(bytes);
        var track = file.Tracks.Single();
        var packets = file.Frames.Select(f => bytes.AsSpan(f.Offset, f.Length).ToArray()).ToArray();
        // The reference: the same packets in the simplest layout (known sizes, one SimpleBlock each), no DiscardPadding.
        var simple = Ebml.File(Build(track.CodecPrivate, packets, x => [.. x.Select((y, i) => Ebml.SimpleBlock(1, (short)i, y))]));
        return (track.CodecPrivate, packets, AudioDecoder.Decode(simple, 60).Samples);
    }

    private static byte[] Build(byte[] head, byte[][] packets, Func<byte[][], byte[][]> blocks) =>
        Ebml.Element(0x18538067, Ebml.Element(0x1654AE6B, Ebml.OpusTrack(1, head, 1)), Ebml.Element(0x1F43B675, [Ebml.UInt(0xE7, 0), .. blocks(packets)]));

    [Fact]
    public void A_hand_made_webm_with_unknown_sizes_every_lacing_and_block_groups_decodes_like_the_plain_layout()
    {
        var (head, p, reference) = Source();
        Assert.True(p.Length > 40);
        Assert.Equal(p[10].Length, p[11].Length); // CBR: fixed-size lacing needs equal frames
        var video = Ebml.Element(0xAE, Ebml.UInt(0xD7, 2), Ebml.UInt(0x83, 1), Ebml.Text(0x86, "V_VP8"));
        var rest = p[40..];
        byte[] file =
        [
            .. Ebml.Header(),
            .. Ebml.Unknown(0x18538067,
                Ebml.Element(0xEC, new byte[7]),                                    // Void
                Ebml.Element(0x1549A966, Ebml.UInt(0x2AD7B1, 1_000_000)),          // Info
                Ebml.Element(0x1654AE6B, video, Ebml.OpusTrack(1, head, 1)),       // Tracks: a video track first
                Ebml.Unknown(0x1F43B675,                                           // Cluster of unknown size
                    Ebml.UInt(0xE7, 0),
                    Ebml.SimpleBlock(1, 0, p[0]),
                    Ebml.SimpleBlock(2, 0, [1, 2, 3, 4]),                          // a video frame: not audio
                    Ebml.Xiph(1, 20, p[1], p[2], p[3]),
                    Ebml.Xiph(1, 80, p[4], p[5], p[6], p[7]),
                    Ebml.EbmlLaced(1, 160, p[8], p[9]),
                    Ebml.Fixed(1, 200, p[10], p[11], p[12]),
                    Ebml.Element(0xEC, new byte[3]),
                    Ebml.BlockGroup(1, 260, p[13]),
                    Ebml.EbmlLaced(1, 280, p[14], p[15], p[16], p[17])),
                Ebml.Unknown(0x1F43B675,                                           // another, ended by Cues
                    [Ebml.UInt(0xE7, 360), .. p[18..40].Select((x, i) => Ebml.SimpleBlock(1, (short)(i * 20), x))]),
                Ebml.Element(0x1C53BB6B, Ebml.Element(0xBB, Ebml.UInt(0xB3, 0))),  // Cues
                Ebml.Element(0x1F43B675,                                           // a cluster of known size
                    [Ebml.UInt(0xE7, 800), .. rest.Select((x, i) => Ebml.BlockGroup(1, (short)(i * 20), x))]),
                Ebml.Element(0x1254C367)),                                         // Tags
        ];
        var decoded = WebmDemuxer.Read(file);
        Assert.Equal(p.Length, decoded.Frames.Count(f => f.Track == 1));
        Assert.Equal(p.Select(x => x.Length), decoded.Frames.Where(f => f.Track == 1).Select(f => f.Length));
        Assert.Equal([4], decoded.Frames.Where(f => f.Track == 2).Select(f => f.Length));
        Assert.Equal(reference, AudioDecoder.Decode(file, 60).Samples);
    }

    [Fact]
    public void Discard_padding_of_the_last_block_group_trims_the_end()
    {
        var (head, p, reference) = Source();
        var trimmed = Ebml.File(Build(head, p, x => [.. x[..^1].Select((y, i) => Ebml.SimpleBlock(1, (short)i, y)), Ebml.BlockGroup(1, 0, x[^1], 10_000_000)]));
        var audio = AudioDecoder.Decode(trimmed, 60).Samples;
        // 10 ms at 16 kHz = 160 samples shorter; the rest is the same audio (up to the resampler's edge).
        Assert.InRange(reference.Length - audio.Length, 159, 161);
        Assert.Equal(reference.AsSpan(0, 1000).ToArray(), audio.AsSpan(0, 1000).ToArray());
    }

    [Fact]
    public void Truncated_and_garbage_webm_are_400s()
    {
        var bytes = File.ReadAllBytes(SpeechWebm());
        foreach (var cut in new[] { 10, 60, bytes.Length / 3, bytes.Length / 2, bytes.Length - 7 })
        {
            var e = Refused(bytes[..cut]);
            Assert.True(e.Status == 400, $"cut at {cut}: {e.Status} {e.Message}");
            Assert.Equal("invalid_audio", e.Code);
        }
        // A MediaRecorder-style file (unknown sizes) cut inside a block.
        var (head, p, _) = Source();
        byte[] live = [.. Ebml.Header(), .. Ebml.Unknown(0x18538067, Ebml.Element(0x1654AE6B, Ebml.OpusTrack(1, head, 1)),
            Ebml.Unknown(0x1F43B675, [Ebml.UInt(0xE7, 0), .. p.Select((x, i) => Ebml.SimpleBlock(1, (short)i, x))]))];
        Assert.Equal(400, Refused(live[..(live.Length - 50)]).Status);
        var random = new Random(3);
        for (var i = 0; i < 200; i++)
        {
            var garbage = new byte[random.Next(4, 3000)];
            random.NextBytes(garbage);
            garbage[0] = 0x1A; garbage[1] = 0x45; garbage[2] = 0xDF; garbage[3] = 0xA3;
            Assert.Equal(400, Refused(garbage).Status);
        }
        // Random bytes in place of Opus packets: libopus refuses them or decodes noise, never a crash.
        for (var i = 0; i < 50; i++)
        {
            var junk = p.Select(x => { var y = new byte[x.Length]; random.NextBytes(y); return y; }).ToArray();
            var file = Ebml.File(Build(head, junk, x => [.. x.Select((y, j) => Ebml.SimpleBlock(1, (short)j, y))]));
            try
            {
                AudioDecoder.Decode(file, 60);
            }
            catch (RequestRejectedException e)
            {
                Assert.Equal(400, ApiException.From(e).Status);
            }
        }
    }

    [Fact]
    public void Webm_longer_than_the_limit_is_413_before_decoding()
    {
        var e = Refused(File.ReadAllBytes(SpeechWebm()), 3);
        Assert.Equal(413, e.Status);
        Assert.Contains("7.1 s", e.Message);
    }

    [Fact]
    public void Webm_with_another_codec_is_415_naming_it()
    {
        var e = Refused(File.ReadAllBytes(AudioFiles.Ffmpeg("sine-vorbis.webm", "-c:a", "libvorbis")));
        Assert.Equal(415, e.Status);
        Assert.Contains("A_VORBIS", e.Message);
    }
}
