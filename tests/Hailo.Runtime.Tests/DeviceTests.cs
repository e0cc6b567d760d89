using Hailo.TestSupport;
using Hailo.Runtime.Npu;
using Xunit;

namespace Hailo.Runtime.Tests;

/// <summary>Device monitoring values round-tripped from the fake device (see native-shim/README.md "Faults").</summary>
public class DeviceTests
{
    public DeviceTests() => _ = FakeShim.Runtime;

    [Fact]
    public void Scan_FindsTheFakeDevice_AndNoneWithNoDeviceFault()
    {
        Assert.Equal(["fake-0001:01:00.0"], NpuDevice.Scan());
        using (FakeShim.Faults("no_device")) Assert.Empty(NpuDevice.Scan());
    }

    [Fact]
    public void Identify_ReturnsEveryField()
    {
        using var dev = NpuDevice.Open();
        var id = dev.Identify();
        Assert.Equal("fake-0001:01:00.0", id.DeviceId);
        Assert.Equal("HAILO10H", id.ArchitectureName);
        Assert.Equal(6, id.Architecture);
        Assert.Equal(new Version(5, 2, 0), id.FirmwareVersion);
        Assert.True(id.IsReleaseFirmware);
        Assert.Equal(2u, id.ProtocolVersion);
        Assert.Equal("FAKE-HAILO-10H-BOARD", id.BoardName);
        Assert.Equal("FAKE00000001", id.SerialNumber);
        Assert.Equal("FAKE-PN-10H", id.PartNumber);
        Assert.Equal("FAKE-HAILO-10H", id.ProductName);
    }

    [Fact]
    public void OpenById_AndUnknownId()
    {
        using (var dev = NpuDevice.Open("fake-0001:01:00.0")) Assert.Equal("FAKE00000001", dev.Identify().SerialNumber);
        var e = Assert.Throws<HailoException>(() => NpuDevice.Open("0000:09:00.0"));
        Assert.Equal(HailoStatus.NotFound, e.Code);
        Assert.False(e.IsDeviceFault);
    }

    [Fact]
    public void Temperature_Health_Power()
    {
        using var dev = NpuDevice.Open();
        var t = dev.Temperature();
        Assert.Equal(45.5f, t.Ts0Celsius);
        Assert.Equal(46.25f, t.Ts1Celsius);
        Assert.Equal(1u, t.SampleCount);
        Assert.Equal(46.25f, t.MaxCelsius);

        var h = dev.Health();
        Assert.NotNull(h);
        Assert.Equal(46.0f, h.OnDieTemperatureCelsius);
        Assert.Equal(825, h.OnDieVoltageMv);
        Assert.Equal(0, h.BistFailureMask);
        Assert.Equal(12.5f, h.CpuUtilizationPercent);
        Assert.Equal(0f, h.NnCoreUtilizationPercent);
        Assert.Null(h.DspUtilizationPercent); // the fake reports -1 = not available
        Assert.Equal(8ul * 1024 * 1024, h.RamTotalKib);
        Assert.Equal(1024ul * 1024, h.RamUsedKib);

        Assert.Null(dev.PowerWatts()); // NOT_SUPPORTED on a board without a power sensor
    }

    [Fact]
    public void DeviceLost_FailsMonitoringWithADeviceFault_AndRecovers()
    {
        using var dev = NpuDevice.Open();
        using (FakeShim.Faults("device_lost"))
        {
            var e = Assert.Throws<HailoException>(() => dev.Temperature());
            Assert.Equal(HailoStatus.CommunicationClosed, e.Code);
            Assert.True(e.IsDeviceFault);
            Assert.Throws<HailoException>(() => dev.Identify());
            Assert.Throws<HailoException>(() => dev.Health());
        }
        Assert.Equal(45.5f, dev.Temperature().Ts0Celsius);
    }

    [Fact]
    public void NoDevice_VDeviceOpenFailsWith74()
    {
        using (FakeShim.Faults("no_device"))
        {
            var e = Assert.Throws<HailoException>(() => VDevice.Open());
            Assert.Equal(74, e.Status);
            Assert.Equal("HAILO_OUT_OF_PHYSICAL_DEVICES", e.StatusName);
            Assert.True(e.IsDeviceFault);
            Assert.StartsWith("HAILO_OUT_OF_PHYSICAL_DEVICES(74): hs_vdevice_open: ", e.Message);
            Assert.Throws<HailoException>(() => NpuDevice.Open());
        }
        using var vd = VDevice.Open();
        Assert.Equal(VDevice.SharedGroup, vd.GroupId);
    }

    [Fact]
    public void UniqueGroup_ExcludesOtherVDevicesInTheProcess()
    {
        using (var shared = VDevice.Open())
        {
            var e = Assert.Throws<HailoException>(() => VDevice.Open(VDevice.UniqueGroup));
            Assert.Equal(HailoStatus.OutOfPhysicalDevices, e.Code);
        }
        using var unique = VDevice.Open(VDevice.UniqueGroup);
        Assert.Equal(74, Assert.Throws<HailoException>(() => VDevice.Open()).Status);
    }
}
