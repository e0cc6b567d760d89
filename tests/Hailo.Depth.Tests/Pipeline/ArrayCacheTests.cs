using HailoDepth.Pipeline;
using Xunit;

namespace Hailo.Depth.Tests.Pipeline;

public sealed class ArrayCacheTests
{
    [Fact]
    public void An_array_given_back_is_rented_again_for_its_exact_length_only()
    {
        var cache = new ArrayCache<float>(1 << 20);
        var a = cache.Rent(1000);
        Assert.Equal(1000, a.Length);
        cache.Return(a);
        Assert.Equal(4000, cache.Bytes);
        Assert.NotSame(a, cache.Rent(999));
        Assert.Same(a, cache.Rent(1000));
        Assert.Equal(0, cache.Bytes);
        Assert.NotSame(a, cache.Rent(1000));
    }

    [Fact]
    public void Clear_lets_go_of_everything_held()
    {
        var buffers = new DepthBuffers();
        var map = buffers.Maps.Rent(64);
        var file = buffers.Files.Rent(32);
        buffers.Maps.Return(map);
        buffers.Files.Return(file);
        Assert.Equal(256, buffers.Maps.Bytes);
        Assert.Equal(32, buffers.Files.Bytes);
        buffers.Clear();
        Assert.Equal(0, buffers.Maps.Bytes);
        Assert.Equal(0, buffers.Files.Bytes);
        Assert.NotSame(map, buffers.Maps.Rent(64));
    }

    [Fact]
    public void It_holds_at_most_its_budget_dropping_the_oldest_and_ignores_repeats()
    {
        var cache = new ArrayCache<byte>(250);
        byte[] a = new byte[100], b = new byte[100], c = new byte[100], huge = new byte[251];
        cache.Return(a);
        cache.Return(a);
        Assert.Equal(100, cache.Bytes);
        cache.Return(b);
        cache.Return(c); // 300 > 250: a goes
        cache.Return(huge); // larger than the whole budget: not kept
        cache.Return(null);
        Assert.Equal(200, cache.Bytes);
        var first = cache.Rent(100);
        var second = cache.Rent(100);
        Assert.Equal([c, b], [first, second]); // newest first
        Assert.NotSame(a, cache.Rent(100));
    }
}
