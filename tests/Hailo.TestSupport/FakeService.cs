using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hailo.TestSupport;

/// <summary>
/// A tiny HTTP stand-in for a service: /health with the shape of shared/Hailo.Hosting's HealthResponse (status code and body
/// chosen by the test), /v1/models, and optionally Ollama's streaming /api/pull.
/// </summary>
public sealed class FakeService : IAsyncDisposable
{
    private readonly WebApplication app;
    public int Port { get; }
    public int HealthStatus { get; set; } = 200;
    public string HealthBody { get; set; } = "";
    public List<string> PullRequests { get; } = [];

    private FakeService(WebApplication app, int port)
    {
        this.app = app;
        Port = port;
    }

    public static async Task<FakeService> StartAsync(string backend = "cpu", string model = "yolov8s-pose", string modelState = "ready")
    {
        var b = WebApplication.CreateSlimBuilder();
        b.Logging.ClearProviders();
        b.WebHost.UseUrls("http://127.0.0.1:0");
        var app = b.Build();
        FakeService? self = null;
        app.MapGet("/health", async (HttpContext h) =>
        {
            h.Response.StatusCode = self!.HealthStatus;
            h.Response.ContentType = "application/json";
            await h.Response.WriteAsync(self.HealthBody);
        });
        app.MapGet("/v1/models", async (HttpContext h) =>
        {
            h.Response.ContentType = "application/json";
            await h.Response.WriteAsync($$"""{"object":"list","data":[{"id":"{{model}}","object":"model","backend":"{{backend}}","status":"{{modelState}}","description":"d","files":[]}]}""");
        });
        app.MapPost("/api/pull", async (HttpContext h) =>
        {
            using var r = new StreamReader(h.Request.Body);
            self!.PullRequests.Add(await r.ReadToEndAsync());
            h.Response.ContentType = "application/x-ndjson";
            foreach (var line in new[]
                     {
                         """{"status":"pulling manifest"}""",
                         """{"status":"pulling abc","digest":"sha256:abc","total":1000,"completed":0}""",
                         """{"status":"pulling abc","digest":"sha256:abc","total":1000,"completed":500}""",
                         """{"status":"pulling abc","digest":"sha256:abc","total":1000,"completed":1000}""",
                         """{"status":"verifying sha256 digest"}""",
                         """{"status":"success"}""",
                     })
            {
                await h.Response.WriteAsync(line + "\n");
                await h.Response.Body.FlushAsync();
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new FakeService(app, new Uri(address).Port);
        self.HealthBody = $$"""
            {"status":"ok","ready":true,"service":"x","version":"1.0.0","backend":"{{backend}}","models_loaded":true,
             "models":[{"name":"{{model}}","state":"{{modelState}}"}],"uptime_seconds":12.5,"memory_usage_mb":40.1}
            """;
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
