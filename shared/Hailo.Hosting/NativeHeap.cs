using System.Runtime.InteropServices;

namespace Hailo.Hosting;

/// <summary>
/// The C heap (glibc malloc) tuned for a long-running service whose native libraries (ONNX Runtime, whisper.cpp,
/// llama.cpp, SkiaSharp) allocate large, short-lived buffers from many threads. With glibc's defaults each thread
/// that meets contention gets an arena of its own (up to 8 per core), the threshold above which a block is mapped on
/// its own (and unmapped when freed) climbs to 32 MiB after the first large free, and freed memory in the middle of a
/// heap is never returned: RSS then grows request after request although nothing leaks. Here the arenas are capped,
/// the mmap threshold is fixed (large buffers go back to the kernel when freed) and the heap is trimmed once the
/// service falls idle (<see cref="IdleTrimmer"/>). An operator's own MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ or
/// GLIBC_TUNABLES malloc setting wins over ours. On a C library other than glibc nothing is done.
/// </summary>
public static partial class NativeHeap
{
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_THRESHOLD = -3;
    private const int M_ARENA_MAX = -8;

    /// <summary>Arenas: two serve a service whose inference runs one request at a time on a worker pool.</summary>
    public const int ArenaMax = 2;
    /// <summary>
    /// Blocks from this size up are mapped on their own and unmapped when freed. Every page of a fresh mapping
    /// faults in again on first touch, which a request pays for each image it decodes: with 256 KiB, decoding a
    /// 1280×720 JPEG to 640×360 (a 0.9 MiB bitmap) took 8–10 ms in hailo-scrfd against 4.4 ms with the bitmap
    /// from the heap (shared/Hailo.Media/README.md). 1 MiB keeps the bitmaps of the 224–640 px models' reduced
    /// decodes in the heap, where the next request reuses their pages; larger blocks (a whole 1280×720 frame) are
    /// still mapped and given back when freed. 4 MiB was as fast, but every service at once under load peaked
    /// higher (sum of peaks 1402–1498 MiB against 1360–1407 with 1 MiB and 1228–1233 with 256 KiB).
    /// </summary>
    public const int MmapThreshold = 1024 * 1024;
    /// <summary>Free memory at the top of a heap above this goes back to the kernel right away.</summary>
    public const int TrimThreshold = 1024 * 1024;

    /// <summary>Whether the process runs on glibc (the only C library tuned here).</summary>
    public static bool IsGlibc { get; } = DetectGlibc();

    /// <summary>
    /// Applies the settings the environment leaves to us, before the native libraries start their threads; returns
    /// what was set, for the log ("" when nothing was).
    /// </summary>
    public static string Configure(Func<string, string?>? environment = null)
    {
        if (!IsGlibc) return "";
        environment ??= Environment.GetEnvironmentVariable;
        var tunables = environment("GLIBC_TUNABLES") ?? "";
        bool Chosen(string variable, string tunable) => environment(variable) is { Length: > 0 } || tunables.Contains(tunable, StringComparison.Ordinal);
        var set = new List<string>();
        if (!Chosen("MALLOC_ARENA_MAX", "glibc.malloc.arena_max") && mallopt(M_ARENA_MAX, ArenaMax) == 1) set.Add($"arena_max={ArenaMax}");
        if (!Chosen("MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold") && mallopt(M_MMAP_THRESHOLD, MmapThreshold) == 1) set.Add($"mmap_threshold={MmapThreshold}");
        if (!Chosen("MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold") && mallopt(M_TRIM_THRESHOLD, TrimThreshold) == 1) set.Add($"trim_threshold={TrimThreshold}");
        return string.Join(' ', set);
    }

    /// <summary>Gives free heap memory back to the kernel (every arena); true when some was released.</summary>
    public static bool Trim() => IsGlibc && malloc_trim(0) == 1;

    private static bool DetectGlibc()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return gnu_get_libc_version() != IntPtr.Zero; }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { return false; }
    }

    [LibraryImport("libc.so.6")]
    private static partial IntPtr gnu_get_libc_version();

    [LibraryImport("libc.so.6")]
    private static partial int mallopt(int param, int value);

    [LibraryImport("libc.so.6")]
    private static partial int malloc_trim(nuint pad);
}

/// <summary>
/// Gives memory back once the service has had no work in flight for <see cref="Delay"/>: a compacting collection
/// of the managed heap (large-object heap included, free regions decommitted) and then a trim of the C heap. A burst
/// of requests (and the start-up, with its model load) is followed by one such pass, not one per request; while
/// requests keep coming nothing is done, so the pass never runs inside a request. Two more passes follow while the
/// service stays idle (<see cref="FollowUps"/>): the shared array pool, where the serializer and the framework keep
/// the buffers a burst rented, lets go of an array only when a full collection finds it unused for 30 s (one per
/// thread) or 60 s (the shared stacks), and an idle service has no collections of its own. A pass costs a few
/// milliseconds of CPU for heaps of the size these services keep.
/// <para>
/// A service that is never idle gets a bound instead (<see cref="RequestEnded"/>): the GC collects the large object
/// heap only in a full collection, and its budget for one grows with what survived the last. Under a steady mix of
/// large requests (multi-MB prompts, base64 images, the fuzzer's huge strings) hailo-ollama held 50-100 MB of dead
/// large objects between full collections and its RSS kept rising (median 140 → 183 MiB from the second to the last
/// quarter of a 420 s load). Once the heap holds <see cref="GarbageBound"/> more than the last pass left, a request's
/// end queues the same collection (not the <see cref="Trimming"/> event: the reused arrays serve the stream), at most
/// once per <see cref="BusyInterval"/>.
/// </para>
/// </summary>
public sealed class IdleTrimmer : IDisposable
{
    public static readonly TimeSpan Delay = TimeSpan.FromSeconds(2);
    /// <summary>The passes after the first while the service stays idle, each counted from the one before.</summary>
    public static readonly TimeSpan[] FollowUps = [TimeSpan.FromSeconds(32), TimeSpan.FromSeconds(62)];
    /// <summary>Managed bytes (live or dead) a busy service may hold above what the last pass left.</summary>
    public const long GarbageBound = 32L << 20;
    /// <summary>The shortest time between two passes of a busy service.</summary>
    public static readonly TimeSpan BusyInterval = TimeSpan.FromSeconds(5);
    private readonly ServiceState _state;
    private readonly long _bound;
    private readonly TimeSpan _busyInterval;
    private long _floor; // what the heap holds once collected, as passes have found it (see Collect)
    private long _limit; // GC.GetTotalMemory above which a request's end queues a pass: _floor + the bound
    private long _lastPass; // Environment.TickCount64 of the last pass
    private int _busyQueued;
    private readonly Timer _timer;
    private readonly TimeSpan _delay;
    private readonly TimeSpan[] _followUps;
    private readonly Lock _gate = new();
    private int _next; // index of the follow-up the timer is armed for, once the first pass ran
    private int _trims;

