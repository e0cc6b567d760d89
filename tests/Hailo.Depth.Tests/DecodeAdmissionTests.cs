using System.Net;
using System.Text.Json;
using Hailo.Core;
using Hailo.Media;
using Hailo.TestSupport;
using HailoDepth;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Hailo.Depth.Tests;

/// <summary>An <see cref="IImageDecoder"/> that counts decodes in progress and holds them until the test opens its gate.</summary>
internal sealed class GatedDecoder : IImageDecoder
{
    private int _current;
    private int _max;
    private int _started;
    public ManualResetEventSlim Gate { get; } = new(false);
    public int Max => Volatile.Read(ref _max);
    public int Started => Volatile.Read(ref _started);

    public RgbaImage Decode(ReadOnlySpan<byte> data, long maxPixels, Func<int, int, (int Width, int Height)>? atLeast = null)
    {
        Interlocked.Increment(ref _started);
        var now = Interlocked.Increment(ref _current);
        int seen;
        while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen) { }
        try
        {
            Gate.Wait(TimeSpan.FromSeconds(30));
            return ImageDecoder.Decode(data, maxPixels, atLeast);
        }
        finally
        {
            Interlocked.Decrement(ref _current);
        }
    }
}

internal sealed class Opener(ManualResetEventSlim gate) : IDisposable
{
    public void Dispose() => gate.Set();
}

/// <summary>
/// Decoding happens inside the model's bounded queue: with one model slot and two queue places, many concurrent
/// large uploads are decoded one at a time, and those beyond the queue are answered 503 + Retry-After without being
/// decoded at all.
/// </summary>
public sealed class DecodeAdmissionTests
{
    [Fact]
    public async Task Concurrent_uploads_decode_one_at_a_time_and_the_excess_is_refused_before_decoding()
    {
        var models = Directory.CreateTempSubdirectory("hailo-depth-admission-").FullName;
        try
        {
            DepthServiceFixture.WriteModel(models);
            var config = new DepthConfig { Device = Backend.Cpu };
            config.Models.Dir = models;
            config.Models.SearchPaths = [];
            config.Cpu.Threads = 1;
            config.Server.MaxQueuedRequests = 2;
            var decoder = new GatedDecoder();
            await using var s = await RunningService.StartAsync(DepthService.Definition, config,
                b => b.Services.AddSingleton<IImageDecoder>(decoder));
            await s.StartupCompleted;

            byte[] png;
            using (var big = RgbaImage.Filled(3000, 2000, 120, 130, 140)) png = big.Encode(ImageFormat.Png, 90); // 6 MP
            const int total = 10, admitted = 1 + 2;
            using var open = new Opener(decoder.Gate); // a failing assertion must not leave decodes blocked
            var requests = Enumerable.Range(0, total)
                .Select(_ => s.Client.PostAsync("/v1/depth/estimate?output_format=numpy", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } }))
                .ToArray();

            // While the first decode is held, everything beyond the slot and the queue is answered.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (requests.Count(r => r.IsCompleted) < total - admitted && DateTime.UtcNow < deadline) await Task.Delay(20);
            var done = requests.Where(r => r.IsCompleted).ToArray();
            Assert.Equal(total - admitted, done.Length);
            foreach (var r in await Task.WhenAll(done))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
                Assert.NotNull(r.Headers.RetryAfter);
                using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
                Assert.Equal("queue_full", doc.RootElement.GetProperty("error").GetProperty("code").GetString());
            }
            Assert.Equal(1, decoder.Started); // the two queued requests wait with their bytes, undecoded

            decoder.Gate.Set();
            var answered = await Task.WhenAll(requests.Except(done));
            Assert.Equal(admitted, answered.Length);
            foreach (var r in answered) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(admitted, decoder.Started); // refused requests were never decoded
            Assert.Equal(1, decoder.Max);            // never more decodes at once than the model's concurrency
        }
        finally
        {
            Directory.Delete(models, true);
        }
    }
}
