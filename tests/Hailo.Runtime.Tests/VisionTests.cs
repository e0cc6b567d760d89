using Hailo.TestSupport;
using System.Runtime.InteropServices;
using Hailo.Runtime.Npu;
using Xunit;

namespace Hailo.Runtime.Tests;

/// <summary>Vision models on the fake: stream metadata, inference on caller buffers, faults and recovery.</summary>
public class VisionTests
{
    public VisionTests() => _ = FakeShim.Runtime;

    [Fact]
    public void IoInfo_RoundTripsEveryFieldOfTheFixture()
    {
        using var vd = VDevice.Open();
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"));
        var input = Assert.Single(m.Inputs);
        Assert.Equal("fake_depth/input_layer1", input.Name);
        Assert.Equal((8, 10, 3), (input.Height, input.Width, input.Features));
        Assert.Equal(NpuFormatType.UInt8, input.FormatType);
        Assert.Equal(NpuFormatOrder.Nhwc, input.FormatOrder);
        Assert.Equal(240, input.FrameSize);
        Assert.False(input.IsNms);
        Assert.Equal([new QuantInfo(1, 0, 0, 0)], input.Quant);

        Assert.Equal(2, m.Outputs.Count);
        var depth = m.Outputs[0];
        Assert.Equal("fake_depth/conv31", depth.Name);
        Assert.Equal((8, 10, 1), (depth.Height, depth.Width, depth.Features));
        Assert.Equal(NpuFormatType.UInt16, depth.FormatType);
        Assert.Equal(160, depth.FrameSize);
        Assert.Equal(80, depth.ElementCount);
        Assert.Equal([new QuantInfo(0.01f, 100, -1, 654.35f)], depth.Quant);
        Assert.False(depth.IsPerChannel);

        var features = m.Outputs[1];
        Assert.Equal((2, 2, 4), (features.Height, features.Width, features.Features));
        Assert.Equal(NpuFormatType.UInt8, features.FormatType);
        Assert.True(features.IsPerChannel);
        Assert.Equal([new QuantInfo(0.5f, 0, 0, 0), new QuantInfo(0.25f, 10, 0, 0), new QuantInfo(2, 128, 0, 0), new QuantInfo(1, 1, 0, 0)], features.Quant);
    }

