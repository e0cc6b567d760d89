using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Hailo.GenAI;

/// <summary>
/// A blocking generation loop (a llama.cpp context: one thread, no awaits) run on its own thread and read as a
/// stream of <see cref="GenerationEvent"/>s. However the reader leaves, the loop is cancelled and awaited, so the
/// runner's context is never used by two generations at once.
/// </summary>
public static class WorkerStream
{
    /// <param name="run">The loop: it reports each piece and returns the final counts; it checks its token.</param>
    public static IAsyncEnumerable<GenerationEvent> Start(Func<Action<string>, CancellationToken, GenerationStats> run, CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var worker = Task.Factory.StartNew(() =>
        {
            try
            {
                var stats = run(piece => channel.Writer.TryWrite(new GenerationEvent(piece, null)), cts.Token);
                channel.Writer.TryWrite(new GenerationEvent(null, stats));
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return Read(channel.Reader, worker, cts, ct);
    }

    private static async IAsyncEnumerable<GenerationEvent> Read(ChannelReader<GenerationEvent> reader, Task worker, CancellationTokenSource cts,
        [EnumeratorCancellation] CancellationToken ct)
    {
        try
        {
            while (await reader.WaitToReadAsync(ct).ConfigureAwait(false))
                while (reader.TryRead(out var e))
                    yield return e;
        }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
            try { await worker.ConfigureAwait(false); } catch (Exception) { /* reported through the channel */ }
            cts.Dispose();
        }
    }
}
