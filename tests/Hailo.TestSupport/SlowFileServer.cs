using System.Net;

namespace Hailo.TestSupport;

/// <summary>
/// A download server on 127.0.0.1 for pull tests: serves the files it is given by name (GET /NAME), in chunks with a
/// pause between them, honours "Range: bytes=N-" with 206, and records every request it saw.
/// </summary>
public sealed class SlowFileServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly List<(string Path, string? Range)> _requests = [];
    private readonly List<Task> _serving = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _completed;

    public SlowFileServer(int chunkBytes = 64 << 10, TimeSpan? pause = null)
    {
        ChunkBytes = chunkBytes;
        Pause = pause ?? TimeSpan.FromMilliseconds(20);
        // HttpListener wants a port up front; a free one from TestPorts, retried if it is taken meanwhile.
        for (var attempt = 0; ; attempt++)
        {
            var port = TestPorts.Next();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                _listener.Start();
                BaseAddress = $"http://127.0.0.1:{port}/";
                break;
            }
            catch (HttpListenerException) when (attempt < 5) { }
        }
        _accept = Task.Run(AcceptAsync);
    }

    /// <summary>http://127.0.0.1:PORT/</summary>
    public string BaseAddress { get; } = "";
    public int ChunkBytes { get; set; }
    public TimeSpan Pause { get; set; }

    /// <summary>Every request: path and Range header.</summary>
    public IReadOnlyList<(string Path, string? Range)> Requests { get { lock (_requests) return _requests.ToArray(); } }

    /// <summary>Responses sent to their last byte.</summary>
    public int Completed => Volatile.Read(ref _completed);

    public string Url(string name) => BaseAddress + name;

    public void Serve(string name, byte[] content)
    {
        lock (_files) _files[name] = content;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            var t = Task.Run(() => ServeAsync(ctx));
            lock (_serving) _serving.Add(t);
        }
    }

    private async Task ServeAsync(HttpListenerContext ctx)
    {
        var name = ctx.Request.Url!.AbsolutePath.TrimStart('/');
        var range = ctx.Request.Headers["Range"];
        lock (_requests) _requests.Add((name, range));
        byte[]? content;
        lock (_files) _files.TryGetValue(name, out content);
        try
        {
            if (content is null)
            {
                ctx.Response.StatusCode = 404;
                ctx.Response.Close();
                return;
            }
            long from = 0;
            if (range is { } r && r.StartsWith("bytes=", StringComparison.Ordinal) && r.EndsWith('-') && long.TryParse(r[6..^1], out var start))
            {
                if (start >= content.Length)
                {
                    ctx.Response.StatusCode = 416;
                    ctx.Response.Close();
                    return;
                }
                from = start;
                ctx.Response.StatusCode = 206;
                ctx.Response.Headers["Content-Range"] = $"bytes {start}-{content.Length - 1}/{content.Length}";
            }
            ctx.Response.ContentLength64 = content.Length - from;
            ctx.Response.ContentType = "application/octet-stream";
            var output = ctx.Response.OutputStream;
            for (var at = from; at < content.Length; at += ChunkBytes)
            {
                var n = (int)Math.Min(ChunkBytes, content.Length - at);
                await output.WriteAsync(content.AsMemory((int)at, n), _stop.Token);
                await output.FlushAsync(_stop.Token);
                if (at + n < content.Length) await Task.Delay(Pause, _stop.Token);
            }
            ctx.Response.Close();
            Interlocked.Increment(ref _completed);
        }
        catch (Exception e) when (e is HttpListenerException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            try { ctx.Response.Abort(); } catch (ObjectDisposedException) { }
        }
    }


    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _listener.Close();
        try { await _accept; } catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { }
        Task[] serving;
        lock (_serving) serving = _serving.ToArray();
        await Task.WhenAll(serving);
        _stop.Dispose();
    }
}
