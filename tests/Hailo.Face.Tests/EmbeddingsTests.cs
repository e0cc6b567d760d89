using Xunit;

namespace Hailo.Face.Tests;

public sealed class EmbeddingsTests
{
    [Fact]
    public void Normalize_gives_unit_length_and_refuses_zero()
    {
        float[] v = [3, 4];
        Assert.True(Embeddings.Normalize(v));
        Assert.Equal([0.6f, 0.8f], v);
        float[] zero = [0, 0];
        Assert.False(Embeddings.Normalize(zero));
        float[] nan = [float.NaN, 1];
        Assert.False(Embeddings.Normalize(nan));
    }

    [Fact]
    public void Cosine_is_one_for_parallel_minus_one_for_opposite_zero_for_orthogonal()
    {
        Assert.Equal(1f, Embeddings.Cosine([1, 2, 3], [2, 4, 6]), 5);
        Assert.Equal(-1f, Embeddings.Cosine([1, 2, 3], [-1, -2, -3]), 5);
        Assert.Equal(0f, Embeddings.Cosine([1, 0], [0, 5]), 5);
        Assert.Equal(0f, Embeddings.Cosine([0, 0], [1, 1]));
        Assert.Throws<ArgumentException>(() => Embeddings.Cosine([1], [1, 2]));
    }

    [Fact]
    public void Bytes_round_trip_as_little_endian_float32()
    {
        float[] v = [1.5f, -2.25f, float.Epsilon];
        var bytes = Embeddings.ToBytes(v);
        Assert.Equal(12, bytes.Length);
        Assert.Equal([0, 0, 0xC0, 0x3F], bytes[..4]);
        Assert.Equal(v, Embeddings.FromBytes(bytes));
        Assert.Null(Embeddings.FromBytes(new byte[5]));
    }
}
