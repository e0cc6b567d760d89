namespace Hailo.Runtime.Npu;

/// <summary>hailo_format_type_t: element type of a stream on the host side.</summary>
public enum NpuFormatType
{
    /// <summary>As a request: the HEF's native (quantised) type. Never reported for a loaded stream.</summary>
    Auto = 0,
    UInt8 = 1,
    UInt16 = 2,
    Float32 = 3,
}

/// <summary>hailo_format_order_t: memory layout of a stream (the ones services meet; others pass through as numbers).</summary>
public enum NpuFormatOrder
{
    Auto = 0,
    Nhwc = 1,
    Nhcw = 2,
    Fcr = 3,
    F8cr = 4,
    Nhw = 5,
    Nc = 6,
    HailoNms = 9,
    Rgb888 = 10,
    Nchw = 11,
    Yuy2 = 12,
    Nv12 = 13,
    Nv21 = 14,
    Rgb4 = 17,
    I420 = 18,
    HailoNmsWithByteMask = 20,
    HailoNmsOnChip = 21,
    HailoNmsByClass = 22,
    HailoNmsByScore = 23,
}

/// <summary>One quantisation entry: x = (q − ZeroPoint) · Scale; Min/Max are the float range limits.</summary>
public readonly record struct QuantInfo(float Scale, float ZeroPoint, float Min, float Max);

/// <summary>Shape of an NMS output as HailoRT describes it.</summary>
public sealed record NmsShape(int NumberOfClasses, int MaxBboxesPerClass, int MaxBboxesTotal, int MaxAccumulatedMaskSize);

/// <summary>One input or output stream of a loaded model, in HailoRT's inputs()/outputs() order.</summary>
public sealed record NpuStreamInfo(
    string Name,
    int Height,
    int Width,
    int Features,
    NpuFormatType FormatType,
    NpuFormatOrder FormatOrder,
    long FrameSize,
    IReadOnlyList<QuantInfo> Quant,
    NmsShape? Nms)
{
    public bool IsNms => Nms is not null;
    /// <summary>True when there is one quant entry per channel (the last dimension).</summary>
    public bool IsPerChannel => Quant.Count > 1;
    /// <summary>Bytes per element of the host format.</summary>
    public int ElementSize => FormatType switch { NpuFormatType.UInt16 => 2, NpuFormatType.Float32 => 4, _ => 1 };
    /// <summary>Elements in one frame (FrameSize / ElementSize).</summary>
    public long ElementCount => FrameSize / ElementSize;
    public override string ToString() =>
        $"{Name} {Height}×{Width}×{Features} {FormatType} {FormatOrder} {FrameSize} B" +
        (Quant.Count == 1 ? $" q(scale={Quant[0].Scale}, zp={Quant[0].ZeroPoint})" : $" q×{Quant.Count}");
}

/// <summary>How a vision model is loaded; unset values leave the HEF's or HailoRT's defaults.</summary>
public sealed record VisionModelOptions
{
    public int BatchSize { get; init; } = 1;
    /// <summary>Host input type; Auto = the HEF's native type (UINT8 for images).</summary>
    public NpuFormatType InputFormat { get; init; } = NpuFormatType.Auto;
    /// <summary>Auto = native quantised outputs (de-quantise in C#, less PCIe traffic); Float32 = HailoRT de-quantises.</summary>
    public NpuFormatType OutputFormat { get; init; } = NpuFormatType.Auto;
    /// <summary>0..31, HailoRT's normal is 16; higher runs first when models compete for the device.</summary>
    public int SchedulerPriority { get; init; } = 16;
    /// <summary>Frames to queue before the scheduler may switch to this model (0 = HailoRT default).</summary>
    public int SchedulerThreshold { get; init; }
    /// <summary>Run anyway after this long even below the threshold (null = HailoRT default).</summary>
    public TimeSpan? SchedulerTimeout { get; init; }
    public float? NmsScoreThreshold { get; init; }
    public float? NmsIouThreshold { get; init; }
    public int NmsMaxProposalsPerClass { get; init; }
    public int NmsMaxProposalsTotal { get; init; }
}
