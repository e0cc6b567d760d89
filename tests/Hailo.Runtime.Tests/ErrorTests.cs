using Hailo.TestSupport;
using Hailo.Runtime.Npu;
using Xunit;

namespace Hailo.Runtime.Tests;

/// <summary>Status names, exception formatting and classification, and the per-thread last error.</summary>
public class ErrorTests
{
    public ErrorTests() => _ = FakeShim.Runtime;

    [Theory]
    [InlineData(0, "HAILO_SUCCESS")]
    [InlineData(2, "HAILO_INVALID_ARGUMENT")]
    [InlineData(4, "HAILO_TIMEOUT")]
    [InlineData(6, "HAILO_INVALID_OPERATION")]
    [InlineData(13, "HAILO_OPEN_FILE_FAILURE")]
    [InlineData(26, "HAILO_INVALID_HEF")]
    [InlineData(61, "HAILO_NOT_FOUND")]
    [InlineData(62, "HAILO_COMMUNICATION_CLOSED")]
    [InlineData(71, "HAILO_OUT_OF_FW_MEMORY")]
    [InlineData(74, "HAILO_OUT_OF_PHYSICAL_DEVICES")]
    [InlineData(79, "HAILO_NOT_SUPPORTED")]
    [InlineData(95, "HAILO_OPERATION_ABORTED")]
    [InlineData(1000, "HS_NO_BACKEND")]
    [InlineData(1001, "HS_BUFFER_TOO_SMALL")]
    [InlineData(1002, "HS_VERSION_MISMATCH")]
    [InlineData(1003, "HS_EXCEPTION")]
    public void StatusName_MatchesHailoRtSpelling(int status, string name) => Assert.Equal(name, NpuRuntime.StatusName(status));

    [Fact]
    public void EveryEnumValue_HasAShimName_ThatMatchesItsMeaning()
    {
        foreach (var v in Enum.GetValues<HailoStatus>())
        {
            var name = NpuRuntime.StatusName((int)v);
            Assert.Matches("^(HAILO|HS)_[A-Z0-9_]+$", name);
            // e.g. OutOfPhysicalDevices <-> HAILO_OUT_OF_PHYSICAL_DEVICES
            var words = name[(name.IndexOf('_') + 1)..].Replace("_", "");
            var expected = v == HailoStatus.CppException ? "EXCEPTION" : v.ToString().ToUpperInvariant();
            Assert.Equal(expected, words);
        }
    }

    [Fact]
    public void MissingHef_ThrowsOpenFileFailure_WithShimMessage()
    {
        using var vd = VDevice.Open();
        var e = Assert.Throws<HailoException>(() => VisionModel.Load(vd, "/nonexistent/model.hef"));
        Assert.Equal(HailoStatus.OpenFileFailure, e.Code);
        Assert.Equal(13, e.Status);
        Assert.Equal("HAILO_OPEN_FILE_FAILURE", e.StatusName);
        Assert.StartsWith("hs_model_load: fake: cannot open '/nonexistent/model.hef'", e.ShimMessage);
        Assert.Equal($"HAILO_OPEN_FILE_FAILURE(13): {e.ShimMessage}", e.Message);
        Assert.False(e.IsDeviceFault);
        Assert.False(e.IsRetryable);
    }

    [Fact]
    public void WrongModelKind_ThrowsInvalidHef()
    {
        using var vd = VDevice.Open();
        var e = Assert.Throws<HailoException>(() => LlmModel.Create(vd, FakeShim.ShimFixture("vision_depth.json")));
        Assert.Equal(HailoStatus.InvalidHef, e.Code);
        Assert.Contains("describes a 'vision' model, expected 'llm'", e.Message);
    }

    [Fact]
    public void UnknownFaultName_IsRejected()
    {
        var e = Assert.Throws<HailoException>(() => FakeShim.SetFaults("melted"));
        Assert.Equal(HailoStatus.InvalidArgument, e.Code);
        Assert.Contains("unknown fault 'melted'", e.Message);
    }

    [Theory]
    [InlineData(62, true)]
    [InlineData(96, true)]
    [InlineData(74, true)]
    [InlineData(4, true)]
    [InlineData(2, false)]
    [InlineData(6, false)]
    [InlineData(71, false)]
    [InlineData(26, false)]
    public void DeviceFaultClassification(int status, bool fault) => Assert.Equal(fault, HailoException.IsDeviceFaultStatus(status));

    [Fact]
    public void OutOfMemory_FailsEveryLoad()
    {
        using var vd = VDevice.Open();
        using (FakeShim.Faults("out_of_memory"))
        {
            Assert.Equal(HailoStatus.OutOfFwMemory, Assert.Throws<HailoException>(() => VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"))).Code);
            Assert.Equal(HailoStatus.OutOfFwMemory, Assert.Throws<HailoException>(() => LlmModel.Create(vd, FakeShim.ShimFixture("llm.json"))).Code);
            Assert.Equal(HailoStatus.OutOfFwMemory, Assert.Throws<HailoException>(() => SpeechToText.Create(vd, FakeShim.ShimFixture("s2t.json"))).Code);
        }
        using var m = VisionModel.Load(vd, FakeShim.ShimFixture("tiny.hef"));
    }

    [Fact]
    public void LastError_IsPerThread_SoConcurrentFailuresKeepTheirOwnMessages()
    {
        using var vd = VDevice.Open();
        var errors = new string[8];
        Parallel.For(0, errors.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            for (var k = 0; k < 50; k++)
            {
                var path = $"/nonexistent/{i}-{k}.hef";
                var e = Assert.Throws<HailoException>(() => VisionModel.Load(vd, path));
                Assert.Contains($"'{path}'", e.ShimMessage);
                errors[i] = e.ShimMessage;
            }
        });
        Assert.All(errors, Assert.NotNull);
    }
}
