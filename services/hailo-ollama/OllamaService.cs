using Hailo.Core;
using Hailo.GenAI;
using Hailo.GenAI.Api;
using Hailo.Hosting;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using Hailo.Runtime;
using HailoOllama.Api;
using HailoOllama.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HailoOllama;

/// <summary>hailo-ollama: the service definition and its endpoints.</summary>
public static class OllamaService
{
    public static readonly ServiceDefinition<OllamaConfig> Definition = new()
    {
        Name = "hailo-ollama",
        DefaultPort = 11434,
        Summary = "The Ollama API (and OpenAI's /v1) for LLMs: on the Hailo-10H NPU (HailoRT GenAI) or the CPU (llama.cpp, GGUF).",
        ConfigType = OllamaConfigJson.Default.OllamaConfig,
        Defaults = () => new OllamaConfig(),
        Catalog = OllamaModels.Catalog,
        DefaultModels = c => [c.Device == Backend.Npu ? c.Ollama.DefaultModel + OllamaModels.HefSuffix : c.Ollama.DefaultModel],
        // curl -d (form-encoded) and other non-browser clients send JSON under any label, and Ollama reads it.
        JsonUnderAnyContentType = true,
        Configure = Configure,
        Map = Map,
    };

    private static void Configure(ServiceContext<OllamaConfig> ctx)
    {
        var s = ctx.Builder.Services;
        s.AddSingleton<IErrorWriter, OllamaErrorWriter>();
        // The wire contracts, for the OpenAPI document's schemas (the bodies themselves are read and written by hand).
        s.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, OllamaJson.Default);
            o.SerializerOptions.TypeInfoResolverChain.Insert(1, OpenAiJson.Default);
        });
        s.Configure<OpenApiOptions>("v1", OpenApiJsonBody.UseWireNames);
        s.AddSingleton<PullClient>();
        s.AddSingleton<IHttpClientFactoryLite>(sp => sp.GetRequiredService<PullClient>());
        s.AddSingleton(sp => CreateEngine(ctx, sp.GetRequiredService<ILoggerFactory>(), sp.GetService<Func<NpuProbe>>()));
        s.AddSingleton(sp => sp.GetRequiredService<EngineHost>().Completion);
        s.AddSingleton(sp => sp.GetRequiredService<OllamaEngine>().Completion);
        s.AddSingleton(sp => new NativeApi(sp.GetRequiredService<OllamaEngine>(), ctx.PullCommand));
        s.AddSingleton(sp => new OpenAiApi(sp.GetRequiredService<OllamaEngine>(), sp.GetRequiredService<NativeApi>()));
        s.AddSingleton(sp => new ManageApi(sp.GetRequiredService<OllamaEngine>(), sp.GetRequiredService<NativeApi>(), sp.GetRequiredService<IHttpClientFactoryLite>()));
        s.AddSingleton<IPreloadable>(sp => sp.GetRequiredService<EngineHost>());
    }

    /// <param name="probe">Finds the NPU: a <c>Func&lt;NpuProbe&gt;</c> registered in the services (tests register theirs), else the real one.</param>
    internal static EngineHost CreateEngine(ServiceContext<OllamaConfig> ctx, ILoggerFactory logs, Func<NpuProbe>? probe)
    {
        var config = ctx.Config;
        var log = logs.CreateLogger("hailo-ollama");
        LlamaNative.Log = logs.CreateLogger("llama.cpp");
        var npuManifest = OllamaModels.Find(config.Ollama.DefaultModel, Backend.Npu);
        var choice = BackendSelector.Choose(config.Device, probe ?? NpuProbe.Run, npuManifest is null ? null : ctx.Models.Locate(npuManifest));
        // With device: auto and no NPU model for the default name, auto still means "NPU if it answers": HEFs are
        // imported by name; a CPU machine (the usual case in CI) gets the CPU.
        ctx.State.SetBackend(choice.Backend, choice.Reason);
        log.LogInformation("backend {Backend} ({Reason})", choice.Name, choice.Reason);
        var registry = new ModelRegistry(ctx.Models, choice.Backend);
        KeepAliveValue.TryParse(config.Ollama.KeepAlive, out var keep);
        var threads = config.Cpu.EffectiveThreads;
        var host = new ServiceGenAiHost(ctx.State, ctx.Metrics);
        var scheduler = new Scheduler(
            (m, numCtx) => m.Backend == Backend.Npu ? NpuRunner.Load(m.Path) : LlamaRunner.Load(m.Path, threads, Math.Min(numCtx, config.Ollama.MaxNumCtx), config.Ollama.NumBatch),
            host, log, config.Ollama.MaxLoadedModels, config.Server.MaxQueuedRequests, keep,
            ModelName.TryNormalise(config.Ollama.DefaultModel, out var def) ? def : config.Ollama.DefaultModel)
        {
            // On stop the server first drains its requests (up to the same time), then the models are freed.
            DrainTimeout = TimeSpan.FromSeconds(Math.Max(config.Server.ShutdownTimeoutSeconds, 5)),
            MaxQueueWait = config.Ollama.MaxQueueWaitSeconds == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(config.Ollama.MaxQueueWaitSeconds),
        };
        if (choice.Backend == Backend.Npu) Hailo.GenAI.Http.KvCacheTurns.Join(scheduler, config.KvCache, ctx.State, ctx.Metrics, log);
        var completion = new CompletionEngine(scheduler, new RegistryTemplates(registry), OllamaEngine.Limits(config), log, host);
        return new EngineHost(new OllamaEngine(completion, registry, config), ctx, log);
    }

    private const string NdJson = "application/x-ndjson";

    private static void Map(WebApplication app, ServiceContext<OllamaConfig> ctx)
    {
        app.Services.GetRequiredService<EngineHost>().Refresh();
        var maxBlob = (long)ctx.Config.Ollama.MaxBlobMb << 20;

        app.MapMethods("/", ["GET", "HEAD"], () => TypedResults.Text("Ollama is running", "text/plain; charset=utf-8"))
            .WithName("root").WithTags("ollama").WithSummary("\"Ollama is running\" (clients probe this)");
        // Two parameters: a lone HttpContext would make it a bare RequestDelegate, which the OpenAPI document leaves out.
        app.MapMethods("/api/version", ["GET", "HEAD"], (HttpContext h, CancellationToken ct) =>
                JsonOut.SingleAsync(h.Response, new VersionResponse(ctx.Config.Ollama.ApiVersion), OllamaJson.Default.VersionResponse, ct))
            .WithName("version").WithTags("ollama").WithSummary("The Ollama API version this service speaks")
            .Produces<VersionResponse>();
        app.MapMethods("/api/tags", ["GET", "HEAD"], (HttpContext h, NativeApi api) => api.TagsAsync(h))
            .WithName("tags").WithTags("ollama").WithSummary("Models on this machine")
            .Produces<ListResponse>();
        app.MapGet("/api/ps", (HttpContext h, NativeApi api) => api.PsAsync(h))
            .WithName("ps").WithTags("ollama").WithSummary("Loaded models and when they expire")
            .Produces<ProcessResponse>();
        app.MapPost("/api/show", (HttpContext h, NativeApi api) => api.ShowAsync(h))
            .WithName("show").WithTags("ollama").WithSummary("A model's template, parameters, details, model_info and capabilities")
            .WithJsonBody<ShowRequest>().Produces<ShowResponse>();
        app.MapPost("/api/generate", (HttpContext h, NativeApi api) => api.GenerateAsync(h)).WithBodyLimit()
            .WithName("generate").WithTags("ollama").WithSummary("Complete a prompt (NDJSON stream unless stream: false)")
            .WithJsonBody<GenerateRequest>().Produces<GenerateResponse>(200, "application/json", NdJson);
        app.MapPost("/api/chat", (HttpContext h, NativeApi api) => api.ChatAsync(h)).WithBodyLimit()
            .WithName("chat").WithTags("ollama").WithSummary("Chat with tools and structured output (NDJSON stream unless stream: false)")
            .WithJsonBody<ChatRequest>().Produces<ChatResponse>(200, "application/json", NdJson);
        app.MapPost("/api/embed", (HttpContext h, NativeApi api) => api.EmbedAsync(h, legacy: false)).WithBodyLimit()
            .WithName("embed").WithTags("ollama").WithSummary("Embeddings of one or more inputs")
            .WithJsonBody<EmbedRequest>().Produces<EmbedResponse>();
        app.MapPost("/api/embeddings", (HttpContext h, NativeApi api) => api.EmbedAsync(h, legacy: true)).WithBodyLimit()
            .WithName("embeddings").WithTags("ollama").WithSummary("Embedding of a prompt (older API)")
            .WithJsonBody<EmbeddingRequest>().Produces<EmbeddingResponse>();
        app.MapPost("/api/pull", (HttpContext h, ManageApi api) => api.PullAsync(h))
            .WithName("pull").WithTags("ollama").WithSummary("Download a catalog model (streamed progress, sha256-checked)")
            .WithJsonBody<PullRequest>().Produces<ProgressResponse>(200, "application/json", NdJson);
        app.MapDelete("/api/delete", (HttpContext h, ManageApi api) => api.DeleteAsync(h))
            .WithName("delete").WithTags("ollama").WithSummary("Delete a model")
            .WithJsonBody<DeleteRequest>();
        app.MapPost("/api/copy", (HttpContext h, ManageApi api) => api.CopyAsync(h))
            .WithName("copy").WithTags("ollama").WithSummary("Copy a model under a new name")
            .WithJsonBody<CopyRequest>();
        app.MapPost("/api/create", (HttpContext h, ManageApi api) => api.CreateAsync(h))
            .WithName("create").WithTags("ollama").WithSummary("Create a model from an uploaded GGUF (files) or another model (from) with system, template, parameters")
            .WithJsonBody<CreateRequest>().Produces<ProgressResponse>(200, "application/json", NdJson);
        app.MapMethods("/api/blobs/{digest}", ["HEAD"], (HttpContext h, string digest, ManageApi api) => api.BlobHeadAsync(h, digest))
            .WithName("blob-exists").WithTags("ollama").WithSummary("200 if the blob is here, else 404");
        app.MapPost("/api/blobs/{digest}", (HttpContext h, string digest, ManageApi api) => api.BlobPostAsync(h, digest)).WithBodyLimit(maxBlob).WithAnyContentType()
            .WithName("blob-upload").WithTags("ollama").WithSummary("Upload a model file; its sha256 must match the digest")
            .WithBinaryBody("the model file (GGUF)");

        app.MapPost("/v1/chat/completions", (HttpContext h, OpenAiApi api) => api.ChatAsync(h)).WithBodyLimit()
            .WithName("openai-chat").WithTags("openai").WithSummary("OpenAI chat completions (SSE when stream: true)")
            .WithJsonBody<OpenAiChatRequest>().Produces<OpenAiCompletion>(200, "application/json", "text/event-stream");
        app.MapPost("/v1/completions", (HttpContext h, OpenAiApi api) => api.CompletionsAsync(h)).WithBodyLimit()
            .WithName("openai-completions").WithTags("openai").WithSummary("OpenAI text completions")
            .WithJsonBody<OpenAiCompletionRequest>().Produces<OpenAiCompletion>(200, "application/json", "text/event-stream");
        app.MapGet("/v1/models", (HttpContext h, OpenAiApi api) => api.ModelsAsync(h))
            .WithName("openai-models").WithTags("openai").WithSummary("Models, OpenAI's shape")
            .Produces<OpenAiModelList>();
        app.MapGet("/v1/models/{*id}", (HttpContext h, string id, OpenAiApi api) => api.ModelAsync(h, id))
            .WithName("openai-model").WithTags("openai").WithSummary("One model, OpenAI's shape")
            .Produces<OpenAiModel>();
        app.MapPost("/v1/embeddings", (HttpContext h, OpenAiApi api) => api.EmbeddingsAsync(h)).WithBodyLimit()
            .WithName("openai-embeddings").WithTags("openai").WithSummary("OpenAI embeddings")
            .WithJsonBody<OpenAiEmbeddingRequest>().Produces<OpenAiEmbeddingList>();

        // Stopped, not Stopping: the models are freed after the server has drained (or cancelled) its requests.
        app.Lifetime.ApplicationStopped.Register(() => app.Services.GetRequiredService<EngineHost>().Dispose());
    }
}

