using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Hailo.Hosting;
using Hailo.Hosting.Metrics;
using HailoPiper.Engine;
using Microsoft.Extensions.Logging;

namespace HailoPiper.Voices;

/// <summary>
/// The loaded voices: one <see cref="ModelSlot{T}"/> per voice in use (so one synthesis per voice at a time, a bounded
/// queue per voice with 503 + Retry-After beyond it, and the voice's state on /health), different voices in parallel,
/// and at most piper.max_loaded_voices loaded within piper.memory_budget_mb (each voice's memory estimated from its
/// files): beyond either the least recently used voice that nobody is using or waiting for is unloaded. A voice in
/// use is never unloaded; when only voices in use are left the pool runs over its limits until they are released.
/// </summary>
public sealed class VoicePool(PiperConfig config, VoiceCatalog catalog, IVoiceLoader loader, ServiceState state, ServiceMetrics metrics,
    ILogger<VoicePool> log) : IPreloadable, IDisposable
{
    internal sealed class Entry(ModelSlot<IVoice> slot, long cost)
    {
        public ModelSlot<IVoice> Slot { get; } = slot;
        /// <summary>The voice's estimated memory once loaded, in bytes (<see cref="EstimatedBytes"/>).</summary>
        public long Cost { get; } = cost;
        /// <summary>Requests holding or waiting for a lease (guarded by the pool's lock).</summary>
        public int Users;
        public long LastUsed;
    }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private long _clock;
    private bool _disposed;

    public int MaxLoaded => config.Piper.MaxLoadedVoices;

    /// <summary>piper.memory_budget_mb in bytes; long.MaxValue when there is no budget (0).</summary>
    public long BudgetBytes => config.Piper.MemoryBudgetMb == 0 ? long.MaxValue : config.Piper.MemoryBudgetMb * 1024L * 1024;

    /// <summary>What a loaded built-in voice (Flite's, espeak-ng's) is counted as: their data is in shared libraries.</summary>
    public const long BuiltInBytes = 1L << 20;

    /// <summary>ONNX Runtime's own cost for a loaded VITS voice beyond twice its model: session, arenas, threads.</summary>
    public const long OnnxOverheadBytes = 16L << 20;

    /// <summary>
    /// A voice's memory once loaded, estimated from its files: a Piper voice is its .onnx twice over (the weights in
    /// ONNX Runtime's session and what its graph allocates while it runs) plus <see cref="OnnxOverheadBytes"/>; a
    /// built-in voice <see cref="BuiltInBytes"/>.
    /// </summary>
    public static long EstimatedBytes(VoiceInfo voice)
    {
        if (voice.Kind != VoiceKind.Piper) return BuiltInBytes;
        long size;
        try { size = voice.Model is null ? 0 : new FileInfo(voice.Model).Length; }
        catch (IOException) { size = 0; }
        catch (UnauthorizedAccessException) { size = 0; }
        return 2 * size + OnnxOverheadBytes;
    }

    /// <summary>The estimated memory of the voices loaded right now, in bytes.</summary>
    public long LoadedBytes
    {
        get { lock (_lock) return _entries.Values.Where(e => e.Slot.IsLoaded).Sum(e => e.Cost); }
    }

    /// <summary>Names of the voices loaded right now.</summary>
    public IReadOnlyList<string> LoadedNames
    {
        get { lock (_lock) return _entries.Where(e => e.Value.Slot.IsLoaded).Select(e => e.Key).ToArray(); }
    }

    public bool IsLoaded(string name)
    {
        lock (_lock) return _entries.TryGetValue(name, out var e) && e.Slot.IsLoaded;
    }

    /// <summary>Requests admitted for that voice and not yet running (waiting for it), for tests and diagnostics.</summary>
    internal int Waiting(string name)
    {
        lock (_lock) return _entries.TryGetValue(name, out var e) ? e.Slot.QueueLength : 0;
    }

    /// <summary>The loaded voice of that name (to read its rate, speakers, languages), or null.</summary>
    public IVoice? Loaded(string name)
    {
        lock (_lock) return _entries.TryGetValue(name, out var e) ? e.Slot.Loaded : null;
    }

    /// <summary>Loads the default voice at start (models.preload).</summary>
    public async Task PreloadAsync(CancellationToken ct)
    {
        if (catalog.Find(config.Piper.DefaultVoice) is not { Installed: true } voice) return;
        Entry entry;
        lock (_lock) entry = Take(voice);
        try { await entry.Slot.PreloadAsync(ct).ConfigureAwait(false); }
        finally { Release(entry); }
    }

    /// <summary>
    /// A place in <paramref name="voice"/>'s queue (503 queue_full when piper.max_queued_per_voice requests already wait
    /// for it). The voice is loaded when the lease first runs it.
    /// </summary>
    public async Task<VoiceLease> AcquireAsync(VoiceInfo voice, CancellationToken ct)
    {
        Entry entry;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            entry = Take(voice);
        }
        try
        {
            var admission = await entry.Slot.AdmitAsync(ct).ConfigureAwait(false);
            return new VoiceLease(this, entry, admission, voice);
        }
        catch
        {
            Release(entry);
            throw;
        }
    }

    /// <summary>The voice's entry with one more user; unloads others beyond the limit first. Under the lock.</summary>
    private Entry Take(VoiceInfo voice)
    {
        if (!_entries.TryGetValue(voice.Name, out var entry))
        {
            var slot = new ModelSlot<IVoice>(voice.Name, ct => loader.Load(voice, ct), state, concurrency: 1, config.Piper.MaxQueuedPerVoice, metrics, log);
            _entries[voice.Name] = entry = new Entry(slot, EstimatedBytes(voice));
        }
        entry.Users++;
        entry.LastUsed = ++_clock;
        if (entry.Slot.IsLoaded) Trim(reserve: 0, reserveBytes: 0);
        else Trim(reserve: 1, reserveBytes: entry.Cost);
        return entry;
    }

    private void Release(Entry entry)
    {
        lock (_lock)
        {
            entry.Users--;
            entry.LastUsed = ++_clock;
            Trim(reserve: 0, reserveBytes: 0);
        }
    }

    /// <summary>
    /// Unloads least recently used idle voices until the loaded ones, plus <paramref name="reserve"/> voices of
    /// <paramref name="reserveBytes"/> about to load, fit both piper.max_loaded_voices and piper.memory_budget_mb.
    /// Under the lock.
    /// </summary>
    private void Trim(int reserve, long reserveBytes)
    {
        while (true)
        {
            var loaded = _entries.Values.Where(e => e.Slot.IsLoaded).ToList();
            var count = loaded.Count + reserve > MaxLoaded;
            var bytes = loaded.Sum(e => e.Cost) + reserveBytes > BudgetBytes;
            if (!count && !bytes) break;
            var victim = _entries.Where(e => e.Value.Users == 0 && e.Value.Slot.IsLoaded).OrderBy(e => e.Value.LastUsed).FirstOrDefault();
            if (victim.Value is null) break; // every loaded voice is in use: the limits are met once they are released
            _entries.Remove(victim.Key);
            victim.Value.Slot.Dispose();
            state.SetModel(new ModelStatus(victim.Key, ModelState.Idle));
            if (count)
                log.LogInformation("voice {Voice} unloaded (more than piper.max_loaded_voices = {Max} voices loaded)", victim.Key, MaxLoaded);
            else
                log.LogInformation("voice {Voice} unloaded (about {Mb} MiB: the loaded voices would pass piper.memory_budget_mb = {Budget})",
                    victim.Key, victim.Value.Cost >> 20, config.Piper.MemoryBudgetMb);
        }
        // Entries of voices never loaded and no longer wanted are dropped too (they hold only a slot). A voice other
        // than the default whose load failed keeps the reason on /health, but as idle: one broken voice does not make
        // the whole service unready (its next request tries again, and gets the 503 with the reason again).
        foreach (var idle in _entries.Where(e => e.Value.Users == 0 && !e.Value.Slot.IsLoaded).Select(e => e.Key).ToList())
        {
            _entries.Remove(idle, out var e);
            e!.Slot.Dispose();
            if (!string.Equals(idle, config.Piper.DefaultVoice, StringComparison.OrdinalIgnoreCase)
                && state.Models.FirstOrDefault(m => m.Name == idle) is { State: ModelState.Failed or ModelState.Missing } failed)
                state.SetModel(new ModelStatus(idle, ModelState.Idle, $"its last load failed: {failed.Detail}"));
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var e in _entries.Values) e.Slot.Dispose();
            _entries.Clear();
        }
    }

    /// <summary>A request's place in one voice's queue, from admission until its synthesis ends.</summary>
    public sealed class VoiceLease : IDisposable
    {
        private readonly VoicePool _pool;
        private readonly Entry _entry;
        private readonly ModelSlot<IVoice>.Admission _admission;
        private bool _disposed;

        internal VoiceLease(VoicePool pool, Entry entry, ModelSlot<IVoice>.Admission admission, VoiceInfo voice)
        {
            _pool = pool;
            _entry = entry;
            _admission = admission;
            Voice = voice;
        }

        public VoiceInfo Voice { get; }

        /// <summary>The voice's output rate: the loaded voice's own once it is loaded, else what the catalog says.</summary>
        public int SampleRate => _entry.Slot.Loaded?.SampleRate ?? Voice.SampleRate;

        /// <summary>
        /// Speaks <paramref name="text"/> sentence by sentence: each chunk is handed on as soon as the voice has made it,
        /// while the voice goes on with the next sentence. Load failures and a full queue surface from the first
        /// MoveNextAsync, before anything is sent. Runs once per lease.
        /// </summary>
        public async IAsyncEnumerable<float[]> SynthesizeAsync(string text, SynthesisOptions options, [EnumeratorCancellation] CancellationToken ct)
        {
            var channel = Channel.CreateBounded<float[]>(new BoundedChannelOptions(4) { SingleReader = true, SingleWriter = true });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var token = stop.Token;
            var started = Stopwatch.GetTimestamp();
            // The voice runs on a thread of its own for the whole synthesis (it is CPU work and holds the voice's
            // only slot); this request reads what it makes through the channel.
            var run = Task.Run(() => _admission.RunAsync((voice, item) =>
            {
                var e = voice.SynthesizeAsync(text, options, token).GetAsyncEnumerator(token);
                try
                {
                    while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult())
                    {
                        item.Progress();
                        channel.Writer.WriteAsync(e.Current, token).AsTask().GetAwaiter().GetResult();
                    }
                }
                finally
                {
                    e.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
                return true;
            }, token), token);
            _ = run.ContinueWith(_ => channel.Writer.TryComplete(), TaskScheduler.Default);
            try
            {
                while (await channel.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                    while (channel.Reader.TryRead(out var chunk))
                        yield return chunk;
                await run.ConfigureAwait(false);
                _pool.ObserveSynthesis(Voice.Name, Stopwatch.GetElapsedTime(started).TotalSeconds);
            }
            finally
            {
                stop.Cancel();
                try { await run.ConfigureAwait(false); }
                catch { /* reported above, or the request is gone */ }
            }
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _admission.Dispose();
            _pool.Release(_entry);
        }
    }

    private void ObserveSynthesis(string voice, double seconds) => metrics.ObserveInference(voice, "synthesize", seconds);
}
