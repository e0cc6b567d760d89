using System.Diagnostics;
using Hailo.Runtime.Npu;
using Xunit;
using Xunit.Abstractions;

namespace Hailo.Runtime.Tests;

/// <summary>
/// Property tests of the vectorised de-quantisation against the scalar formula x = (q − zp)·scale, with random
/// parameters and lengths that exercise every vector width and tail; results must be bit-identical.
/// </summary>
public class DequantizeTests(ITestOutputHelper output)
{
    private static readonly int[] Lengths = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 95, 127, 129, 255, 1000, 4099, 100_003];

    private static float RandomScale(Random r) => (float)Math.Pow(10, r.NextDouble() * 6 - 5); // 1e-5 .. 10
    private static float RandomZp(Random r, int max) => r.Next(3) == 0 ? (float)(r.NextDouble() * max) : r.Next(max + 1);

    [Fact]
    public void UInt8_PerTensor_IsBitIdenticalToTheScalarFormula()
    {
        var r = new Random(1234);
        foreach (var n in Lengths)
            for (var trial = 0; trial < 5; trial++)
            {
                var q = new byte[n];
                r.NextBytes(q);
                float scale = RandomScale(r), zp = RandomZp(r, 255);
                var dst = new float[n + 3];
                dst.AsSpan().Fill(float.NaN);
                Dequantize.ToFloat(q, scale, zp, dst);
                for (var i = 0; i < n; i++) Assert.Equal(((float)q[i] - zp) * scale, dst[i]);
                Assert.All(dst[n..], v => Assert.True(float.IsNaN(v), "wrote past the source length"));
            }
    }

    [Fact]
    public void UInt16_PerTensor_IsBitIdenticalToTheScalarFormula()
    {
        var r = new Random(99);
        foreach (var n in Lengths)
            for (var trial = 0; trial < 5; trial++)
            {
                var q = new ushort[n];
                for (var i = 0; i < n; i++) q[i] = (ushort)r.Next(65536);
                float scale = RandomScale(r), zp = RandomZp(r, 65535);
                var dst = new float[n];
                Dequantize.ToFloat(q, scale, zp, dst);
                for (var i = 0; i < n; i++) Assert.Equal(((float)q[i] - zp) * scale, dst[i]);
            }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(32)]
    [InlineData(97)]
    [InlineData(255)]
    [InlineData(2039)] // prime and large: the period falls back to a plain multiple of the channel count
    public void PerChannel_UsesTheLastDimension(int channels)
    {
        var r = new Random(channels);
        var scales = Enumerable.Range(0, channels).Select(_ => RandomScale(r)).ToArray();
        var zps8 = Enumerable.Range(0, channels).Select(_ => RandomZp(r, 255)).ToArray();
        var zps16 = Enumerable.Range(0, channels).Select(_ => RandomZp(r, 65535)).ToArray();
        foreach (var pixels in new[] { 0, 1, 5, 33, 401 })
            foreach (var extra in new[] { 0, channels > 1 ? channels / 2 : 0 }) // also a length that is not a whole number of pixels
            {
                var n = pixels * channels + extra;
                var q8 = new byte[n];
                r.NextBytes(q8);
                var q16 = Enumerable.Range(0, n).Select(_ => (ushort)r.Next(65536)).ToArray();
                var d8 = new float[n];
                var d16 = new float[n];
                Dequantize.ToFloatPerChannel(q8, scales, zps8, d8);
                Dequantize.ToFloatPerChannel(q16, scales, zps16, d16);
                for (var i = 0; i < n; i++)
                {
                    var c = i % channels;
                    Assert.Equal(((float)q8[i] - zps8[c]) * scales[c], d8[i]);
                    Assert.Equal(((float)q16[i] - zps16[c]) * scales[c], d16[i]);
                }
            }
    }

    [Fact]
    public void QuantInfoOverload_DispatchesPerTensorAndPerChannel()
    {
        var q = Enumerable.Range(0, 64).Select(i => (byte)(i * 3)).ToArray();
        var one = new float[64];
        Dequantize.ToFloat(q, [new QuantInfo(0.5f, 10, 0, 0)], one);
        Assert.Equal((q[5] - 10f) * 0.5f, one[5]);
        var many = new float[64];
        Dequantize.ToFloat(q, [new QuantInfo(1, 0, 0, 0), new QuantInfo(2, 1, 0, 0)], many);
        Assert.Equal(q[4] * 1f, many[4]);
        Assert.Equal((q[5] - 1f) * 2f, many[5]);
    }

    [Fact]
    public void BadArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => Dequantize.ToFloat(new byte[10], 1, 0, new float[9]));
        Assert.Throws<ArgumentException>(() => Dequantize.ToFloat(new ushort[10], 1, 0, new float[9]));
        Assert.Throws<ArgumentException>(() => Dequantize.ToFloatPerChannel(new byte[10], [1f, 2f], [0f], new float[10]));
        Assert.Throws<ArgumentException>(() => Dequantize.ToFloatPerChannel(new byte[10], [], [], new float[10]));
        Assert.Throws<ArgumentException>(() => Dequantize.ToFloat(new byte[10], ReadOnlySpan<QuantInfo>.Empty, new float[10]));
    }

    [Fact]
    public void Throughput_OfUInt8_IsAtLeastOneGigabytePerSecond_InAnOptimisedBuild()
    {
        // 4 MiB in, 16 MiB out: beyond L2, like a real 640×640×N output stream. Best of several runs to keep the
        // figure about the code, not about a busy CI neighbour.
        const int n = 4 << 20;
        var q = new byte[n];
        new Random(5).NextBytes(q);
        var dst = new float[n];
        var perTensor = Measure(() => Dequantize.ToFloat(q, 0.0039f, 3, dst));
        var scales = new float[] { 0.1f, 0.2f, 0.3f };
        var zps = new float[] { 1, 2, 3 };
        var perChannel = Measure(() => Dequantize.ToFloatPerChannel(q, scales, zps, dst));
        var scalar = Measure(() =>
        {
            for (var i = 0; i < n; i++) dst[i] = (q[i] - 3f) * 0.0039f;
        });
        // A Debug build of Hailo.Runtime.Npu runs without JIT optimisation (vector code is then ~10× slower); the target
        // applies to Release, which is what `make test` and the services use.
        var optimised = typeof(Dequantize).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false)
            .Cast<DebuggableAttribute>().All(d => !d.IsJITOptimizerDisabled);
        var target = optimised ? 1.0 : 0.1;
        output.WriteLine($"uint8 per tensor: {perTensor:0.00} GB/s, per channel (3): {perChannel:0.00} GB/s, scalar loop: {scalar:0.00} GB/s " +
                         $"(input bytes; {(optimised ? "optimised" : "Debug, unoptimised")} build, asserting >= {target} GB/s)");
        Assert.True(perTensor >= target, $"per-tensor de-quantisation ran at {perTensor:0.00} GB/s");
        Assert.True(perChannel >= target, $"per-channel de-quantisation ran at {perChannel:0.00} GB/s");

        double Measure(Action a)
        {
            a();
            var best = double.MaxValue;
            for (var k = 0; k < 15; k++)
            {
                var t = Stopwatch.GetTimestamp();
                a();
                best = Math.Min(best, Stopwatch.GetElapsedTime(t).TotalSeconds);
            }
            return n / best / 1e9;
        }
    }
}
