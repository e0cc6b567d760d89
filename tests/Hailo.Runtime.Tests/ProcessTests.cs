using Hailo.TestSupport;
using Hailo.Runtime.Npu;
using Xunit;

namespace Hailo.Runtime.Tests;

/// <summary>
/// Two processes at once (tests/Hailo.Runtime.Tests.Child): the fake simulates HailoRT's sharing rules with
/// flock() in this run's HS_FAKE_STATE_DIR, so these prove the binding surfaces them correctly; whether HailoRT
/// behaves the same across processes is for a Pi to show (native-shim's hailo-selftest two_processes step).
/// </summary>
public class ProcessTests
{
    public ProcessTests() => _ = FakeShim.Runtime;

    [Fact]
    public void SharedGroup_TwoProcessesCoexist_ButTheKvCacheIsExclusive()
    {
        using var child = ChildProcess.Start(null, "llm", "SHARED", FakeShim.ShimFixture("llm.json"));
        Assert.Equal("READY", child.FirstLine);

        using var vd = VDevice.Open(); // SHARED in both processes
        using var model = VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"));
        var o = new byte[2];
        model.Infer(new byte[4], o);
        Assert.Equal([7, 9], o);

        var e = Assert.Throws<HailoException>(() => LlmModel.Create(vd, FakeShim.ShimFixture("llm.json")));
        Assert.Equal(HailoStatus.InvalidOperation, e.Code);
        Assert.Contains("this or another process", e.Message);

        child.Release(); // the child unloads its LLM and exits
        using var llm = LlmModel.Create(vd, FakeShim.ShimFixture("llm.json"));
    }

    [Fact]
    public void UniqueGroupInAnotherProcess_BlocksThisOne_Until_ItExits()
    {
        using (var child = ChildProcess.Start(null, "vdevice", "UNIQUE"))
        {
            Assert.Equal("READY", child.FirstLine);
            var e = Assert.Throws<HailoException>(() => VDevice.Open());
            Assert.Equal(HailoStatus.OutOfPhysicalDevices, e.Code);
            Assert.True(e.IsDeviceFault);
            Assert.Contains("group \"UNIQUE\"", e.Message);
        }
        using var vd = VDevice.Open();
    }

    [Fact]
    public void ThisProcessHoldsTheDevice_ChildAsksForUnique_Gets74()
    {
        using var vd = VDevice.Open();
        var line = ChildProcess.Run(null, "vdevice", "UNIQUE");
        Assert.StartsWith("ERROR 74 HAILO_OUT_OF_PHYSICAL_DEVICES(74): hs_vdevice_open:", line);
    }

    [Fact]
    public void TwoProcesses_RunVisionModelsAtTheSameTime()
    {
        using var vd = VDevice.Open();
        using var model = VisionModel.Load(vd, FakeShim.ShimFixture("vision_depth.json"));
        using var child = ChildProcess.Start(null, "vision", "SHARED", FakeShim.ShimFixture("vision_depth.json"));
        Assert.Equal("READY", child.FirstLine);
        Assert.Equal(100, model.InferTensors(new byte[240])[0].AsUInt16()[0]);
    }
}
