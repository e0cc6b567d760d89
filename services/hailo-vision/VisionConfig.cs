using System.Text.Json.Serialization;
using Hailo.GenAI;
using Hailo.Hosting.Config;

namespace HailoVision;

/// <summary>hailo-vision's config: the shared keys plus the `vision` and `kv_cache` sections.</summary>
public sealed class VisionConfig : ServiceConfig
{
    public VisionSection Vision { get; set; } = new();
    /// <summary>Taking turns with hailo-ollama for the NPU's one KV cache (over D-Bus); used on the NPU only.</summary>
    public Hailo.GenAI.Http.KvCacheSection KvCache { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Vision.Validate(errors);
        KvCache.Validate(errors);
    }
}

public sealed class VisionSection
{
    /// <summary>The model /health reports and start-up preloads.</summary>
    public string DefaultModel { get; set; } = VisionModels.DefaultModel;
    /// <summary>The model on the CPU (device: cpu, or auto without a Hailo-10H): a catalog GGUF with its projector.</summary>
    public string CpuModel { get; set; } = VisionModels.DefaultCpuModel;
    /// <summary>How long a model stays loaded after its last request when the request names no keep_alive.</summary>
    public string KeepAlive { get; set; } = "5m";
    /// <summary>Context length (tokens) when a request sets no num_ctx (the NPU model's own context bounds it).</summary>
    public int NumCtx { get; set; } = 4096;
    /// <summary>Largest num_ctx a request may ask for.</summary>
    public int MaxNumCtx { get; set; } = 32768;
    /// <summary>Most messages a chat request may carry.</summary>
    public int MaxMessages { get; set; } = 256;
    /// <summary>Most images in one request (all its messages together); more gets 400.</summary>
    public int MaxImages { get; set; } = 8;
    /// <summary>Largest image (encoded, after base64), in MiB.</summary>
    public int MaxImageMb { get; set; } = 20;
    /// <summary>Largest image in pixels (width × height, read from the header before decoding).</summary>
    public long MaxImagePixels { get; set; } = 40_000_000;
    /// <summary>Reply length of /v1/vision/analyze when the request sets no max_tokens.</summary>
    public int AnalyzeMaxTokens { get; set; } = 200;
    /// <summary>The system prompt of /v1/vision/analyze.</summary>
    public string AnalyzeSystemPrompt { get; set; } = "You are a helpful assistant that analyzes images and answers questions about them.";
    /// <summary>The Ollama version /api/version reports.</summary>
    public string ApiVersion { get; set; } = "0.12.6";
    /// <summary>
    /// With <c>device: auto</c> on the NPU: when the NPU's KV cache is held by another service and not handed over
    /// within kv_cache.wait_seconds, answer on the CPU with vision.cpu_model if its files are present (else 503).
    /// </summary>
    public bool FallbackToCpu { get; set; }
    /// <summary>Seconds a request waits for the model's turn before 503 + Retry-After; 0 waits for ever.</summary>
    public int MaxQueueWaitSeconds { get; set; } = 30;
    /// <summary>Fetching http(s) image URLs on a client's behalf: off unless <see cref="ImageUrlsSection.Allow"/> lists hosts.</summary>
    public ImageUrlsSection ImageUrls { get; set; } = new();

    internal void Validate(ConfigErrors errors)
    {
        if (!ModelName.TryNormalise(DefaultModel, out _)) errors.Add("vision.default_model", $"'{DefaultModel}' is not a model name (name or name:tag)");
        if (VisionModels.Find(CpuModel, Hailo.Core.Backend.Cpu) is null)
            errors.Add("vision.cpu_model", $"'{CpuModel}' is not a CPU vision model of the catalog ({string.Join(", ", VisionModels.Catalog.Where(m => m.Backend == Hailo.Core.Backend.Cpu).Select(m => m.Name))})");
        if (!KeepAliveValue.TryParse(KeepAlive, out _)) errors.Add("vision.keep_alive", $"'{KeepAlive}' is not a duration (e.g. 5m, 300s, 1h, -1 for ever, 0)");
        if (NumCtx is < 64 or > 1 << 20) errors.Add("vision.num_ctx", "must be between 64 and 1048576");
        if (MaxNumCtx < NumCtx || MaxNumCtx > 1 << 20) errors.Add("vision.max_num_ctx", "must be at least vision.num_ctx and at most 1048576");
        if (MaxMessages is < 1 or > 100_000) errors.Add("vision.max_messages", "must be between 1 and 100000");
        if (MaxImages is < 1 or > 64) errors.Add("vision.max_images", "must be between 1 and 64");
        if (MaxImageMb is < 1 or > 512) errors.Add("vision.max_image_mb", "must be between 1 and 512");
        if (MaxImagePixels is < 1 or > 1_000_000_000) errors.Add("vision.max_image_pixels", "must be between 1 and 1000000000");
        if (AnalyzeMaxTokens is < 1 or > 32768) errors.Add("vision.analyze_max_tokens", "must be between 1 and 32768");
        if (string.IsNullOrWhiteSpace(ApiVersion)) errors.Add("vision.api_version", "must not be empty");
        if (MaxQueueWaitSeconds is < 0 or > 86400) errors.Add("vision.max_queue_wait_seconds", "must be between 0 (wait for ever) and 86400");
        ImageUrls.Validate(errors);
    }
}

/// <summary>
/// <c>vision.image_urls</c>: which http(s) image URLs the service fetches. Empty <see cref="Allow"/> (the default):
/// none, every URL is a 400.
/// </summary>
public sealed class ImageUrlsSection
{
    /// <summary>
    /// Hosts (<c>images.example.com</c>, <c>cam.lan:8080</c>, <c>192.168.1.20</c>) or URL prefixes
    /// (<c>https://images.example.com/public/</c>) a URL must match exactly, after every redirect too. A host name
    /// must resolve to public addresses only; a private or loopback address is reached only through an entry that
    /// names it as an IP address.
    /// </summary>
    public List<string> Allow { get; set; } = [];
    /// <summary>Largest fetched image in bytes (also bounded by vision.max_image_mb).</summary>
    public long MaxBytes { get; set; } = 10L << 20;
    /// <summary>Time limit of one fetch, redirects and body included, in seconds.</summary>
    public double TimeoutS { get; set; } = 10;
    /// <summary>Most redirects one fetch follows.</summary>
    public int MaxRedirects { get; set; } = 3;

    internal void Validate(ConfigErrors errors)
    {
        foreach (var a in Allow)
            if (!Engine.ImageUrlRule.TryParse(a, out _, out var why)) errors.Add("vision.image_urls.allow", $"'{a}': {why}");
        if (MaxBytes is < 1 or > 512L << 20) errors.Add("vision.image_urls.max_bytes", "must be between 1 and 536870912");
        if (TimeoutS is < 0.1 or > 300) errors.Add("vision.image_urls.timeout_s", "must be between 0.1 and 300");
        if (MaxRedirects is < 0 or > 20) errors.Add("vision.image_urls.max_redirects", "must be between 0 and 20");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(VisionConfig))]
internal sealed partial class VisionConfigJson : JsonSerializerContext;
