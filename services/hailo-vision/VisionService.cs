using System.Text.Json.Serialization;
using Hailo.Core;
using Hailo.GenAI.Api;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Runtime;
using HailoVision.Api;
using HailoVision.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HailoVision;

/// <summary>hailo-vision: the service definition and its endpoints.</summary>
public static class VisionService
{
    public static readonly ServiceDefinition<VisionConfig> Definition = new()
    {
        Name = "hailo-vision",
        DefaultPort = 11435,
        Summary = "Questions about images: a vision-language model (Qwen2-VL) behind the Ollama and OpenAI APIs, on the Hailo-10H NPU (HailoRT GenAI VLM) or the CPU (a GGUF with its projector through llama.cpp's libmtmd).",
        ConfigType = VisionConfigJson.Default.VisionConfig,
        Defaults = () => new VisionConfig(),
        Catalog = VisionModels.Catalog,
        DefaultModels = c => c.Device == Backend.Cpu ? [c.Vision.CpuModel] : [c.Vision.DefaultModel + VisionModels.HefSuffix],
        JsonUnderAnyContentType = true,
        Configure = Configure,
        Map = Map,
    };

    private static void Configure(ServiceContext<VisionConfig> ctx)
    {
        var s = ctx.Builder.Services;
        s.AddSingleton<IErrorWriter, OllamaErrorWriter>();
        s.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, OllamaJson.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(1, OpenAiJson.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(2, VisionJson.Default);
        });
        s.Configure<OpenApiOptions>("v1", OpenApiJsonBody.UseWireNames);
        s.AddSingleton<PullClient>();
        s.AddSingleton<IHttpClientFactoryLite>(sp => sp.GetRequiredService<PullClient>());
        s.AddSingleton(sp => CreateHost(ctx, sp.GetRequiredService<ILoggerFactory>(), sp.GetService<Func<NpuProbe>>(), sp.GetRequiredService<IHttpClientFactoryLite>()));
        s.AddSingleton(sp => sp.GetRequiredService<VisionHost>().Api);
        s.AddSingleton<IPreloadable>(sp => sp.GetRequiredService<VisionHost>());
    }

    internal static VisionHost CreateHost(ServiceContext<VisionConfig> ctx, ILoggerFactory logs, Func<NpuProbe>? probe, IHttpClientFactoryLite pulls)
    {
        var config = ctx.Config;
        var log = logs.CreateLogger("hailo-vision");
        var npuManifest = VisionModels.Find(config.Vision.DefaultModel, Backend.Npu);
        var choice = BackendSelector.Choose(config.Device, probe ?? NpuProbe.Run, npuManifest is null ? null : ctx.Models.Locate(npuManifest));
        ctx.State.SetBackend(choice.Backend, choice.Reason);
        log.LogInformation("backend {Backend} ({Reason})", choice.Name, choice.Reason);
        var registry = new VisionRegistry(ctx.Models, choice.Backend);
        KeepAliveValue.TryParse(config.Vision.KeepAlive, out var keep);
        var host = new ServiceGenAiHost(ctx.State, ctx.Metrics);
        var threads = config.Cpu.EffectiveThreads;
        MtmdNative.Log = log;
        var defaultName = choice.Backend == Backend.Cpu ? config.Vision.CpuModel : config.Vision.DefaultModel;
        var scheduler = new Scheduler(
            (m, numCtx) => m.Backend == Backend.Npu ? VlmRunner.Load(m.Path)
                : MtmdRunner.Load(m.Path, (m as VisionModel)?.Mmproj ?? throw new GenAiException(503, $"{m.Name} has no projector file"), threads, Math.Min(numCtx, config.Vision.MaxNumCtx)),
            host, log, 1, config.Server.MaxQueuedRequests, keep,
            ModelName.TryNormalise(defaultName, out var def) ? def : defaultName)
        {
            DrainTimeout = TimeSpan.FromSeconds(Math.Max(config.Server.ShutdownTimeoutSeconds, 5)),
            MaxQueueWait = config.Vision.MaxQueueWaitSeconds == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(config.Vision.MaxQueueWaitSeconds),
        };
        if (choice.Backend == Backend.Npu) KvCacheTurns.Join(scheduler, config.KvCache, ctx.State, ctx.Metrics, log);
        var completion = new CompletionEngine(scheduler, new NoTemplates(), new CompletionLimits(config.Vision.MaxMessages, config.Vision.NumCtx, "vision.max_messages"), log, host);
        return new VisionHost(new VisionApi(completion, registry, config, ctx.PullCommand, ctx.Models, pulls), ctx, log);
    }

    private const string NdJson = "application/x-ndjson";

    private static void Map(WebApplication app, ServiceContext<VisionConfig> ctx)
    {
        app.Services.GetRequiredService<VisionHost>().Refresh();
        app.MapMethods("/", ["GET", "HEAD"], () => TypedResults.Text("Ollama is running", "text/plain; charset=utf-8"))
            .WithName("root").WithTags("ollama").WithSummary("\"Ollama is running\" (clients probe this)");
        app.MapMethods("/api/version", ["GET", "HEAD"], (HttpContext h, CancellationToken ct) =>
                JsonOut.SingleAsync(h.Response, new VersionResponse(ctx.Config.Vision.ApiVersion), OllamaJson.Default.VersionResponse, ct))
            .WithName("version").WithTags("ollama").WithSummary("The Ollama API version this service speaks")
            .Produces<VersionResponse>();
        app.MapMethods("/api/tags", ["GET", "HEAD"], (HttpContext h, VisionApi api) => api.TagsAsync(h))
            .WithName("tags").WithTags("ollama").WithSummary("Vision models on this machine").Produces<ListResponse>();
        app.MapGet("/api/ps", (HttpContext h, VisionApi api) => api.PsAsync(h))
            .WithName("ps").WithTags("ollama").WithSummary("Loaded models and when they expire").Produces<ProcessResponse>();
        app.MapPost("/api/show", (HttpContext h, VisionApi api) => api.ShowAsync(h))
            .WithName("show").WithTags("ollama").WithSummary("A model's details and capabilities (completion, vision)")
            .WithJsonBody<ShowRequest>().Produces<ShowResponse>();
        app.MapPost("/api/pull", (HttpContext h, VisionApi api) => api.PullAsync(h))
            .WithName("pull").WithTags("ollama").WithSummary("Download a catalog vision model (streamed progress; the same download as the pull command)")
            .WithJsonBody<PullRequest>().Produces<ProgressResponse>(200, "application/json", NdJson);
        app.MapPost("/api/generate", (HttpContext h, VisionApi api) => api.GenerateAsync(h)).WithBodyLimit()
            .WithName("generate").WithTags("ollama").WithSummary("Answer a prompt about images (base64 in images; NDJSON stream unless stream: false)")
            .WithJsonBody<GenerateRequest>().Produces<GenerateResponse>(200, "application/json", NdJson);
        app.MapPost("/api/chat", (HttpContext h, VisionApi api) => api.ChatAsync(h)).WithBodyLimit()
            .WithName("chat").WithTags("ollama").WithSummary("Chat about images (messages[].images; NDJSON stream unless stream: false)")
            .WithJsonBody<ChatRequest>().Produces<ChatResponse>(200, "application/json", NdJson);
        app.MapPost("/v1/chat/completions", (HttpContext h, VisionApi api) => api.OpenAiChatAsync(h)).WithBodyLimit()
            .WithName("openai-chat").WithTags("openai").WithSummary("OpenAI chat completions with image_url parts (data URLs; SSE when stream: true)")
            .WithJsonBody<OpenAiChatRequest>().Produces<OpenAiCompletion>(200, "application/json", "text/event-stream");
        app.MapGet("/v1/models", (HttpContext h, VisionApi api) => api.ModelsAsync(h))
            .WithName("openai-models").WithTags("openai").WithSummary("Models, OpenAI's shape").Produces<OpenAiModelList>();
        app.MapGet("/v1/models/{*id}", (HttpContext h, string id, VisionApi api) => api.ModelAsync(h, id))
            .WithName("openai-model").WithTags("openai").WithSummary("One model, OpenAI's shape").Produces<OpenAiModel>();
        app.MapPost("/v1/vision/analyze", (HttpContext h, VisionApi api) => api.AnalyzeAsync(h)).WithBodyLimit()
            .WithName("analyze").WithTags("vision").WithSummary("Each image analysed with the prompt (the earlier service's endpoint)")
            .WithJsonBody<AnalyzeRequest>().Produces<AnalyzeResponse>();
        app.MapPost("/v1/vision/analyze/batch", (HttpContext h, VisionApi api) => api.AnalyzeBatchAsync(h)).WithBodyLimit()
            .WithName("analyze-batch").WithTags("vision").WithSummary("Several analyze requests in one")
            .WithJsonBody<AnalyzeBatchRequest>().Produces<AnalyzeBatchResponse>();
        app.Lifetime.ApplicationStopped.Register(() => app.Services.GetRequiredService<VisionHost>().Dispose());
    }
}

