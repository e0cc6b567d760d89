namespace Hailo.Runtime.Npu;

/// <summary>What hs_device_identify reports about a physical device.</summary>
public sealed record DeviceIdentity(
    string DeviceId,
    string ArchitectureName,
    int Architecture,
    Version FirmwareVersion,
    bool IsReleaseFirmware,
    uint ProtocolVersion,
    uint LoggerVersion,
    string BoardName,
    string SerialNumber,
    string PartNumber,
    string ProductName);

/// <summary>The two on-die temperature sensors in °C.</summary>
public readonly record struct DeviceTemperature(float Ts0Celsius, float Ts1Celsius, uint SampleCount)
{
    public float MaxCelsius => MathF.Max(Ts0Celsius, Ts1Celsius);
}

/// <summary>Health and performance counters; null where the device could not give a value.</summary>
public sealed record DeviceHealth(
    float? OnDieTemperatureCelsius,
    int? OnDieVoltageMv,
    int? BistFailureMask,
    float? CpuUtilizationPercent,
    float? NnCoreUtilizationPercent,
    int? DspUtilizationPercent,
    ulong? RamTotalKib,
    ulong? RamUsedKib);

/// <summary>A physical Hailo device opened for monitoring (identity, temperature, health, power).</summary>
/// <remarks>This does not hold the device for inference; use <see cref="VDevice"/> for that.</remarks>
public sealed unsafe class NpuDevice : IDisposable
{
    private readonly DeviceHandle _handle;

    private NpuDevice(DeviceHandle handle) => _handle = handle;

    /// <summary>Ids of the devices present (PCIe BDF on a Pi); empty when there is none.</summary>
    public static IReadOnlyList<string> Scan()
    {
        NpuRuntime.EnsureLoaded();
        var cap = 4u;
        while (true)
        {
            var ids = new HsDeviceId[cap];
            uint count = 0;
            int st;
            fixed (HsDeviceId* p = ids) st = NativeMethods.hs_scan(p, cap, &count);
            if (st == (int)HailoStatus.BufferTooSmall && count > cap)
            {
                cap = count;
                continue;
            }
            Shim.Check(st);
            var result = new string[count];
            for (var i = 0; i < count; i++)
                fixed (byte* id = ids[i].Id) result[i] = FixedString.Read(id, 64);
            return result;
        }
    }

    /// <summary>Opens a device by id, or the first device when <paramref name="deviceId"/> is null.</summary>
    public static NpuDevice Open(string? deviceId = null)
    {
        NpuRuntime.EnsureLoaded();
        var st = NativeMethods.hs_device_open(deviceId, out var handle);
        if (st != 0) throw Shim.ErrorDisposing(st, handle);
        return new NpuDevice(handle);
    }

    public DeviceIdentity Identify()
    {
        HsIdentity id;
        Shim.Check(NativeMethods.hs_device_identify(_handle, &id));
        return new DeviceIdentity(
            FixedString.Read(id.DeviceId, 64),
            FixedString.Read(id.ArchName, 32),
            id.Architecture,
            new Version((int)id.FwMajor, (int)id.FwMinor, (int)id.FwRevision),
            id.IsRelease != 0,
            id.ProtocolVersion,
            id.LoggerVersion,
            FixedString.Read(id.BoardName, 64),
            FixedString.Read(id.SerialNumber, 32),
            FixedString.Read(id.PartNumber, 32),
            FixedString.Read(id.ProductName, 64));
    }

    public DeviceTemperature Temperature()
    {
        HsTemperature t;
        Shim.Check(NativeMethods.hs_device_temperature(_handle, &t));
        return new DeviceTemperature(t.Ts0Celsius, t.Ts1Celsius, t.SampleCount);
    }

    /// <summary>Health counters, or null when the device supports neither health nor performance queries.</summary>
    public DeviceHealth? Health()
    {
        HsHealth h;
        var st = NativeMethods.hs_device_health(_handle, &h);
        if (st == (int)HailoStatus.NotSupported) return null;
        if (st != 0) throw Shim.Error(st);
        // -1 (or all ones for the uint64 fields) marks a value the device did not give.
        bool health = h.HealthValid != 0, perf = h.PerfValid != 0;
        return new DeviceHealth(
            health && h.OnDieTemperatureCelsius != -1 ? h.OnDieTemperatureCelsius : null,
            health && h.OnDieVoltageMv != -1 ? h.OnDieVoltageMv : null,
            health && h.BistFailureMask != -1 ? h.BistFailureMask : null,
            perf && h.CpuUtilizationPercent != -1 ? h.CpuUtilizationPercent : null,
            perf && h.NncUtilizationPercent != -1 ? h.NncUtilizationPercent : null,
            perf && h.DspUtilizationPercent != -1 ? h.DspUtilizationPercent : null,
            perf && h.RamTotalKib != ulong.MaxValue ? h.RamTotalKib : null,
            perf && h.RamUsedKib != ulong.MaxValue ? h.RamUsedKib : null);
    }

    /// <summary>Instantaneous power in watts, or null when the board has no power sensor.</summary>
    public float? PowerWatts()
    {
        float w;
        var st = NativeMethods.hs_device_power(_handle, &w);
        if (st == (int)HailoStatus.NotSupported) return null;
        if (st != 0) throw Shim.Error(st);
        return w;
    }

    public void Dispose() => _handle.Dispose();
}

/// <summary>
/// A scheduler-enabled virtual device. All services must use the same non-"UNIQUE" group ("SHARED") to share
/// the chip between processes; "UNIQUE" takes it exclusively.
/// </summary>
public sealed class VDevice : IDisposable
{
    /// <summary>The group id every service uses so that several processes can share one Hailo-10H.</summary>
    public const string SharedGroup = "SHARED";
    /// <summary>HailoRT's exclusive group: fails with 74 while any other VDevice exists, and blocks all others.</summary>
    public const string UniqueGroup = "UNIQUE";

    private VDevice(VDeviceHandle handle, string groupId)
    {
        Handle = handle;
        GroupId = groupId;
    }

    internal VDeviceHandle Handle { get; }
    public string GroupId { get; }

    /// <summary>Opens a VDevice; fails with HAILO_OUT_OF_PHYSICAL_DEVICES (74) when there is no free device.</summary>
    public static VDevice Open(string groupId = SharedGroup)
    {
        ArgumentException.ThrowIfNullOrEmpty(groupId);
        NpuRuntime.EnsureLoaded();
        var st = NativeMethods.hs_vdevice_open(groupId, out var handle);
        if (st != 0) throw Shim.ErrorDisposing(st, handle);
        return new VDevice(handle, groupId);
    }

    /// <summary>Releases this handle; the device itself is released once the models created from it are gone too.</summary>
    public void Dispose() => Handle.Dispose();
}
