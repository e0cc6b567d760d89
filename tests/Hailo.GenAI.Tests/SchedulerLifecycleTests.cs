using System.Runtime.CompilerServices;
using Hailo.GenAI;
using Hailo.GenAI.Chat;
using Hailo.Hosting;
using Hailo.Hosting.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Hailo.GenAI.Tests;

/// <summary>
/// The scheduler's unload and stop paths, on a model runner of the test's own that records when it is disposed and
/// fails a generation that runs on a disposed model (what a freed llama.cpp context or HailoRT model would do, less
/// politely).
/// </summary>
public sealed class SchedulerLifecycleTests
{
    private const string Name = "m:1";
    private sealed record TestModel(string Name, Hailo.Core.Backend Backend, string Path) : IModelFile;

    private static readonly TestModel Model = new(Name, Hailo.Core.Backend.Cpu, "/nonexistent/m.gguf");

    /// <summary>A runner whose generation yields <c>n</c> pieces, each after <see cref="TokenDelay"/> (or when released).</summary>
    private sealed class FakeRunner : IModelRunner
    {
        private int _disposed;
        public int Generating;
        public bool Disposed => Volatile.Read(ref _disposed) == 1;
        public bool DisposedWhileGenerating { get; private set; }
        public TimeSpan TokenDelay { get; init; } = TimeSpan.FromMilliseconds(5);
        public SemaphoreSlim? Step { get; init; }

        public Hailo.Core.Backend Backend => Hailo.Core.Backend.Cpu;
        public int ContextSize => 512;
        public int TrainedContext => 512;
        public bool CanEmbed => false;
        public long MemoryBytes => 1;
        public int CountTokens(string text, bool addSpecial) => text.Length;
        public string Detokenize(ReadOnlySpan<int> tokens) => "";
        public int[] Tokenize(string text, bool addSpecial) => new int[text.Length];
        public (float[][] Vectors, int Tokens) Embed(IReadOnlyList<string> inputs, bool truncate, int numCtx, CancellationToken ct) => throw new NotSupportedException();

        public async IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationInput input, [EnumeratorCancellation] CancellationToken ct)
        {
            Interlocked.Increment(ref Generating);
            try
            {
                for (var i = 0; i < input.Options.NumPredict; i++)
                {
                    if (Step is not null) await Step.WaitAsync(ct);
                    else await Task.Delay(TokenDelay, ct);
                    ObjectDisposedException.ThrowIf(Disposed, this);
                    yield return new GenerationEvent("x", null);
                }
            }
            finally
            {
                Interlocked.Decrement(ref Generating);
            }
        }

