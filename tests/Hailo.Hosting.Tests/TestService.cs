using System.Text.Json.Serialization;
using Hailo.Hosting;
using Hailo.Hosting.Config;
using Hailo.Hosting.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Hailo.Hosting.Tests;

public sealed class TestConfig : ServiceConfig
{
    public TestSection Test { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        if (Test.Count < 0) errors.Add("test.count", "must not be negative");
    }
}

public sealed class TestSection
{
    public string Greeting { get; set; } = "hello";
    public int Count { get; set; } = 3;
    public double Ratio { get; set; } = 0.5;
    public bool Flag { get; set; }
    public List<string> Names { get; set; } = ["a"];
    public Dictionary<string, string> Map { get; set; } = [];
}

public sealed record EchoRequest(string Text);

/// <summary>A body with a field of each kind, refusing unknown fields as the services' request types do.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ShapeRequest(string? Name, double? Threshold, int? Count, List<string>? Tags, bool? Flag, ShapeOptions? Options);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ShapeOptions(int? Size);
public sealed record EchoResponse(string Text, int Length);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(TestConfig))]
[JsonSerializable(typeof(EchoRequest))]
[JsonSerializable(typeof(ShapeRequest))]
[JsonSerializable(typeof(EchoResponse))]
public sealed partial class TestJson : JsonSerializerContext;

/// <summary>A fake model whose load can be made to fail, go missing or block.</summary>
public sealed class FakeModel : IDisposable
{
    public bool Disposed { get; private set; }
    public void Dispose() => Disposed = true;
}

/// <summary>Controls what the test service's model loader does.</summary>
public sealed class FakeModelControl
{
    public volatile bool Missing;
    public volatile bool Fail;
    public int Loads;
    public SemaphoreSlim? RunGate;
    /// <summary>When set, running the model throws a simulated device fault.</summary>
    public volatile bool DeviceLost;
}

/// <summary>A minimal service on the shared host: echo, a throwing endpoint, a body-limited upload and a model.</summary>
public static class TestService
{
    public static ServiceDefinition<TestConfig> Create(FakeModelControl control, bool jsonUnderAnyContentType = false) => new()
    {
        JsonUnderAnyContentType = jsonUnderAnyContentType,
        Name = "hailo-test",
        DefaultPort = 18080,
        Summary = "test service",
        ConfigType = TestJson.Default.TestConfig,
        Defaults = () => new TestConfig(),
        Configure = ctx =>
        {
            ctx.Builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(1, TestJson.Default));
            ctx.Builder.Services.AddSingleton(sp => new ModelSlot<FakeModel>("fake-model", _ =>
            {
                Interlocked.Increment(ref control.Loads);
                if (control.Missing) throw new ModelMissingException("fake-model", "fake.onnx not found", ctx.PullCommand("fake-model"));
                if (control.Fail) throw new InvalidDataException("corrupt model file");
                return new FakeModel();
            }, ctx.State, concurrency: 1, maxQueued: ctx.Config.Server.MaxQueuedRequests, ctx.Metrics)
            {
                RetryFailedAfter = TimeSpan.FromMilliseconds(200),
                BackendFault = e => e is IOException io && io.Message.StartsWith("device", StringComparison.Ordinal) ? io.Message : null,
            });
            ctx.Builder.Services.AddSingleton<IPreloadable>(sp => new SlotPreloader(sp.GetRequiredService<ModelSlot<FakeModel>>()));
        },
        Map = (app, ctx) =>
        {
            app.Services.GetRequiredService<ModelSlot<FakeModel>>();
            app.MapPost("/echo", (EchoRequest r) => TypedResults.Json(new EchoResponse(r.Text, r.Text.Length), TestJson.Default.EchoResponse))
                .WithBodyLimit(1024).Produces<EchoResponse>();
            // Reads its JSON itself, as the services do: no declared content type, so the host requires JSON.
            app.MapPost("/shape", async (HttpRequest req, CancellationToken ct) =>
            {
                var r = await JsonBody.ReadAsync(req, TestJson.Default.ShapeRequest, ct);
                return TypedResults.Json(new EchoResponse(r.Name ?? "", r.Count ?? 0), TestJson.Default.EchoResponse);
            }).WithBodyLimit();
            app.MapGet("/boom", string () => throw new InvalidOperationException("secret internal detail"));
            app.MapGet("/teapot", string () => throw new ApiException(418, "teapot", "I am a teapot") { RetryAfterSeconds = 7 });
            app.MapGet("/rejected/{kind}", string (string kind) =>
                throw new Hailo.Core.RequestRejectedException(Enum.Parse<Hailo.Core.RejectionKind>(kind, ignoreCase: true), $"{kind}_input", $"the input is {kind}", "file"));
            app.MapPost("/upload", async (HttpRequest req) =>
            {
                using var ms = new MemoryStream();
                await req.Body.CopyToAsync(ms);
                return TypedResults.Json(new EchoResponse("bytes", (int)ms.Length), TestJson.Default.EchoResponse);
            }).WithBodyLimit(4096).Accepts<EchoRequest>("application/octet-stream");
            app.MapGet("/stream", async (HttpContext http, CancellationToken ct) =>
            {
                // A streamed answer whose client goes away: the first line is sent, then the handler waits to be cancelled.
                await http.Response.WriteAsync("first line\n", ct);
                await http.Response.Body.FlushAsync(ct);
                await Task.Delay(Timeout.Infinite, ct);
            });
            // A service's API group: one tag, and the error answers documented on the route that takes a body.
            var api = app.MapServiceGroup<ErrorEnvelope>("grouped");
            api.MapPost("/grouped/upload", async (HttpRequest req) =>
            {
                using var ms = new MemoryStream();
                await req.Body.CopyToAsync(ms);
                return TypedResults.Json(new EchoResponse("bytes", (int)ms.Length), TestJson.Default.EchoResponse);
            }).Accepts<EchoRequest>("application/octet-stream").Produces<EchoResponse>(200).Produces<EchoResponse>(503);
            api.MapGet("/grouped/info", () => TypedResults.Json(new EchoResponse("info", 0), TestJson.Default.EchoResponse)).Produces<EchoResponse>(200);
            app.MapPost("/run", async (ModelSlot<FakeModel> slot, CancellationToken ct) =>
            {
                var n = await slot.RunAsync(m =>
                {
                    control.RunGate?.Wait(TimeSpan.FromSeconds(10));
                    if (control.DeviceLost) throw new IOException("device lost (simulated)");
                    return m.Disposed ? -1 : 1;
                }, ct);
                return TypedResults.Json(new EchoResponse("ran", n), TestJson.Default.EchoResponse);
            });
        },
    };

    private sealed class SlotPreloader(ModelSlot<FakeModel> slot) : IPreloadable
    {
        public Task PreloadAsync(CancellationToken ct) => slot.PreloadAsync(ct);
    }
}
