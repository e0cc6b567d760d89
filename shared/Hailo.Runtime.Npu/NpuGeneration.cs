using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;

namespace Hailo.Runtime.Npu;

/// <summary>
/// One running LLM/VLM generation: an async stream of UTF-8 text pieces and a final <see cref="GenerationResult"/>.
/// A dedicated thread reads the completion in bounded slices, so no thread-pool thread ever blocks in native
/// code; cancellation calls hs_completion_abort from another thread while that reader waits.
/// </summary>
/// <remarks>
/// The generation runs to its end even if nobody enumerates it (pieces are buffered). Breaking out of the
/// enumeration, disposing, or cancelling aborts it. Enumerate it at most once.
/// </remarks>
public sealed class NpuGeneration : IAsyncEnumerable<string>, IAsyncDisposable, IDisposable
{
    /// <summary>How long one hs_completion_read may wait before the reader checks its watchdog again.</summary>
    internal const uint ReadSliceMs = 200;

    private readonly GenAiModel _owner;
    private readonly CompletionHandle _handle;
    private readonly TimeSpan _pieceTimeout;
    private readonly CancellationToken _token;
    private readonly Channel<string> _pieces = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<GenerationResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenRegistration _registration;
    private readonly long _start = Stopwatch.GetTimestamp();
    private int _enumerated;
    private volatile bool _abortRequested;
    private readonly Lock _freeLock = new();
    private bool _freed;

    /// <summary>Takes ownership of <paramref name="handle"/>; the owner's busy flag is released when the reader ends.</summary>
    internal NpuGeneration(GenAiModel owner, CompletionHandle handle, TimeSpan pieceTimeout, CancellationToken token)
    {
        _owner = owner;
        _handle = handle;
        _pieceTimeout = pieceTimeout;
        _token = token;
        _registration = token.UnsafeRegister(static s => ((NpuGeneration)s!).AbortInBackground(), this);
        try
        {
            new Thread(ReadLoop) { IsBackground = true, Name = "hailo-generation" }.Start();
        }
        catch
        {
            _registration.Dispose();
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Completes with the result when the generation has ended and its native completion is freed.</summary>
    public Task<GenerationResult> Completion => _done.Task;

    /// <summary>
    /// Stops the generation (hs_completion_abort); the stream then ends with status Aborted. On HailoRT this blocks
    /// until the device confirms; cancellation does the same on a thread-pool thread instead.
    /// </summary>
    public void Abort()
    {
        _abortRequested = true;
        // Under the lock the reader takes before freeing the completion: an abort call in flight would otherwise hold
        // the SafeHandle and delay hs_completion_free past EndGeneration, and the next request on this model would
        // find a completion still alive (hs_llm_clear_context refuses then).
        lock (_freeLock)
        {
            if (_freed) return; // already finished and freed: nothing to abort
            _ = NativeMethods.hs_completion_abort(_handle); // a failure here shows up in the reader's final status
        }
    }

    private void AbortInBackground()
    {
        _abortRequested = true;
        ThreadPool.UnsafeQueueUserWorkItem(static g => g.Abort(), this, preferLocal: false);
    }

    private void ReadLoop()
    {
        GenerationResult? result = null;
        Exception? error = null;
        try
        {
            result = Read();
        }
        catch (Exception e)
        {
            error = e;
        }
        finally
        {
            _registration.Dispose();
            lock (_freeLock)
            {
                _freed = true;
                _handle.Dispose(); // hs_completion_free: only here, never while this thread reads or an abort runs
            }
            _owner.EndGeneration();
            _pieces.Writer.TryComplete();
            if (error is null) _done.SetResult(result!);
            else _done.SetException(error);
        }
    }

    private unsafe GenerationResult Read()
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        var pieces = 0;
        var lastProgress = Stopwatch.GetTimestamp();
        var timedOut = false;
        while (true)
        {
            nuint len;
            int genStatus, st;
            fixed (byte* p = buffer) st = NativeMethods.hs_completion_read(_handle, p, (nuint)buffer.Length, ReadSliceMs, &len, &genStatus);
            if (st == (int)HailoStatus.Timeout)
            {
                // Retryable: nothing was consumed. The watchdog aborts a generation that stopped producing text.
                if (!_abortRequested && Stopwatch.GetElapsedTime(lastProgress) > _pieceTimeout)
                {
                    timedOut = true;
                    Abort();
                }
                continue;
            }
            if (st == (int)HailoStatus.BufferTooSmall)
            {
                buffer = new byte[buffer.Length * 2];
                continue;
            }
            if (st != 0) throw Shim.Error(st);
            if (len > 0)
            {
                var piece = Encoding.UTF8.GetString(buffer, 0, (int)len);
                text.Append(piece);
                pieces++;
                _pieces.Writer.TryWrite(piece);
                lastProgress = Stopwatch.GetTimestamp();
            }
            if (genStatus == (int)GenerationStatus.Generating) continue;
            if (timedOut)
                throw new HailoException((int)HailoStatus.Timeout, Shim.StatusName((int)HailoStatus.Timeout),
                    $"no text for {_pieceTimeout.TotalSeconds:0.#} s; the generation was aborted");
            return new GenerationResult((GenerationStatus)genStatus, text.ToString(), pieces, TryContext(), Stopwatch.GetElapsedTime(_start));
        }
    }

    private ContextUsage? TryContext()
    {
        try
        {
            return _owner.GetContextUsage();
        }
        catch (Exception e) when (e is HailoException or ObjectDisposedException)
        {
            return null; // the model was disposed meanwhile, or the device went away
        }
    }

    public IAsyncEnumerator<string> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
            throw new InvalidOperationException("a generation's pieces can be enumerated only once");
        return Enumerate(cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    private async IAsyncEnumerable<string> Enumerate([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var registration = cancellationToken.UnsafeRegister(static s => ((NpuGeneration)s!).AbortInBackground(), this);
        var drained = false;
        try
        {
            var reader = _pieces.Reader;
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
                while (reader.TryRead(out var piece))
                    yield return piece;
            drained = true;
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            if (!drained) await AbortAndWaitAsync().ConfigureAwait(false); // the consumer stopped early
        }
        var result = await _done.Task.ConfigureAwait(false); // rethrows a HailoException from the reader
        if (result.Status == GenerationStatus.Aborted)
        {
            if (cancellationToken.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);
            if (_token.IsCancellationRequested) throw new OperationCanceledException(_token);
        }
    }

    /// <summary>Reads every piece and returns the result (with the whole text).</summary>
    public async Task<GenerationResult> ReadToEndAsync(CancellationToken cancellationToken = default)
    {
        await foreach (var _ in this.WithCancellation(cancellationToken).ConfigureAwait(false)) { }
        return await _done.Task.ConfigureAwait(false);
    }

    private async Task AbortAndWaitAsync()
    {
        if (!_done.Task.IsCompleted) AbortInBackground();
        try
        {
            await _done.Task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The caller walked away; a failure of the aborted generation is of no interest any more.
        }
    }

    /// <summary>Aborts if still running and waits until the native completion is freed.</summary>
    public ValueTask DisposeAsync() => new(AbortAndWaitAsync());

    /// <summary>Aborts if still running and blocks until the native completion is freed.</summary>
    public void Dispose() => AbortAndWaitAsync().GetAwaiter().GetResult();
}
