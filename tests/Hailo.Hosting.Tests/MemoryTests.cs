using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>Giving memory back: the C heap's settings, the pass once the service falls idle, and the warm-up at load.</summary>
public sealed class MemoryTests
{
    [Fact]
    public void The_heap_is_tuned_except_where_the_operator_chose_a_setting()
    {
        Assert.True(NativeHeap.IsGlibc, "Debian runs on glibc");
        Assert.Equal($"arena_max={NativeHeap.ArenaMax} mmap_threshold={NativeHeap.MmapThreshold} trim_threshold={NativeHeap.TrimThreshold}",
            NativeHeap.Configure(_ => null));
        var chosen = NativeHeap.Configure(v => v switch
        {
            "MALLOC_ARENA_MAX" => "4",
            "GLIBC_TUNABLES" => "glibc.malloc.mmap_threshold=65536",
            _ => null,
        });
        Assert.Equal($"trim_threshold={NativeHeap.TrimThreshold}", chosen);
    }

    [Fact]
    public async Task One_pass_follows_a_burst_and_none_runs_while_work_is_in_flight()
    {
        var state = new ServiceState("hailo-test", "1.0.0");
        using var trimmer = new IdleTrimmer(state, TimeSpan.FromMilliseconds(100), followUps: []);
        var raised = 0;
        trimmer.Trimming += () => Interlocked.Increment(ref raised);

        var a = state.BeginWork();
        var b = state.BeginWork();
        a.Dispose();
        await Task.Delay(400);
        Assert.Equal(0, trimmer.Trims); // b is still running
        b.Dispose();
        await WaitFor(() => trimmer.Trims == 1);
        Assert.Equal(1, Volatile.Read(ref raised));

        // Work that starts again before the delay is over cancels the pass; its own end arms the next one.
        state.BeginWork().Dispose();
        var c = state.BeginWork();
        await Task.Delay(400);
        Assert.Equal(1, trimmer.Trims);
        c.Dispose();
        await WaitFor(() => trimmer.Trims == 2);
        await Task.Delay(300);
        Assert.Equal(2, trimmer.Trims);
        Assert.Equal(2, Volatile.Read(ref raised));
    }

    [Fact]
    public async Task A_busy_service_collects_once_its_heap_outgrows_the_bound_and_not_more_often_than_the_interval()
    {
        var state = new ServiceState("hailo-test", "1.0.0");
        const long bound = 48L << 20;
        using var trimmer = new IdleTrimmer(state, TimeSpan.FromHours(1), followUps: [], garbageBound: bound, busyInterval: TimeSpan.FromSeconds(1));
        await Task.Delay(1050); // the interval counts from the trimmer's start
        // (That a heap within its bound runs no pass is not asserted: the tests beside this one share the heap.)

        // Dead large arrays beyond the bound, as a stream of large requests leaves them between full collections.
        var before = GC.GetTotalMemory(forceFullCollection: true); // live data only: garbage of tests beside this one would go in the pass
        Garbage(bound + (16L << 20));
        Assert.True(GC.GetTotalMemory(false) > before + bound, "the garbage is still counted (no full collection ran)");
        var fullCollections = GC.CollectionCount(2);
        trimmer.RequestEnded();
        await WaitFor(() => trimmer.BusyTrims == 1);
        Assert.True(GC.CollectionCount(2) > fullCollections);
        Assert.True(GC.GetTotalMemory(false) < before + bound, "the pass collected the dead arrays");

        // More garbage at once: the interval holds the next pass back, the next request after it runs it.
        Garbage(bound + (16L << 20));
        trimmer.RequestEnded();
        await Task.Delay(100);
        Assert.Equal(1, trimmer.BusyTrims);
        await Task.Delay(1000);
        Garbage(bound + (16L << 20)); // again: tests beside this one may have collected the first lot meanwhile
        trimmer.RequestEnded();
        await WaitFor(() => trimmer.BusyTrims == 2);
        Assert.Equal(0, trimmer.Trims); // never idle: the idle pass did not run
    }

