using System.Text.Json.Serialization;
using Hailo.GenAI;
using Hailo.Hosting.Config;

namespace HailoOllama;

/// <summary>hailo-ollama's config: the shared keys plus the `ollama` section.</summary>
public sealed class OllamaConfig : ServiceConfig
{
    public OllamaSection Ollama { get; set; } = new();
    /// <summary>Taking turns with hailo-vision for the NPU's one KV cache (over D-Bus); used on the NPU only.</summary>
    public Hailo.GenAI.Http.KvCacheSection KvCache { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Ollama.Validate(errors);
        KvCache.Validate(errors);
    }
}

public sealed class OllamaSection
{
    /// <summary>The model /health reports and start-up preloads (an Ollama name).</summary>
    public string DefaultModel { get; set; } = OllamaModels.DefaultModel;
    /// <summary>How long a model stays loaded after its last request when the request names no keep_alive.</summary>
    public string KeepAlive { get; set; } = "5m";
    /// <summary>Models loaded at once (CPU); the least recently used idle one is unloaded to make room. The NPU holds one.</summary>
    public int MaxLoadedModels { get; set; } = 2;
    /// <summary>Context length (tokens) when a request sets no num_ctx.</summary>
    public int NumCtx { get; set; } = 4096;
    /// <summary>Largest num_ctx a request may ask for; more is refused with 400 (memory of the KV cache).</summary>
    public int MaxNumCtx { get; set; } = 32768;
    /// <summary>Tokens evaluated per llama.cpp batch while reading the prompt.</summary>
    public int NumBatch { get; set; } = 512;
    /// <summary>Most messages a chat request may carry; more is refused with 400 (each dropped turn costs a render).</summary>
    public int MaxMessages { get; set; } = 4096;
    /// <summary>Largest model file accepted by POST /api/blobs, in MiB.</summary>
    public int MaxBlobMb { get; set; } = 8192;
    /// <summary>
    /// Seconds a request waits for its model's turn (one generation at a time) before 503 + Retry-After; 0 waits
    /// for ever, as Ollama does.
    /// </summary>
    public int MaxQueueWaitSeconds { get; set; } = 30;
    /// <summary>The Ollama version /api/version reports (clients check it for features).</summary>
    public string ApiVersion { get; set; } = "0.12.6";

    internal void Validate(ConfigErrors errors)
    {
        if (!ModelName.TryNormalise(DefaultModel, out _)) errors.Add("ollama.default_model", $"'{DefaultModel}' is not a model name (name or name:tag)");
        if (!KeepAliveValue.TryParse(KeepAlive, out _)) errors.Add("ollama.keep_alive", $"'{KeepAlive}' is not a duration (e.g. 5m, 300s, 1h, -1 for ever, 0)");
        if (MaxLoadedModels is < 1 or > 16) errors.Add("ollama.max_loaded_models", "must be between 1 and 16");
        if (NumCtx is < 64 or > 1 << 20) errors.Add("ollama.num_ctx", "must be between 64 and 1048576");
        if (MaxNumCtx < NumCtx || MaxNumCtx > 1 << 20) errors.Add("ollama.max_num_ctx", "must be at least ollama.num_ctx and at most 1048576");
        if (NumBatch is < 1 or > 8192) errors.Add("ollama.num_batch", "must be between 1 and 8192");
        if (MaxMessages is < 1 or > 1_000_000) errors.Add("ollama.max_messages", "must be between 1 and 1000000");
        if (MaxBlobMb is < 1 or > 1 << 20) errors.Add("ollama.max_blob_mb", "must be between 1 and 1048576");
        if (MaxQueueWaitSeconds is < 0 or > 86400) errors.Add("ollama.max_queue_wait_seconds", "must be between 0 (wait for ever) and 86400");
        if (string.IsNullOrWhiteSpace(ApiVersion)) errors.Add("ollama.api_version", "must not be empty");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OllamaConfig))]
internal sealed partial class OllamaConfigJson : JsonSerializerContext;
