using System.Runtime.CompilerServices;

namespace HailoDepth.Pipeline;

/// <summary>
/// Arrays of an exact length kept for the next request. A depth answer is a few large arrays (the map at the image's
/// size, the .npz/.npy file); allocated afresh per request they arrive as untouched pages and make the GC run inside
/// the request, which cost 5–10 ms per request here. A camera sends one size, so the same lengths come back.
/// Holds at most <paramref name="maxBytes"/>, dropping the oldest; rented arrays are not cleared.
/// </summary>
internal sealed class ArrayCache<T>(long maxBytes)
{
    private readonly List<T[]> _free = [];
    private long _bytes;

    /// <summary>Bytes held for reuse now.</summary>
    public long Bytes
    {
        get { lock (_free) return _bytes; }
    }

    /// <summary>An array of exactly <paramref name="length"/> elements, with whatever its last user left in it.</summary>
    public T[] Rent(int length)
    {
        lock (_free)
        {
            for (var i = _free.Count - 1; i >= 0; i--)
            {
                if (_free[i].Length != length) continue;
                var array = _free[i];
                _free.RemoveAt(i);
                _bytes -= Size(array);
                return array;
            }
        }
        return new T[length];
    }

    /// <summary>Gives an array back; it must not be used after this.</summary>
    public void Return(T[]? array)
    {
        if (array is null) return;
        var size = Size(array);
        if (size > maxBytes) return;
        lock (_free)
        {
            foreach (var held in _free)
                if (ReferenceEquals(held, array)) return;
            while (_bytes + size > maxBytes && _free.Count > 0)
            {
                _bytes -= Size(_free[0]);
                _free.RemoveAt(0);
            }
            _free.Add(array);
            _bytes += size;
        }
    }

    /// <summary>Lets go of every array held.</summary>
    public void Clear()
    {
        lock (_free)
        {
            _free.Clear();
            _bytes = 0;
        }
    }

    private static long Size(T[] array) => (long)array.Length * Unsafe.SizeOf<T>();
}

/// <summary>The arrays one depth pipeline reuses: maps at image size, and encoded array files.</summary>
internal sealed class DepthBuffers
{
    /// <summary>
    /// Six 1280×720 maps or two of 1920×1080 (and as many files): a camera's frames with a request or two in flight.
    /// Larger maps are allocated per request. Bounded low because a service holds it until it falls idle: mixed sizes
    /// would otherwise fill it and keep it while busy (it was 64 + 64 MiB).
    /// </summary>
    public ArrayCache<float> Maps { get; } = new(24L << 20);
    public ArrayCache<byte> Files { get; } = new(24L << 20);

    /// <summary>Lets go of everything held (the service has fallen idle; the next request allocates afresh).</summary>
    public void Clear()
    {
        Maps.Clear();
        Files.Clear();
    }
}
