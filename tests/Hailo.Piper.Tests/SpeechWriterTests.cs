using System.Buffers.Binary;
using Hailo.Hosting.Http;
using HailoPiper.Api;
using Xunit;

namespace Hailo.Piper.Tests;

/// <summary>The response formats: checked names, 16-bit conversion, WAV headers, pcm at 24 kHz chunk by chunk.</summary>
public sealed class SpeechWriterTests
{
    [Theory]
    [InlineData(null, "unsupported_format")]
    [InlineData("mp3", "unsupported_format")]
    [InlineData("FLAC", "unsupported_format")]
    [InlineData("ogg", "invalid_response_format")]
    [InlineData("", "invalid_response_format")]
    public void Formats_other_than_wav_and_pcm_are_400(string? format, string code)
    {
        var e = Assert.Throws<ApiException>(() => SpeechWriter.Check(format));
        Assert.Equal(400, e.Status);
        Assert.Equal(code, e.Code);
    }

    [Theory]
    [InlineData("wav", "wav")]
    [InlineData(" PCM ", "pcm")]
    public void Wav_and_pcm_are_accepted(string format, string expected) => Assert.Equal(expected, SpeechWriter.Check(format));

    [Theory]
    [InlineData(0f, 0)]
    [InlineData(1f, 32767)]
    [InlineData(-1f, -32767)]
    [InlineData(3f, 32767)]
    [InlineData(-3f, -32768)]
    [InlineData(float.NaN, 0)]
    public void Samples_are_clamped_into_16_bits(float x, short expected) => Assert.Equal(expected, SpeechWriter.ToInt16(x));

    [Fact]
    public void A_whole_wav_has_its_sizes_and_a_streamed_one_says_unknown()
    {
        var wav = SpeechWriter.Wav([new float[10], new float[5]], 16000);
        Assert.Equal(44 + 30, wav.Length);
        Assert.Equal(30u, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(40)));
        Assert.Equal(66u, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(4)));
        Assert.Equal(32000u, BinaryPrimitives.ReadUInt32LittleEndian(wav.AsSpan(28))); // byte rate
        using var w = SpeechWriter.Create("wav", 22050);
        var h = w.Header();
        Assert.Equal(uint.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(40)));
        Assert.Equal(22050u, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(24)));
        Assert.Equal(20, w.Write(new float[10]).Length);
        Assert.Empty(w.Finish());
    }

    [Theory]
    [InlineData(24000)]
    [InlineData(22050)]
    [InlineData(16000)]
    public void Pcm_is_24_kHz_however_the_chunks_come(int voiceRate)
    {
        using var w = SpeechWriter.Create("pcm", voiceRate);
        Assert.Empty(w.Header());
        Assert.Equal(24000, w.OutputRate);
        var total = 0;
        foreach (var n in new[] { 1000, 1, 4410, 7, 9000 })
            total += w.Write(Enumerable.Range(0, n).Select(i => 0.3f * MathF.Sin(i * 0.05f)).ToArray()).Length;
        total += w.Finish().Length;
        var expected = 14418 * 24000.0 / voiceRate;
        Assert.InRange(total / 2, expected - 2, expected + 2);
    }
}
