using System.Buffers;
using System.Runtime.InteropServices;

namespace Hailo.Runtime.Npu;

/// <summary>
/// Page-aligned native memory for inference buffers (cheapest for HailoRT's DMA), usable as Memory/Span and
/// passed to <see cref="VisionModel.Infer(ReadOnlySpan{ReadOnlyMemory{byte}}, ReadOnlySpan{Memory{byte}}, TimeSpan?)"/>
/// without pinning.
/// </summary>
/// <remarks>
/// Dispose it explicitly (there is deliberately no finalizer: a Span over the memory could still be in use).
/// </remarks>
public sealed unsafe class NpuBuffer : MemoryManager<byte>
{
    private const int PageSize = 4096;
    private byte* _pointer;
    private readonly int _length;

    public NpuBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        _length = length;
        _pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, PageSize);
        NativeMemory.Clear(_pointer, (nuint)length);
    }

    /// <summary>A buffer of one frame of the stream.</summary>
    public static NpuBuffer For(NpuStreamInfo stream) => new(checked((int)stream.FrameSize));

    public int Length => _length;

    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        return new Span<byte>(_pointer, _length);
    }

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ObjectDisposedException.ThrowIf(_pointer == null, this);
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle(_pointer + elementIndex);
    }

    public override void Unpin() { }

    /// <summary>Frees the native memory (idempotent).</summary>
    public void Dispose() => ((IDisposable)this).Dispose();

    protected override void Dispose(bool disposing)
    {
        var p = _pointer;
        _pointer = null;
        if (p != null) NativeMemory.AlignedFree(p);
    }
}
