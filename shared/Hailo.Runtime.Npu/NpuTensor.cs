using System.Runtime.InteropServices;

namespace Hailo.Runtime.Npu;

/// <summary>One output frame as HailoRT delivered it: raw bytes in the stream's host format plus shape and quant info.</summary>
public sealed class NpuTensor(NpuStreamInfo info, byte[] data)
{
    public NpuStreamInfo Info { get; } = info;
    /// <summary>The frame bytes (little-endian elements of <see cref="FormatType"/>).</summary>
    public byte[] Data { get; } = data;
    public string Name => Info.Name;
    public NpuFormatType FormatType => Info.FormatType;
    public int Height => Info.Height;
    public int Width => Info.Width;
    public int Features => Info.Features;
    public IReadOnlyList<QuantInfo> Quant => Info.Quant;
    /// <summary>Elements in the frame.</summary>
    public int ElementCount => Data.Length / Info.ElementSize;

    public ReadOnlySpan<ushort> AsUInt16() => FormatType == NpuFormatType.UInt16
        ? MemoryMarshal.Cast<byte, ushort>(Data)
        : throw new InvalidOperationException($"{Name} is {FormatType}, not UInt16");

    public ReadOnlySpan<float> AsFloat32() => FormatType == NpuFormatType.Float32
        ? MemoryMarshal.Cast<byte, float>(Data)
        : throw new InvalidOperationException($"{Name} is {FormatType}, not Float32");

    /// <summary>De-quantised values (a copy for Float32 streams). NMS outputs are already float and copied as they are.</summary>
    public float[] ToFloat()
    {
        var result = GC.AllocateUninitializedArray<float>(ElementCount);
        ToFloat(result);
        return result;
    }

    /// <summary>De-quantises into <paramref name="destination"/> (at least <see cref="ElementCount"/> floats).</summary>
    public void ToFloat(Span<float> destination)
    {
        var quant = Info.Quant is QuantInfo[] arr ? arr : [.. Info.Quant];
        switch (FormatType)
        {
            case NpuFormatType.UInt8:
                Dequantize.ToFloat(Data, quant, destination);
                break;
            case NpuFormatType.UInt16:
                Dequantize.ToFloat(MemoryMarshal.Cast<byte, ushort>(Data), quant, destination);
                break;
            case NpuFormatType.Float32:
                MemoryMarshal.Cast<byte, float>(Data).CopyTo(destination);
                break;
            default:
                throw new NotSupportedException($"{Name}: format {FormatType} cannot be de-quantised");
        }
    }
}
