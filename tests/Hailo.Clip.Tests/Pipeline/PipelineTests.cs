using HailoClip.Pipeline;
using Xunit;

namespace Hailo.Clip.Tests.Pipeline;

/// <summary>The LRU text cache, the .npy reader and the embedding arithmetic.</summary>
public sealed class PipelineTests
{
    [Fact]
    public void The_cache_drops_the_least_recently_used_and_keys_by_model()
    {
        var cache = new TextEmbeddingCache(2);
        cache.Put("m", "a", [1]);
        cache.Put("m", "b", [2]);
        Assert.True(cache.TryGet("m", "a", out _));     // a is now the most recent
        cache.Put("m", "c", [3]);                        // drops b
        Assert.False(cache.TryGet("m", "b", out _));
        Assert.True(cache.TryGet("m", "a", out var a));
        Assert.Equal([1f], a);
        Assert.False(cache.TryGet("other", "a", out _));
        Assert.Equal(2, cache.Count);
        Assert.Equal((2L, 2L), (cache.Hits, cache.Misses));
        var off = new TextEmbeddingCache(0);
        off.Put("m", "a", [1]);
        Assert.False(off.TryGet("m", "a", out _));
    }

    [Fact]
    public void The_cache_keeps_no_text_alive_and_finds_an_equal_text_in_another_string()
    {
        var cache = new TextEmbeddingCache(8);
        var weak = PutLongText(cache);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        // A client sending unique prompts of 10,000 characters fills the cache with embeddings, not with its texts.
        Assert.False(weak.IsAlive);
        Assert.True(cache.TryGet("m", new string('x', 10_000), out var e));
        Assert.Equal([7f], e);
        Assert.False(cache.TryGet("m", new string('x', 9_999), out _));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference PutLongText(TextEmbeddingCache cache)
    {
        var text = new string('x', 10_000);
        cache.Put("m", text, [7]);
        return new WeakReference(text);
    }

    [Fact]
    public void Npy_files_round_trip_and_bad_ones_are_refused()
    {
        var bytes = NpyArray.Write([1.5f, -2, 3, 4, 5, 6], 2, 3);
        Assert.Equal(0, (bytes.Length - 6 * 4) % 64);   // header padded to 64 bytes as NumPy does
        var a = NpyArray.Parse(bytes, "x.npy");
        Assert.Equal([2, 3], a.Shape);
        Assert.Equal([1.5f, -2, 3, 4, 5, 6], a.Data);
        Assert.Throws<InvalidDataException>(() => NpyArray.Parse("not numpy"u8, "x"));
        Assert.Throws<InvalidDataException>(() => NpyArray.Parse(bytes[..^4], "x"));
        var f8 = System.Text.Encoding.Latin1.GetBytes(System.Text.Encoding.Latin1.GetString(bytes).Replace("<f4", "<f8"));
        Assert.Throws<InvalidDataException>(() => NpyArray.Parse(f8, "x"));
    }

    [Fact]
    public void Normalisation_gives_unit_length_and_leaves_zero_alone()
    {
        float[] v = [3, 4];
        ClipPipeline.Normalize(v);
        Assert.Equal([0.6f, 0.8f], v);
        float[] z = [0, 0];
        ClipPipeline.Normalize(z);
        Assert.Equal([0f, 0f], z);
        Assert.Equal(1.0, HailoClip.ClipService.Softmax([0.3, 0.3], 100).Sum(), 12);
        Assert.Equal(1 / (1 + Math.Exp(-10)), HailoClip.ClipService.Softmax([0.3, 0.2], 100)[0], 12);
    }
}
