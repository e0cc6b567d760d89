using System.Runtime.InteropServices;
using System.Text;

namespace Hailo.Runtime.Npu;

// Mirrors of the structs in native-shim/include/hailo_shim.h. Every one is blittable, Sequential and has no
// implicit padding; the sizes and offsets are pinned by static_asserts in the shim and by the binding's tests.
// Flags are int32 (0/1), never bool, so nothing needs marshalling.

/// <summary>hs_version_t (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct HsVersion
{
    public uint Major;
    public uint Minor;
    public uint Revision;

    public readonly Version ToVersion() => new((int)Major, (int)Minor, (int)Revision);
}

/// <summary>hs_device_id_t (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HsDeviceId
{
    public fixed byte Id[64];
}

/// <summary>hs_identity_t (320 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HsIdentity
{
    public uint ProtocolVersion;
    public uint FwMajor;
    public uint FwMinor;
    public uint FwRevision;
    public uint LoggerVersion;
    public int Architecture;
    public int IsRelease;
    public uint Reserved0;
    public fixed byte DeviceId[64];
    public fixed byte ArchName[32];
    public fixed byte BoardName[64];
    public fixed byte SerialNumber[32];
    public fixed byte PartNumber[32];
    public fixed byte ProductName[64];
}

/// <summary>hs_temperature_t (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct HsTemperature
{
    public float Ts0Celsius;
    public float Ts1Celsius;
    public uint SampleCount;
}

/// <summary>hs_health_t (48 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct HsHealth
{
    public int HealthValid;
    public int PerfValid;
    public float OnDieTemperatureCelsius;
    public int OnDieVoltageMv;
    public int BistFailureMask;
    public float CpuUtilizationPercent;
    public float NncUtilizationPercent;
    public int DspUtilizationPercent;
    public ulong RamTotalKib;
    public ulong RamUsedKib;
}

/// <summary>hs_model_params_t (40 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct HsModelParams
{
    public uint BatchSize;
    public int InputFormatType;
    public int OutputFormatType;
    public int SchedulerPriority;
    public uint SchedulerThreshold;
    public uint SchedulerTimeoutMs;
    public float NmsScoreThreshold;
    public float NmsIouThreshold;
    public uint NmsMaxProposalsPerClass;
    public uint NmsMaxProposalsTotal;
}

/// <summary>hs_io_info_t (200 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HsIoInfo
{
    public fixed byte Name[128];
    public uint Height;
    public uint Width;
    public uint Features;
    public int FormatType;
    public int FormatOrder;
    public int IsNms;
    public ulong FrameSize;
    public uint NmsNumberOfClasses;
    public uint NmsMaxBboxesPerClass;
    public uint NmsMaxBboxesTotal;
    public uint NmsMaxAccumulatedMaskSize;
    public uint QuantCount;
    public float QpScale;
    public float QpZp;
    public float LimvalsMin;
    public float LimvalsMax;
    public uint Reserved0;
}

/// <summary>hs_quant_t (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct HsQuant
{
    public float QpScale;
    public float QpZp;
    public float LimvalsMin;
    public float LimvalsMax;
}

/// <summary>hs_genai_params_t (132 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HsGenAiParams
{
    public fixed byte LoraName[128];
    public int OptimizeMemoryOnDevice;
}

/// <summary>hs_gen_params_t (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct HsGenParams
{
    public float Temperature;
    public float TopP;
    public uint TopK;
    public float FrequencyPenalty;
    public uint MaxGeneratedTokens;
    public int DoSample;
    public int UseSeed;
    public uint Seed;
}

/// <summary>hs_frame_spec_t (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct HsFrameSpec
{
    public uint Height;
    public uint Width;
    public uint Features;
    public int FormatType;
    public int FormatOrder;
    public uint Reserved0;
    public ulong FrameSize;
}

/// <summary>hs_s2t_params_t (28 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct HsS2tParams
{
    public int Task;
    public float RepetitionPenalty;
    public uint TimeoutMs;
    public fixed byte Language[16];
}

/// <summary>Conversions between fixed char arrays and strings.</summary>
internal static unsafe class FixedString
{
    /// <summary>The UTF-8 text up to the first NUL (or the whole array when there is none).</summary>
    public static string Read(byte* p, int capacity)
    {
        var span = new ReadOnlySpan<byte>(p, capacity);
        var n = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(n < 0 ? span : span[..n]);
    }

    /// <summary>Writes s NUL-terminated; throws when it does not fit (the shim rejects unterminated arrays anyway).</summary>
    public static void Write(byte* p, int capacity, string s, string what)
    {
        var span = new Span<byte>(p, capacity);
        span.Clear();
        if (Encoding.UTF8.GetByteCount(s) >= capacity)
            throw new ArgumentException($"{what} must be shorter than {capacity} UTF-8 bytes", what);
        Encoding.UTF8.GetBytes(s, span);
    }
}
