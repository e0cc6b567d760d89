using Hailo.Core;
using Hailo.GenAI;
using Hailo.GenAI.Chat;
using HailoOllama.Api;

namespace HailoOllama.Engine;

/// <summary>The chat templates of this service's models: from their records and GGUF files.</summary>
internal sealed class RegistryTemplates(ModelRegistry registry) : IChatTemplates
{
    public ChatTemplate? Template(IModelFile model) => registry.Template((LocalModel)model);

    public bool HasNoTemplate(IModelFile model) =>
        model.Backend == Backend.Cpu && registry.Template((LocalModel)model) is null && string.IsNullOrEmpty(registry.Gguf((LocalModel)model)?.ChatTemplate);
}

/// <summary>
/// The completion engine as the endpoints use it: with the model registry and the config, and the engine's
/// <see cref="GenAiException"/>s turned into the API family's errors (<see cref="Err.From"/>).
/// </summary>
internal sealed class OllamaEngine(CompletionEngine completion, ModelRegistry registry, OllamaConfig config)
{
    public CompletionEngine Completion => completion;
    public Scheduler Scheduler => completion.Scheduler;
    public ModelRegistry Registry => registry;
    public OllamaConfig Config => config;

    public static CompletionLimits Limits(OllamaConfig config) => new(config.Ollama.MaxMessages, config.Ollama.NumCtx, "ollama.max_messages");

    public int NumCtx(SamplingOptions o) => completion.NumCtx(o);

    public bool HasNoTemplate(LocalModel m) => completion.Templates.HasNoTemplate(m);

    public async Task<Lease> AcquireAsync(LocalModel model, int numCtx, TimeSpan? keepAlive, CancellationToken ct)
    {
        try
        {
            return await completion.AcquireAsync(model, numCtx, keepAlive, ct).ConfigureAwait(false);
        }
        catch (GenAiException e)
        {
            throw Err.From(e);
        }
    }

    public async Task RunAsync(CompletionJob job, ICompletionSink sink, long startTimestamp, CancellationToken ct)
    {
        try
        {
            await completion.RunAsync(job, sink, startTimestamp, ct).ConfigureAwait(false);
        }
        catch (GenAiException e)
        {
            throw Err.From(e);
        }
    }
}
