using System.Buffers.Binary;
using Hailo.Hosting.Http;
using HailoPiper.Api;
using Xunit;

namespace Hailo.Piper.Tests;

/// <summary>The response formats: checked names, 16-bit conversion, WAV headers, pcm at 24 kHz chunk by chunk.</summary>
public sealed class SpeechWriterTests
{
    [Theory]
    [InlineData("ogg")]
    [InlineData("")]
    [InlineData("wav2")]
    public void Unknown_formats_are_400(string format)
    {
        var e = Assert.Throws<ApiException>(() => SpeechWriter.Check(format));
        Assert.Equal(400, e.Status);
        Assert.Equal("invalid_response_format", e.Code);
    }

    [Theory]
    [InlineData(null, "mp3")]
    [InlineData("wav", "wav")]
    [InlineData(" PCM ", "pcm")]
    [InlineData("FLAC", "flac")]
    [InlineData("opus", "opus")]
    public void OpenAis_formats_are_accepted(string? format, string expected) => Assert.Equal(expected, SpeechWriter.Check(format));

    [Fact]
    public void A_format_whose_library_is_missing_is_a_400_naming_the_package()
    {
        var e = Assert.Throws<ApiException>(() => SpeechWriter.Check("mp3", options: new Hailo.Audio.Encoding.AudioEncoderOptions { Mp3Library = "libmp3lame-not-here.so.0" }));
        Assert.Equal((400, "format_unavailable"), (e.Status, e.Code));
        Assert.Contains("libmp3lame0", e.Message);
    }

    [Theory]
    [InlineData(0f, 0)]
    [InlineData(1f, 32767)]
    [InlineData(-1f, -32767)]
    [InlineData(3f, 32767)]
    [InlineData(-3f, -32768)]
    [InlineData(float.NaN, 0)]
    public void Samples_are_clamped_into_16_bits(float x, short expected) => Assert.Equal(expected, SpeechWriter.ToInt16(x));

    [Fact]
    public async Task A_whole_wav_has_its_sizes_and_a_streamed_one_says_unknown()
    {
        var wav = SpeechWriter.Wav([new float[10], new float[5]], 16000);
        Assert.Equal(44 + 30, wav.Length);
        Assert.Equal(30u, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(40)));
        Assert.Equal(66u, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(4)));
        Assert.Equal(32000u, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(28))); // byte rate
        await using var w = SpeechWriter.Create("wav", 22050);
        byte[] h = [.. w.Header(), .. await w.WriteAsync(new float[10], CancellationToken.None)];
        Assert.Equal(44 + 20, h.Length);
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(40)));
        Assert.Equal(22050u, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(24)));
        Assert.Empty(await w.FinishAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData(24000)]
    [InlineData(22050)]
    [InlineData(16000)]
    public async Task Pcm_is_24_kHz_however_the_chunks_come(int voiceRate)
    {
        await using var w = SpeechWriter.Create("pcm", voiceRate);
        Assert.Empty(w.Header());
        Assert.Equal(24000, w.OutputRate);
        var total = 0;
        foreach (var n in new[] { 1000, 1, 4410, 7, 9000 })
            total += (await w.WriteAsync(Enumerable.Range(0, n).Select(i => 0.3f * MathF.Sin(i * 0.05f)).ToArray(), CancellationToken.None)).Length;
        total += (await w.FinishAsync(CancellationToken.None)).Length;
        var expected = 14418 * 24000.0 / voiceRate;
        Assert.InRange(total / 2, expected - 2, expected + 2);
    }
}