        public string? RenderChat(IReadOnlyList<ChatTurn> turns) => null;
        public void Dispose()
        {
            if (Volatile.Read(ref Generating) > 0) DisposedWhileGenerating = true;
            Volatile.Write(ref _disposed, 1);
        }
    }

    private sealed class Loads
    {
        public readonly List<FakeRunner> Runners = [];
        public Func<FakeRunner> Make { get; init; } = () => new FakeRunner();
        public IModelRunner Load(IModelFile m, int numCtx)
        {
            var r = Make();
            lock (Runners) Runners.Add(r);
            return r;
        }
    }

    private static Scheduler NewScheduler(Loads loads, ServiceState state, TimeSpan? drain = null) =>
        new(loads.Load, new Hailo.GenAI.Api.ServiceGenAiHost(state, new ServiceMetrics("t")), NullLogger.Instance, maxLoaded: 2, maxQueued: 4, TimeSpan.FromMinutes(5), Name)
        { DrainTimeout = drain ?? TimeSpan.FromSeconds(10) };

    private static async Task<int> Generate(Lease lease, int n)
    {
        var count = 0;
        var input = new GenerationInput("p", new SamplingOptions { NumPredict = n }, 512, null, false);
        await foreach (var e in lease.Model.GenerateAsync(input, CancellationToken.None)) count++;
        return count;
    }

    [Fact]
    public async Task An_unload_in_the_moment_after_a_load_neither_strands_the_request_nor_frees_the_model_under_it()
    {
        // The moment between a load (the model is in the scheduler, idle) and the request taking its turn on it: an
        // unload then (DELETE, keep_alive 0, another model making room) must wait for that request. The state change
        // the load announces runs on the loading request's thread, inside that moment, so the unload is made there.
        var loads = new Loads();
        var state = new ServiceState("t", "1");
        Scheduler? s = null;
        var unloadedInGap = 0;
        state.Changed += () =>
        {
            if (s is null || !state.Models.Any(m => m.Name == Name && m.State == ModelState.Ready)) return;
            if (Interlocked.Exchange(ref unloadedInGap, 1) == 1) return;
            Assert.True(s.UnloadByName(Name));
            Thread.Sleep(300); // room for an unload to take the model's gate
        };
        using var scheduler = s = NewScheduler(loads, state);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using (var lease = await scheduler.AcquireAsync(Model, 512, null, cts.Token))
        {
            Assert.Equal(1, unloadedInGap);
            Assert.False(loads.Runners[0].Disposed);
            Assert.Equal(5, await Generate(lease, 5));
        }
        // The unload asked for takes effect once the request is over...
        await WaitUntil(() => loads.Runners[0].Disposed);
        Assert.False(loads.Runners[0].DisposedWhileGenerating);
        Assert.Empty(scheduler.Loaded);
        // ...and the model loads again and generates.
        using var again = await scheduler.AcquireAsync(Model, 512, null, cts.Token);
        Assert.Equal(2, loads.Runners.Count);
        Assert.Equal(3, await Generate(again, 3));
    }

    [Fact]
    public async Task Requests_queued_on_a_model_that_is_unloaded_load_it_again_and_are_served()
    {
        // A model replaced while busy (re-created under its name): the request on it finishes, the unload waits for
        // it, and a request queued on the old runner loads the model again instead of waiting for ever.
        var step = new SemaphoreSlim(0);
        var loads = new Loads { Make = () => new FakeRunner { Step = step } };
        using var s = NewScheduler(loads, new ServiceState("t", "1"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var first = await s.AcquireAsync(Model, 512, null, cts.Token);
        var running = Generate(first, 2);
        var queued = s.AcquireAsync(Model, 512, null, cts.Token);
        await WaitUntil(() => s.QueueLength == 1);
        // The model file changes: a request for the new file replaces the loaded runner (it is busy, so the old one
        // is disposed only when its request ends).
        var replaced = s.AcquireAsync(Model with { Path = "/nonexistent/m2.gguf" }, 512, null, cts.Token);
        await WaitUntil(() => loads.Runners.Count == 2);
        Assert.False(loads.Runners[0].Disposed);
        step.Release(2);
        Assert.Equal(2, await running);
        first.Dispose();
        await WaitUntil(() => loads.Runners[0].Disposed);
        Assert.False(loads.Runners[0].DisposedWhileGenerating);
        // Both later requests are served, on the new runner.
        using (var r = await replaced) { step.Release(1); Assert.Equal(1, await Generate(r, 1)); }
        using (var q = await queued) { step.Release(1); Assert.Equal(1, await Generate(q, 1)); }
    }

    [Fact]
    public async Task Stopping_waits_for_the_running_generation_before_it_disposes_the_model()
    {
        var step = new SemaphoreSlim(0);
        var loads = new Loads { Make = () => new FakeRunner { Step = step } };
        var s = NewScheduler(loads, new ServiceState("t", "1"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var lease = await s.AcquireAsync(Model, 512, null, cts.Token);
        var generation = Task.Run(async () =>
        {
            using (lease) return await Generate(lease, 3);
        });
        step.Release(1);
        await WaitUntil(() => loads.Runners[0].Generating == 1);
        var stop = Task.Run(s.Dispose);
        await Task.Delay(300);
        Assert.False(stop.IsCompleted, "Dispose returned while a generation was running");
        Assert.False(loads.Runners[0].Disposed, "the model was disposed under its generation");
        // A request after the stop began is refused, not queued.
        var refused = await Assert.ThrowsAsync<GenAiException>(() => s.AcquireAsync(Model, 512, null, cts.Token));
        Assert.Equal(503, refused.Status);
        step.Release(2);
        Assert.Equal(3, await generation);
        await stop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(loads.Runners[0].Disposed);
        Assert.False(loads.Runners[0].DisposedWhileGenerating);
    }

    [Fact]
    public async Task A_generation_that_outlasts_the_drain_time_keeps_its_model()
    {
        var step = new SemaphoreSlim(0);
        var loads = new Loads { Make = () => new FakeRunner { Step = step } };
        var s = NewScheduler(loads, new ServiceState("t", "1"), drain: TimeSpan.FromMilliseconds(300));
        var lease = await s.AcquireAsync(Model, 512, null, CancellationToken.None);
        var generation = Generate(lease, 1);
        await WaitUntil(() => loads.Runners[0].Generating == 1);
        await Task.Run(s.Dispose).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(loads.Runners[0].Disposed, "the model was disposed under its generation");
        step.Release(1);
        Assert.Equal(1, await generation);
        lease.Dispose();
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met within 10 s");
            await Task.Delay(10);
        }
    }
}