/// <summary>No chat templates of its own: the NPU's HEF applies its template to the messages.</summary>
internal sealed class NoTemplates : IChatTemplates
{
    public Hailo.GenAI.Chat.ChatTemplate? Template(IModelFile model) => null;
    public bool HasNoTemplate(IModelFile model) => false;
}

/// <summary>
/// Owns the API's engine for the host: the default model's state on /health (missing → degraded with the command that
/// fetches it, following the files), preloading at start, and the models freed at stop.
/// </summary>
internal sealed class VisionHost(VisionApi api, ServiceContext<VisionConfig> ctx, ILogger log) : IPreloadable, IDisposable
{
    private Timer? _timer;
    public VisionApi Api { get; } = api;
    private string DefaultName => Api.Engine.Scheduler.DefaultModel;

    public void Refresh()
    {
        _timer ??= new Timer(_ => Refresh(), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        var backend = Api.Registry.Backend;
        var present = Api.Registry.Find(DefaultName) is not null;
        var current = ctx.State.Models.FirstOrDefault(m => m.Name == DefaultName);
        if (!present)
        {
            var manifest = VisionModels.Find(DefaultName, backend);
            var what = backend == Backend.Npu ? "NPU model file" : "text GGUF and projector (mmproj) GGUF";
            if (current?.State != ModelState.Missing)
                ctx.State.SetModel(new ModelStatus(DefaultName, ModelState.Missing, $"no {what} for {DefaultName} in {ctx.Config.Models.Dir}",
                    manifest is not null ? ctx.PullCommand(manifest.Name) : $"set vision.{(backend == Backend.Npu ? "default_model" : "cpu_model")} to a catalog model"));
        }
        else if (current is null || current.State == ModelState.Missing)
        {
            ctx.State.SetModel(new ModelStatus(DefaultName, Api.Engine.Scheduler.Loaded.Any(r => r.Name == DefaultName) ? ModelState.Ready : ModelState.Idle));
        }
    }

    public async Task PreloadAsync(CancellationToken ct)
    {
        Refresh();
        var m = Api.Registry.Find(DefaultName);
        if (m is null) return;
        try
        {
            using var lease = await Api.Engine.Scheduler.AcquireAsync(m, ctx.Config.Vision.NumCtx, null, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is GenAiException or OperationCanceledException)
        {
            log.LogWarning("preloading {Model} failed: {Message}", DefaultName, e.Message);
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        Api.Engine.Scheduler.Dispose();
        Api.Dispose();
    }
}

/// <summary>POST /v1/vision/analyze: each image (base64 or a data URL) is analysed on its own with the prompt.</summary>
public sealed record AnalyzeRequest
{
    public string? Model { get; init; }
    public required List<string> Images { get; init; }
    public required string Prompt { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    public double? TopP { get; init; }
    public int? Seed { get; init; }
}

public sealed record AnalyzeUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

public sealed record AnalyzeResult(int Index, string Analysis, string FinishReason, AnalyzeUsage Usage, double InferenceTimeMs);

public sealed record AnalyzeResponse(string Model, List<AnalyzeResult> Results, double TotalInferenceTimeMs);

/// <summary>POST /v1/vision/analyze/batch: several analyze requests (they share vision.max_images).</summary>
public sealed record AnalyzeBatchRequest(List<AnalyzeRequest> Requests);

public sealed record AnalyzeBatchEntry(List<AnalyzeResult> Results);

public sealed record AnalyzeBatchResponse(string Model, List<AnalyzeBatchEntry> Batch, double TotalInferenceTimeMs);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AnalyzeRequest))]
[JsonSerializable(typeof(AnalyzeResponse))]
[JsonSerializable(typeof(AnalyzeBatchRequest))]
[JsonSerializable(typeof(AnalyzeBatchResponse))]
public sealed partial class VisionJson : JsonSerializerContext;