    public IdleTrimmer(ServiceState state, TimeSpan? delay = null, TimeSpan[]? followUps = null, long? garbageBound = null, TimeSpan? busyInterval = null)
    {
        _state = state;
        _delay = delay ?? Delay;
        _followUps = followUps ?? FollowUps;
        _bound = garbageBound ?? GarbageBound;
        _busyInterval = busyInterval ?? BusyInterval;
        _floor = GC.GetTotalMemory(false);
        _limit = _floor + _bound;
        _lastPass = Environment.TickCount64;
        _timer = new Timer(_ => Fire(), null, Timeout.Infinite, Timeout.Infinite);
        _state.WorkDrained += Arm;
        // Loading leaves garbage of its own: the first pass runs once start-up is done.
        _state.StartupCompleted.ContinueWith(_ => Arm(), TaskScheduler.Default);
    }

    /// <summary>
    /// Raised at the start of each pass, before the collection: caches kept for a steady stream of requests
    /// (arrays reused between requests of one size) let go of what they hold.
    /// </summary>
    public event Action? Trimming;

    /// <summary>How many idle passes ran.</summary>
    public int Trims => Volatile.Read(ref _trims);

    /// <summary>The managed heap's size (GC.GetTotalMemory) above which the end of a request queues a pass.</summary>
    public long Limit => Volatile.Read(ref _limit);

    /// <summary>How many of them ran because the heap outgrew its bound while requests kept coming.</summary>
    public int BusyTrims => Volatile.Read(ref _busyTrims);
    private int _busyTrims;

    /// <summary>
    /// The end of a request: when the managed heap holds more than <see cref="GarbageBound"/> above what the last pass
    /// left, and the last pass is <see cref="BusyInterval"/> old, a collection is queued on the thread pool (the
    /// request's own answer is not held up). Costs one read of the heap's size otherwise.
    /// </summary>
    public void RequestEnded()
    {
        if (GC.GetTotalMemory(false) <= Volatile.Read(ref _limit)) return;
        if (Environment.TickCount64 - Volatile.Read(ref _lastPass) < (long)_busyInterval.TotalMilliseconds) return;
        if (Interlocked.Exchange(ref _busyQueued, 1) != 0) return;
        ThreadPool.UnsafeQueueUserWorkItem(static t =>
        {
            try
            {
                t.Collect(idle: false);
                Interlocked.Increment(ref t._busyTrims);
                Interlocked.Increment(ref s_busyPasses);
            }
            finally
            {
                Volatile.Write(ref t._busyQueued, 0);
            }
        }, this, preferLocal: false);
    }

    private static long s_passes;
    /// <summary>Passes run in this process (every trimmer's), for /metrics.</summary>
    public static long Passes => Interlocked.Read(ref s_passes);

    private static long s_busyPasses;
    /// <summary>Passes run because a busy service's heap outgrew its bound (every trimmer's), for /metrics.</summary>
    public static long BusyPasses => Interlocked.Read(ref s_busyPasses);

    private void Arm()
    {
        lock (_gate)
        {
            _next = 0;
            _timer.Change(_delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void Fire()
    {
        lock (_gate)
        {
            if (_state.InFlight > 0) return; // work came back: its end arms the timer again
            if (_next < _followUps.Length) _timer.Change(_followUps[_next++], Timeout.InfiniteTimeSpan);
        }
        Trimming?.Invoke();
        Collect(idle: true);
        Interlocked.Increment(ref _trims);
        Interlocked.Increment(ref s_passes);
    }

    /// <summary>
    /// A compacting full collection that decommits what it frees, then a trim of the C heap. What the heap holds after
    /// it sets the next busy pass's threshold: after an idle pass that is the service's own live data. A busy pass can
    /// run while requests in flight hold large objects that die right after it; taking its result as the floor would
    /// leave that garbage uncollected (hailo-vision held 250 MB so). So a busy pass lowers the floor at once but raises
    /// it only a quarter of the way: live data that really grew (a cache filling up) is reached within a few passes.
    /// </summary>
    private void Collect(bool idle)
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
        var after = GC.GetTotalMemory(false);
        lock (_gate)
        {
            _floor = idle || after <= _floor ? after : _floor + (after - _floor) / 4;
            Volatile.Write(ref _limit, _floor + _bound);
        }
        Volatile.Write(ref _lastPass, Environment.TickCount64);
    }

    public void Dispose()
    {
        _state.WorkDrained -= Arm;
        _timer.Dispose();
    }
}
