using System.Buffers;
using System.Runtime.InteropServices;

namespace Hailo.Hosting.Http;

/// <summary>
/// A request body read whole, for as long as one request needs it. Up to <see cref="PooledLimit"/> it lives in an
/// array of the shared pool; beyond, in native memory of its own, which the C heap maps for it and gives back to the
/// kernel when the body is disposed (<see cref="NativeHeap.MmapThreshold"/>). Bodies of many megabytes in managed
/// arrays went to the large object heap: fresh, they stayed there until a full collection, which under a stream of
/// such bodies came seldom enough for a service's heap to hold hundreds of megabytes of dead bodies; pooled, every
/// thread that returned one kept it in its own cache of the pool.
/// </summary>
internal sealed unsafe class BodyBuffer : IDisposable
{
    /// <summary>The largest body kept in a pooled array.</summary>
    public const int PooledLimit = 1024 * 1024;

    private byte[]? _array;
    private byte* _native;
    private int _capacity;

    public BodyBuffer(long? expected)
    {
        var capacity = expected is { } n and > 0 and <= int.MaxValue ? (int)n : 4096;
        Grow(capacity);
    }

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _array is not null ? _array.AsSpan(0, Length) : new ReadOnlySpan<byte>(_native, Length);

    public void Append(ReadOnlySpan<byte> data)
    {
        if ((long)Length + data.Length > _capacity)
            Grow((int)Math.Min(Array.MaxLength, Math.Max((long)Length + data.Length, 2L * _capacity)));
        data.CopyTo(_array is not null ? _array.AsSpan(Length) : new Span<byte>(_native + Length, _capacity - Length));
        Length += data.Length;
    }

    private void Grow(int capacity)
    {
        if (capacity <= PooledLimit)
        {
            var larger = ArrayPool<byte>.Shared.Rent(capacity);
            if (_array is not null)
            {
                _array.AsSpan(0, Length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_array);
            }
            _array = larger;
            _capacity = larger.Length;
            return;
        }
        if (_native is not null)
        {
            _native = (byte*)NativeMemory.Realloc(_native, (nuint)capacity);
        }
        else
        {
            _native = (byte*)NativeMemory.Alloc((nuint)capacity);
            if (_array is not null)
            {
                _array.AsSpan(0, Length).CopyTo(new Span<byte>(_native, Length));
                ArrayPool<byte>.Shared.Return(_array);
                _array = null;
            }
        }
        _capacity = capacity;
    }

    public void Dispose()
    {
        if (_array is not null) ArrayPool<byte>.Shared.Return(_array);
        if (_native is not null) NativeMemory.Free(_native);
        _array = null;
        _native = null;
        Length = _capacity = 0;
    }
}