/// <summary>
/// Owns the engine for the host: reports the default model on /health and STATUS= (missing → degraded with the
/// command that fetches it; the state follows the files, no restart needed) and preloads it at start.
/// </summary>
internal sealed class EngineHost(OllamaEngine completion, ServiceContext<OllamaConfig> ctx, ILogger log) : IPreloadable, IDisposable
{
    private Timer? _timer;
    public OllamaEngine Completion { get; } = completion;

    public string DefaultName => Completion.Scheduler.DefaultModel;

    public void Refresh()
    {
        _timer ??= new Timer(_ => Refresh(), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
        var present = Completion.Registry.Find(DefaultName) is not null;
        var current = ctx.State.Models.FirstOrDefault(m => m.Name == DefaultName);
        if (!present)
        {
            var manifest = OllamaModels.Find(DefaultName, Completion.Registry.Backend);
            var fix = manifest is not null ? ctx.PullCommand(manifest.Name) : $"hailo-ollama: create {DefaultName} (POST /api/create) or set ollama.default_model";
            if (current?.State != ModelState.Missing)
                ctx.State.SetModel(new ModelStatus(DefaultName, ModelState.Missing, $"no {Completion.Registry.Backend.Name().ToUpperInvariant()} model file for {DefaultName} in {ctx.Config.Models.Dir}", fix));
        }
        else if (current is null || current.State == ModelState.Missing)
        {
            ctx.State.SetModel(new ModelStatus(DefaultName, Completion.Scheduler.Loaded.Any(r => r.Name == DefaultName) ? ModelState.Ready : ModelState.Idle));
        }
    }

    public async Task PreloadAsync(CancellationToken ct)
    {
        Refresh();
        var m = Completion.Registry.Find(DefaultName);
        if (m is null) return;
        try
        {
            using var lease = await Completion.Scheduler.AcquireAsync(m, ctx.Config.Ollama.NumCtx, null, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is GenAiException or OperationCanceledException)
        {
            log.LogWarning("preloading {Model} failed: {Message}", DefaultName, e.Message);
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        Completion.Scheduler.Dispose();
    }
}
