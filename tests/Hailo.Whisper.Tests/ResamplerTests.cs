using System.Runtime.InteropServices;
using Hailo.Audio;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>
/// The streaming resampler the decoders push blocks through: the same samples whatever the block sizes, the same as
/// libsoxr's one-shot call on the whole signal, and the length of the input at 16 kHz.
/// </summary>
public sealed unsafe class ResamplerTests
{
    private static float[] Chirp(int rate, double seconds)
    {
        var n = (int)(rate * seconds);
        var x = new float[n];
        for (var i = 0; i < n; i++)
        {
            var t = i / (double)rate;
            x[i] = (float)(0.5 * Math.Sin(2 * Math.PI * (200 * t + 900 * t * t)));
        }
        return x;
    }

    private static float[] Blocks(float[] input, int rate, params int[] sizes)
    {
        var output = new PcmQueue(null);
        using var r = new Resampler(rate, output);
        var k = 0;
        for (var at = 0; at < input.Length; k++)
        {
            var n = Math.Min(sizes[k % sizes.Length], input.Length - at);
            r.Push(input.AsSpan(at, n));
            at += n;
        }
        r.Finish();
        var all = new float[output.Count];
        output.Take(all);
        return all;
    }

    private static float[] OneShot(float[] input, int rate)
    {
        var outLen = (int)Math.Ceiling(input.Length * 16000.0 / rate);
        var output = new float[outLen];
        nuint done = 0, made = 0;
        var quality = Soxr.soxr_quality_spec(Soxr.RecipeHq, 0);
        fixed (float* src = input)
        fixed (float* dst = output)
            Assert.True(Soxr.soxr_oneshot(rate, 16000, 1, src, (nuint)input.Length, &done, dst, (nuint)outLen, &made, null, &quality, null) == null);
        return output[..(int)made];
    }

    [Theory]
    [InlineData(48000)]
    [InlineData(44100)]
    [InlineData(8000)]
    public void Blocks_of_any_size_give_the_one_shot_result(int rate)
    {
        var input = Chirp(rate, 3.3);
        var whole = OneShot(input, rate);
        Assert.Equal((int)Math.Ceiling(input.Length * 16000.0 / rate), whole.Length);
        foreach (var sizes in new[] { new[] { input.Length }, new[] { 16384 }, new[] { 1, 999, 7777 }, new[] { 5760, 960 } })
        {
            var streamed = Blocks(input, rate, sizes);
            Assert.Equal(whole.Length, streamed.Length);
            for (var i = 0; i < whole.Length; i++) Assert.Equal(whole[i], streamed[i], 1e-6f);
        }
    }

    [Fact]
    public void At_the_target_rate_blocks_are_collected_unchanged()
    {
        var input = Chirp(16000, 1.1);
        Assert.Equal(input, Blocks(input, 16000, 333, 4096));
    }
}

/// <summary>libsoxr's one-shot call (soxr.h), bound here on its own: the independent reference for <see cref="Resampler"/>.</summary>
internal static unsafe partial class Soxr
{
    /// <summary>SOXR_HQ, the recipe <see cref="Resampler"/> uses.</summary>
    public const nuint RecipeHq = 4;
    private const string Lib = "libsoxr.so.0";

    [StructLayout(LayoutKind.Sequential)]
    public struct QualitySpec
    {
        public double Precision, PhaseResponse, PassbandEnd, StopbandBegin;
        public IntPtr E;
        public nuint Flags;
    }

    [LibraryImport(Lib)] public static partial QualitySpec soxr_quality_spec(nuint recipe, nuint flags);

    [LibraryImport(Lib)]
    public static partial byte* soxr_oneshot(double inputRate, double outputRate, uint channels, float* input, nuint inLen, nuint* inDone,
        float* output, nuint outLen, nuint* outDone, void* ioSpec, QualitySpec* qualitySpec, void* runtimeSpec);
}
