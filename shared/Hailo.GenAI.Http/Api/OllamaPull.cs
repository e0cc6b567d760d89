using System.Text.Json;
using Hailo.GenAI.Api;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Microsoft.AspNetCore.Http;

namespace Hailo.GenAI.Http;

/// <summary>The HttpClient a service's /api/pull downloads with (a test replaces it to reach a local server).</summary>
public interface IHttpClientFactoryLite
{
    HttpClient Client { get; }
}

/// <summary>One HttpClient for pulls.</summary>
public sealed class PullClient : IHttpClientFactoryLite, IDisposable
{
    public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromHours(2) };
    public void Dispose() => Client.Dispose();
}

/// <summary>
/// Ollama's <c>POST /api/pull</c> for a catalog model: the store's download (the same code as the CLI's
/// <c>pull</c>) with its progress as NDJSON lines <c>{"status","digest","total","completed"}</c> and a final
/// <c>{"status":"success"}</c>, or with <c>stream: false</c> one object once it is done. A failed download is a 502
/// (or an <c>{"error"}</c> line once the stream has started).
/// </summary>
public static class OllamaPull
{
    public static async Task RunAsync(HttpContext ctx, ModelStore store, ModelManifest manifest, string name, bool stream, HttpClient http)
    {
        if (stream)
        {
            ctx.Response.ContentType = "application/x-ndjson";
            await ctx.Response.StartAsync(ctx.RequestAborted);
            await JsonOut.LineAsync(ctx.Response, w => w.WriteString("status", "pulling manifest"), ctx.RequestAborted);
        }
        // The store reports progress on the downloading thread; a pump writes each report as a line as it comes.
        var progress = new ProgressLines(ctx.Response, stream, manifest.Files[0].Sha256, ctx.RequestAborted);
        try
        {
            try
            {
                await store.PullAsync(manifest, http, progress, ctx.RequestAborted);
            }
            finally
            {
                await progress.CompleteAsync();
            }
        }
        catch (Exception e) when (e is HttpRequestException or InvalidDataException or IOException or InvalidOperationException or UnauthorizedAccessException or TaskCanceledException && !ctx.RequestAborted.IsCancellationRequested)
        {
            var error = new ApiException(502, "pull_failed", $"pulling {name} failed: {e.Message}");
            if (!stream) throw error;
            await JsonOut.LineAsync(ctx.Response, w => w.WriteString("error", error.Message), ctx.RequestAborted);
            return;
        }
        if (stream) await JsonOut.LineAsync(ctx.Response, w => w.WriteString("status", "success"), ctx.RequestAborted);
        else await JsonOut.SingleAsync(ctx.Response, w =>
        {
            w.WriteString("status", "success");
            if (!manifest.Verified) w.WriteBoolean("verified", false);
        }, ctx.RequestAborted);
    }

    /// <summary>Writes the store's progress reports as Ollama's pull status lines while the download runs.</summary>
    private sealed class ProgressLines : IProgress<PullProgress>
    {
        private readonly System.Threading.Channels.Channel<PullProgress> _queue = System.Threading.Channels.Channel.CreateUnbounded<PullProgress>(
            new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true });
        private readonly HttpResponse _response;
        private readonly string? _digest;
        private readonly Task _pump;

        public ProgressLines(HttpResponse response, bool stream, string? digest, CancellationToken ct)
        {
            _response = response;
            _digest = digest;
            _pump = stream ? PumpAsync(ct) : Task.CompletedTask;
        }

        public void Report(PullProgress value) => _queue.Writer.TryWrite(value);

        /// <summary>Ends the stream of reports and waits until every line is written.</summary>
        public async Task CompleteAsync()
        {
            _queue.Writer.TryComplete();
            try { await _pump; }
            catch (Exception e) when (e is OperationCanceledException or IOException) { /* the client went away */ }
        }

        private async Task PumpAsync(CancellationToken ct)
        {
            await foreach (var p in _queue.Reader.ReadAllAsync(ct))
            {
                if (p.Status == "success") continue; // written once the pull has returned
                await JsonOut.LineAsync(_response, w =>
                {
                    w.WriteString("status", p.Status);
                    if (p.Total > 0)
                    {
                        if (_digest is not null) w.WriteString("digest", "sha256:" + _digest);
                        w.WriteNumber("total", p.Total);
                        w.WriteNumber("completed", p.Completed);
                    }
                }, ct);
            }
        }
    }
}
