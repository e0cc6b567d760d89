using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hailo.Portal.Tests;

/// <summary>A request a fake service received: its path with query, content type and body bytes.</summary>
public sealed record Received(string Path, string? ContentType, byte[] Body);

/// <summary>
/// One HTTP stand-in answering the routes of every service the portal's panels call (/v1/pose/detect, /v1/ocr/extract,
/// /v1/depth/estimate, /api/chat streaming NDJSON, /v1/audio/transcriptions, /v1/audio/speech, /api/pull), plus
/// /health and Prometheus /metrics whose request counter grows with each call. Answers are fixed shapes of the real
/// services' documented answers; what a test proves with them is the portal's forwarding, not the services.
/// </summary>
public sealed class FakeApis : IAsyncDisposable
{
    private readonly WebApplication _app;
    private long _calls;
    public int Port { get; }
    public ConcurrentQueue<Received> Requests { get; } = new();

    /// <summary>A 4×4 PNG: the depth "colour map" the fake answers with.</summary>
    public const string DepthPng = "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAHUlEQVR4nGNg0PiPQDYah+GIoUKjHY4Ytmh4wxEA2vMSceuHMJgAAAAASUVORK5CYII=";

    private FakeApis(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public static async Task<FakeApis> StartAsync()
    {
        var b = WebApplication.CreateSlimBuilder();
        b.Logging.ClearProviders();
        b.WebHost.UseUrls("http://127.0.0.1:0");
        var app = b.Build();
        FakeApis? self = null;
        async Task<Received> Record(HttpContext h)
        {
            using var ms = new MemoryStream();
            await h.Request.Body.CopyToAsync(ms);
            var r = new Received(h.Request.Path + h.Request.QueryString, h.Request.ContentType, ms.ToArray());
            self!.Requests.Enqueue(r);
            Interlocked.Increment(ref self._calls);
            return r;
        }
        Task Json(HttpContext h, string body, int status = 200)
        {
            h.Response.StatusCode = status;
            h.Response.ContentType = "application/json";
            return h.Response.WriteAsync(body);
        }
        app.MapGet("/health", h => Json(h, """
            {"status":"ok","ready":true,"service":"x","version":"1.0.0","backend":"cpu","models_loaded":true,
             "models":[{"name":"stand-in-model","state":"ready"}],"uptime_seconds":12.5,"memory_usage_mb":40.1}
            """));
        app.MapGet("/metrics", h =>
        {
            var n = Interlocked.Read(ref self!._calls);
            h.Response.ContentType = "text/plain; version=0.0.4";
            return h.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $$"""
                # TYPE hailo_http_requests_total counter
                hailo_http_requests_total{service="x",method="GET",route="/health",status="200"} 1000
                hailo_http_requests_total{service="x",method="POST",route="/v1/x",status="200"} {{n}}
                hailo_http_requests_total{service="x",method="POST",route="/v1/x",status="503"} 2
                hailo_http_request_duration_seconds_sum{service="x",route="/v1/x"} {{n * 0.25}}
                hailo_http_request_duration_seconds_count{service="x",route="/v1/x"} {{n}}
                hailo_http_request_duration_seconds_sum{service="x",route="/health"} 99
                hailo_http_request_duration_seconds_count{service="x",route="/health"} 1000
                process_resident_memory_bytes 41943040

                """));
        });
        app.MapPost("/v1/pose/detect", async h =>
        {
            var r = await Record(h);
            await Json(h, $$"""
                {"poses":[{"person_id":0,"bbox":{"x":2,"y":2,"width":12,"height":12},"bbox_confidence":0.9,
                  "keypoints":[{"name":"nose","x":4,"y":4,"confidence":0.9},{"name":"left_eye","x":12,"y":12,"confidence":0.9}],
                  "skeleton":[{"from":"nose","to":"left_eye","from_index":0,"to_index":1}]}],
                 "count":1,"received_bytes":{{r.Body.Length}}}
                """);
        });
        app.MapPost("/v1/ocr/extract", async h =>
        {
            await Record(h);
            await Json(h, """{"success":true,"text":"HELLO","regions":[{"text":"HELLO","confidence":0.99,"bbox":[[1,1],[14,1],[14,8],[1,8]]}]}""");
        });
        app.MapPost("/v1/depth/estimate", async h =>
        {
            await Record(h);
            await Json(h, $$"""{"model":"midas-small","unit":"relative","stats":{"min":0.1,"max":0.9},"depth_image":"{{DepthPng}}"}""");
        });
        app.MapPost("/api/chat", async h =>
        {
            await Record(h);
            h.Response.ContentType = "application/x-ndjson";
            foreach (var word in new[] { "Hello", " from", " the", " stand-in" })
            {
                await h.Response.WriteAsync($$"""{"model":"m","message":{"role":"assistant","content":"{{word}}"},"done":false}""" + "\n");
                await h.Response.Body.FlushAsync();
            }
            await h.Response.WriteAsync("""{"model":"m","message":{"role":"assistant","content":""},"done":true}""" + "\n");
        });
        app.MapPost("/v1/audio/transcriptions", async h =>
        {
            var r = await Record(h);
            await Json(h, $$"""{"text":"transcribed {{r.Body.Length}} bytes"}""");
        });
        app.MapPost("/v1/audio/speech", async h =>
        {
            await Record(h);
            h.Response.ContentType = "audio/wav";
            await h.Response.Body.WriteAsync(Wav());
        });
        app.MapPost("/api/pull", async h =>
        {
            await Record(h);
            h.Response.ContentType = "application/x-ndjson";
            foreach (var line in new[]
                     {
                         """{"status":"pulling manifest"}""",
                         """{"status":"pulling abc","digest":"sha256:abc","total":1000,"completed":500}""",
                         """{"status":"pulling abc","digest":"sha256:abc","total":1000,"completed":1000}""",
                         """{"status":"success"}""",
                     })
            {
                await h.Response.WriteAsync(line + "\n");
                await h.Response.Body.FlushAsync();
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new FakeApis(app, new Uri(address).Port);
        return self;
    }

    /// <summary>The 4×4 PNG as bytes (what the tests send as an image).</summary>
    public static byte[] Png() => Convert.FromBase64String(DepthPng);

    /// <summary>0.1 s of a 440 Hz tone, 16 kHz mono 16-bit WAV.</summary>
    public static byte[] Wav()
    {
        const int rate = 16000, n = 1600;
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write("RIFF"u8); w.Write(36 + n * 2); w.Write("WAVE"u8);
        w.Write("fmt "u8); w.Write(16); w.Write((short)1); w.Write((short)1); w.Write(rate); w.Write(rate * 2); w.Write((short)2); w.Write((short)16);
        w.Write("data"u8); w.Write(n * 2);
        for (var i = 0; i < n; i++) w.Write((short)(8000 * Math.Sin(2 * Math.PI * 440 * i / rate)));
        w.Flush();
        return ms.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
