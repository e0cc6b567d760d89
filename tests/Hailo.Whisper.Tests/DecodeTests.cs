using Hailo.Audio;
using Hailo.Core;
using Hailo.Hosting.Http;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>
/// Every accepted format, made here by sox/ffmpeg/flac from the same 2 s 440 Hz sine, decodes to 2 s of 16 kHz mono
/// whose pitch and level are the sine's; everything else is refused with 415 (listing what is accepted) or 400/413.
/// </summary>
public sealed class DecodeTests
{
    public static TheoryData<string, string> Formats() => new()
    {
        { "wav u8", AudioFiles.Sine("wav", 8000, 1, 2, "-b", "8", "-e", "unsigned-integer") },
        { "wav s16 stereo 44.1k", AudioFiles.Sine("wav", 44100, 2, 2, "-b", "16") },
        { "wav s24", AudioFiles.Sine("wav", 48000, 1, 2, "-b", "24") },
        { "wav s32", AudioFiles.Sine("wav", 22050, 1, 2, "-b", "32") },
        { "wav float32", AudioFiles.Sine("wav", 16000, 1, 2, "-b", "32", "-e", "floating-point") },
        { "wav float64", AudioFiles.Sine("wav", 16000, 1, 2, "-b", "64", "-e", "floating-point") },
        { "wav mu-law", AudioFiles.Sine("wav", 8000, 1, 2, "-e", "mu-law") },
        { "flac", AudioFiles.Make("sine.flac", "flac", "-s", "-f", "-o", "{out}", AudioFiles.Sine("wav", 44100, 1, 2, "-b", "16")) },
        { "ogg vorbis", AudioFiles.Ffmpeg("sine.ogg", "-c:a", "libvorbis") },
        { "opus", AudioFiles.Ffmpeg("sine.opus", "-c:a", "libopus") },
        { "mp3", AudioFiles.Ffmpeg("sine.mp3", "-c:a", "libmp3lame", "-b:a", "128k") },
        { "webm opus stereo", AudioFiles.Ffmpeg("sine.webm", "-c:a", "libopus") },
        { "webm opus mono live", AudioFiles.Ffmpeg("sine-mono-live.webm", "-c:a", "libopus", "-ac", "1", "-live", "1") },
        { "matroska opus", AudioFiles.Ffmpeg("sine.mka", "-c:a", "libopus") },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Each_format_decodes_to_16k_mono_with_the_sines_length_pitch_and_level(string what, string path)
    {
        AudioFiles.AssertIsTheSine(AudioDecoder.Decode(File.ReadAllBytes(path), 60), what);
    }

    [Fact]
    public void Real_speech_from_pocketsphinx_testdata_decodes_unchanged_at_16k()
    {
        var bytes = File.ReadAllBytes(AudioFiles.LibriVox());
        var audio = AudioDecoder.Decode(bytes, 60);
        Assert.Equal("wav/pcm16", audio.Format);
        Assert.Equal(16000, audio.SourceRate);
        // 16-bit PCM at 16 kHz: the samples are the file's, scaled to [-1, 1).
        var dataStart = bytes.Length - audio.Samples.Length * 2;
        for (var i = 0; i < 1000; i++)
            Assert.Equal(BitConverter.ToInt16(bytes, dataStart + 2 * i) / 32768f, audio.Samples[i]);
    }

    private static ApiException Refused(byte[] bytes, double max = 3600) => ApiException.From(Assert.ThrowsAny<RequestRejectedException>(() => AudioDecoder.Decode(bytes, max)));

    [Fact]
    public void Garbage_bytes_named_wav_are_415_listing_the_accepted_formats()
    {
        var e = Refused(new Random(1).GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 4000));
        Assert.Equal(415, e.Status);
        Assert.Contains("flac", e.Message);
        Assert.Contains("mp3", e.Message);
    }

    [Fact]
    public void Zero_bytes_are_400() => Assert.Equal(400, Refused([]).Status);

    [Fact]
    public void A_truncated_flac_is_400_not_a_shorter_transcript()
    {
        var flac = File.ReadAllBytes(AudioFiles.Make("sine-long.flac", "flac", "-s", "-f", "-o", "{out}", AudioFiles.Sine("wav", 44100, 1, 6, "-b", "16")));
        var e = Refused(flac.AsSpan(0, flac.Length / 2).ToArray());
        Assert.Equal(400, e.Status);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Two_hours_of_silence_are_413_from_the_header_before_decoding()
    {
        var flac = File.ReadAllBytes(AudioFiles.Make("silence-2h.flac", "sox", "-n", "-r", "16000", "-c", "1", "-b", "16", "{out}", "trim", "0", "7200"));
        var e = Refused(flac, 3600);
        Assert.Equal(413, e.Status);
        Assert.Contains("7200", e.Message);
    }

    [Fact]
    public void A_wav_with_an_unsupported_codec_is_415_naming_it()
    {
        var wav = File.ReadAllBytes(AudioFiles.Sine("wav", 16000, 1, 1, "-b", "16"));
        wav[20] = 0x61; // format tag 0x0161: Windows Media Audio
        wav[21] = 0x01;
        var e = Refused(wav);
        Assert.Equal(415, e.Status);
        Assert.Contains("0x0161", e.Message);
    }

    [Fact]
    public void Containers_this_service_does_not_decode_are_415()
    {
        var m4a = File.ReadAllBytes(AudioFiles.Ffmpeg("sine.m4a", "-c:a", "aac"));
        var e = Refused(m4a);
        Assert.Equal(415, e.Status);
        Assert.Contains("MP4", e.Message);
    }

    [Fact]
    public void A_header_only_wav_is_400()
    {
        var wav = File.ReadAllBytes(AudioFiles.Sine("wav", 16000, 1, 1, "-b", "16"));
        Assert.Equal(400, Refused(wav.AsSpan(0, 44).ToArray()).Status);
    }

    [Fact]
    public void Raw_pcm_of_any_width_rate_and_channels_becomes_16k_mono()
    {
        // 0.5 s of stereo 48 kHz 16-bit: left = 0.25, right = -0.75 → mono -0.25.
        var pcm = new byte[24000 * 4];
        for (var i = 0; i < 24000; i++)
        {
            BitConverter.TryWriteBytes(pcm.AsSpan(4 * i), (short)8192);
            BitConverter.TryWriteBytes(pcm.AsSpan(4 * i + 2), (short)-24576);
        }
        var mono = AudioDecoder.FromPcm(pcm, 48000, 2, 2);
        Assert.InRange(mono.Length, 7999, 8001);
        Assert.Equal(-0.25f, mono[4000], 3);
        var u8 = AudioDecoder.FromPcm([128, 255, 0], 16000, 1, 1);
        Assert.Equal([0f, 127 / 128f, -1f], u8);
    }
}