    [Fact]
    public async Task Large_objects_that_were_live_during_a_busy_pass_are_collected_by_a_later_one()
    {
        var state = new ServiceState("hailo-test", "1.0.0");
        const long bound = 48L << 20;
        using var trimmer = new IdleTrimmer(state, TimeSpan.FromHours(1), followUps: [], garbageBound: bound, busyInterval: TimeSpan.FromMilliseconds(500));
        var before = GC.GetTotalMemory(forceFullCollection: true); // live data only: garbage of tests beside this one would go in the pass

        // Requests in flight hold 160 MB when a pass runs: nothing of it can be collected yet.
        var held = new List<byte[]>();
        for (var i = 0; i < 20; i++) held.Add(Touched(8 << 20));
        await Task.Delay(550);
        trimmer.RequestEnded();
        await WaitFor(() => trimmer.BusyTrims == 1);
        GC.KeepAlive(held);

        // They end: what they held is garbage. The threshold the pass left lies below the heap that garbage makes, so
        // the next request's end collects it (taking the pass's result as the floor would have put it above).
        // Asserted on the threshold: tests beside this one collect too, so whether a later pass still finds it is not.
        Assert.True(trimmer.Limit < before + (150L << 20), $"threshold {trimmer.Limit >> 20} MiB, live before {before >> 20} MiB");
    }

    private static byte[] Touched(int size)
    {
        var a = new byte[size];
        a.AsSpan().Fill(1);
        return a;
    }

    /// <summary>Large arrays, touched, then dropped.</summary>
    private static void Garbage(long bytes)
    {
        var arrays = new List<byte[]>();
        for (long n = 0; n < bytes; n += 8 << 20) arrays.Add(Touched(8 << 20));
        GC.KeepAlive(arrays);
    }

    [Fact]
    public async Task The_end_of_start_up_is_followed_by_a_pass()
    {
        var state = new ServiceState("hailo-test", "1.0.0");
        using var trimmer = new IdleTrimmer(state, TimeSpan.FromMilliseconds(50), followUps: []);
        await Task.Delay(200);
        Assert.Equal(0, trimmer.Trims);
        state.CompleteStartup();
        await WaitFor(() => trimmer.Trims == 1);
    }

    [Fact]
    public async Task Follow_up_passes_run_while_idle_and_work_starts_the_count_again()
    {
        var state = new ServiceState("hailo-test", "1.0.0");
        using var trimmer = new IdleTrimmer(state, TimeSpan.FromMilliseconds(50), [TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300)]);
        state.BeginWork().Dispose();
        await WaitFor(() => trimmer.Trims == 3);
        await Task.Delay(700);
        Assert.Equal(3, trimmer.Trims); // two follow-ups, then nothing until work comes back

        // Work between the first pass and its follow-up: the follow-up is dropped, the next drain starts over.
        state.BeginWork().Dispose();
        await WaitFor(() => trimmer.Trims == 4);
        var work = state.BeginWork();
        await Task.Delay(500);
        Assert.Equal(4, trimmer.Trims);
        work.Dispose();
        await WaitFor(() => trimmer.Trims == 7);
    }

    [Fact]
    public async Task A_model_is_warmed_up_once_as_part_of_its_load()
    {
        var state = new ServiceState("hailo-test", "1.0.0");
        var loads = 0;
        using var slot = new ModelSlot<WarmModel>("warm", _ => { loads++; return new WarmModel(); }, state, 1, 4);
        await slot.PreloadAsync(CancellationToken.None);
        Assert.Equal(1, slot.Loaded!.WarmUps);
        Assert.Equal(1, await slot.RunAsync(m => m.WarmUps, CancellationToken.None));
        Assert.Equal(1, loads);
        Assert.Equal(ModelState.Ready, state.Models.Single().State);
    }

    [Fact]
    public async Task A_warm_up_that_fails_fails_the_load_and_disposes_the_model()
    {
        var state = new ServiceState("hailo-test", "1.0.0");
        WarmModel? made = null;
        using var slot = new ModelSlot<WarmModel>("warm", _ => made = new WarmModel { Fail = true }, state, 1, 4);
        await slot.PreloadAsync(CancellationToken.None);
        Assert.False(slot.IsLoaded);
        Assert.True(made!.Disposed);
        var model = state.Models.Single();
        Assert.Equal(ModelState.Failed, model.State);
        Assert.Contains("warm-up failed", model.Detail);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not come true within 10 s");
            await Task.Delay(20);
        }
    }

    private sealed class WarmModel : IDisposable, IWarmUp
    {
        public bool Fail { get; init; }
        public int WarmUps { get; private set; }
        public bool Disposed { get; private set; }

        public void WarmUp()
        {
            if (Fail) throw new InvalidOperationException("warm-up failed");
            WarmUps++;
        }

        public void Dispose() => Disposed = true;
    }
}
