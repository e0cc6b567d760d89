namespace Hailo.Face;

/// <summary>Face embeddings: L2 normalisation and cosine similarity.</summary>
public static class Embeddings
{
    /// <summary>Scales the vector to unit length in place; false (and left as is) when it is zero or not finite.</summary>
    public static bool Normalize(Span<float> v)
    {
        double sum = 0;
        foreach (var x in v) sum += (double)x * x;
        if (!(sum > 0) || !double.IsFinite(sum)) return false;
        var k = (float)(1 / Math.Sqrt(sum));
        for (var i = 0; i < v.Length; i++) v[i] *= k;
        return true;
    }

    /// <summary>cos ∠(a, b) in [−1, 1]; 0 when either is zero.</summary>
    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"embeddings of different sizes: {a.Length} and {b.Length}");
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        if (na == 0 || nb == 0) return 0;
        return (float)Math.Clamp(dot / Math.Sqrt(na * nb), -1, 1);
    }

    /// <summary>The embedding as little-endian float32 bytes (the gallery's and the export's form).</summary>
    public static byte[] ToBytes(ReadOnlySpan<float> v)
    {
        var bytes = new byte[v.Length * 4];
        for (var i = 0; i < v.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), v[i]);
        return bytes;
    }

    /// <summary>Little-endian float32 bytes back into a vector; null when the length is not a multiple of 4.</summary>
    public static float[]? FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length % 4 != 0) return null;
        var v = new float[bytes.Length / 4];
        for (var i = 0; i < v.Length; i++) v[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(4 * i));
        return v;
    }
}