    [Fact]
    public void NmsOutput_DescribesItsShape()
    {
        using var vd = VDevice.Open();
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("vision_nms.json"));
        var nms = Assert.Single(m.Outputs);
        Assert.True(nms.IsNms);
        Assert.Equal(NpuFormatOrder.HailoNmsByClass, nms.FormatOrder);
        Assert.Equal(NpuFormatType.Float32, nms.FormatType);
        Assert.Equal(new NmsShape(2, 2, 4, 0), nms.Nms);
        Assert.Equal(2 * (1 + 5 * 2) * 4, nms.FrameSize);
        var t = m.InferTensors(new byte[m.Inputs[0].FrameSize]);
        Assert.Equal(File.ReadAllBytes(FakeShim.ShimFixture("vision_nms.bin")), t[0].Data);
    }

    [Fact]
    public void Infer_SingleInputOutput_OnCallerBuffers()
    {
        using var vd = VDevice.Open();
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef")); // a "HEF" with a .fake.json sidecar
        Span<byte> output = stackalloc byte[2];
        m.Infer(stackalloc byte[4], output);
        Assert.Equal([7, 9], output.ToArray());
    }

    [Fact]
    public void Infer_MultipleOutputs_ReturnsTheCannedFrames()
    {
        using var vd = VDevice.Open();
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"));
        var t = m.InferTensors(new byte[240]);
        var depth = t[0].AsUInt16().ToArray();
        Assert.Equal(new ushort[] { 100, 200, 300, 65535 }, depth[..4]);
        Assert.All(depth[4..], v => Assert.Equal(1100, v));
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (byte)i), t[1].Data);

        var f = t[0].ToFloat();
        Assert.Equal(0f, f[0]);
        Assert.Equal((200 - 100) * 0.01f, f[1]);
        Assert.Equal((65535 - 100) * 0.01f, f[3]);
        var feat = t[1].ToFloat();
        Assert.Equal([0f, (1 - 10) * 0.25f, (2 - 128) * 2f, (3 - 1) * 1f, 4 * 0.5f], feat[..5]);
    }

    [Fact]
    public void CSharpDequantisation_AgreesWithHailoRtFloat32Outputs()
    {
        using var vd = VDevice.Open();
        using var native = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"));
        using var asFloat = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"), new VisionModelOptions { OutputFormat = NpuFormatType.Float32 });
        Assert.All(asFloat.Outputs, o => Assert.Equal(NpuFormatType.Float32, o.FormatType));
        Assert.Equal(320, asFloat.Outputs[0].FrameSize);
        Assert.Equal(64, asFloat.Outputs[1].FrameSize);
        var q = native.InferTensors(new byte[240]);
        var f = asFloat.InferTensors(new byte[240]);
        for (var k = 0; k < 2; k++)
        {
            var mine = q[k].ToFloat();
            var theirs = f[k].AsFloat32().ToArray();
            Assert.Equal(theirs.Length, mine.Length);
            // The fake computes in double and rounds once; C# computes in float: equal within 1 ulp.
            for (var i = 0; i < mine.Length; i++) Assert.True(MathF.Abs(mine[i] - theirs[i]) <= MathF.Abs(theirs[i]) * 2e-7f, $"{k}/{i}: {mine[i]} vs {theirs[i]}");
            Assert.Equal(theirs, f[k].ToFloat());
        }
    }

    [Fact]
    public void Infer_OnPageAlignedNpuBuffers_AndPinnedManagedMemory()
    {
        using var vd = VDevice.Open();
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"));
        using var input = NpuBuffer.For(m.Inputs[0]);
        using var out0 = NpuBuffer.For(m.Outputs[0]);
        var out1 = new byte[m.Outputs[1].FrameSize];
        unsafe
        {
            fixed (byte* p = input.GetSpan()) Assert.Equal(0, (long)p % 4096);
        }
        m.Infer([input.Memory], [out0.Memory, out1]);
        Assert.Equal(100, MemoryMarshal.Cast<byte, ushort>(out0.GetSpan())[0]);
        Assert.Equal(15, out1[15]);
    }

    [Fact]
    public void Infer_WrongBufferSizesOrCounts_ThrowArgumentException()
    {
        using var vd = VDevice.Open();
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"));
        var e = Assert.Throws<ArgumentException>(() => m.Infer([new byte[239]], [new byte[160], new byte[16]]));
        Assert.Equal("input 0 ('fake_depth/input_layer1') buffer is 239 bytes; its frame size is 240", e.Message);
        Assert.Throws<ArgumentException>(() => m.Infer([new byte[240]], [new byte[160]]));
        Assert.Throws<ArgumentException>(() => m.Infer(new byte[240], new byte[160])); // two outputs: the single overload does not fit
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Infer([new byte[240]], [new byte[160], new byte[16]], TimeSpan.Zero));
    }

    [Fact]
    public void Infer_OnPreallocatedBuffers_AllocatesNothing()
    {
        using var vd = VDevice.Open();
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("vision_640.json"));
        var input = new byte[m.Inputs[0].FrameSize];
        var output = new byte[m.Outputs[0].FrameSize];
        ReadOnlyMemory<byte>[] ins = [input];
        Memory<byte>[] outs = [output];
        var floats = new float[output.Length];
        m.Infer(input, output);
        m.Infer(ins, outs);
        Dequantize.ToFloat(output, 0.5f, 3, floats);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            m.Infer(input, output);
            m.Infer(ins, outs);
            Dequantize.ToFloat(output, 0.5f, 3, floats);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task TwoModelsAtOnce_FromTwoThreads()
    {
        using var vd = VDevice.Open();
        using var depth = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"));
        using var tiny = VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"));
        var a = Task.Run(() =>
        {
            for (var i = 0; i < 200; i++) Assert.Equal(100, depth.InferTensors(new byte[240])[0].AsUInt16()[0]);
        });
        var b = Task.Run(() =>
        {
            var o = new byte[2];
            for (var i = 0; i < 200; i++)
            {
                tiny.Infer(new byte[4], o);
                Assert.Equal([7, 9], o);
            }
        });
        await Task.WhenAll(a, b);
    }

    [Fact]
    public void Timeout_IsRetryable_AndTheModelWorksAfterwards()
    {
        using var vd = VDevice.Open();
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"));
        var o = new byte[2];
        using (FakeShim.Faults("timeout"))
        {
            var e = Assert.Throws<HailoException>(() => m.Infer(new byte[4], o, TimeSpan.FromMilliseconds(30)));
            Assert.Equal(HailoStatus.Timeout, e.Code);
            Assert.True(e.IsRetryable);
            Assert.True(e.IsDeviceFault);
        }
        m.Infer(new byte[4], o, TimeSpan.FromMilliseconds(30));
        Assert.Equal([7, 9], o);
    }

    [Fact]
    public void DeviceLost_ThenRecovery_TheSameModelWorksAgain()
    {
        using var vd = VDevice.Open();
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"));
        using (FakeShim.Faults("device_lost"))
        {
            var e = Assert.Throws<HailoException>(() => m.InferTensors(new byte[240]));
            Assert.Equal(62, e.Status);
            Assert.Equal("HAILO_COMMUNICATION_CLOSED", e.StatusName);
            Assert.True(e.IsDeviceFault);
            Assert.Contains("hs_model_infer", e.Message);
        }
        Assert.Equal(100, m.InferTensors(new byte[240])[0].AsUInt16()[0]);
    }

    [Fact]
    public void LoadOptions_ReachTheShim()
    {
        using var vd = VDevice.Open();
        var bad = Assert.Throws<HailoException>(() => VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"), new VisionModelOptions { SchedulerPriority = 32 }));
        Assert.Equal(HailoStatus.InvalidArgument, bad.Code);
        Assert.Contains("scheduler_priority must be 0..31", bad.Message);
        Assert.Contains("nms_score_threshold", Assert.Throws<HailoException>(() =>
            VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"), new VisionModelOptions { NmsScoreThreshold = 2 })).Message);
        using var ok = VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"), new VisionModelOptions
        {
            BatchSize = 2, SchedulerPriority = 31, SchedulerThreshold = 4, SchedulerTimeout = TimeSpan.FromMilliseconds(50),
            NmsScoreThreshold = 0.3f, NmsIouThreshold = 0.45f, NmsMaxProposalsPerClass = 10, NmsMaxProposalsTotal = 100,
        });
        Assert.Equal(NpuFormatType.UInt8, ok.Outputs[0].FormatType);
    }
}
