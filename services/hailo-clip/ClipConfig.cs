using System.Text.Json.Serialization;
using Hailo.Hosting.Config;

namespace HailoClip;

/// <summary>hailo-clip's config: the shared keys plus the `clip` and `index` sections.</summary>
public sealed class ClipConfig : ServiceConfig
{
    public ClipSection Clip { get; set; } = new();
    public IndexSection Index { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Clip.Validate(errors);
        Index.Validate(errors);
    }
}

public sealed class ClipSection() : ImageModelChoice("clip", () => ClipModels.Catalog, ClipModels.CpuDefault, ClipModels.NpuDefault,
    Hailo.Media.ImageDecoder.DefaultMaxPixels, maxAllowed: 500_000_000)
{
    /// <summary>Classify: softmax over the prompts' scaled similarities (with more than one prompt); false gives cosine similarities.</summary>
    public bool ApplySoftmax { get; set; } = true;
    /// <summary>Classify: the softmax's logit scale (CLIP's learned exp(4.6052) = 100).</summary>
    public double LogitScale { get; set; } = 100;
    /// <summary>Classify: how many prompts come back unless the request says.</summary>
    public int TopK { get; set; } = 3;
    /// <summary>At most this many prompts in one classify request.</summary>
    public int MaxPrompts { get; set; } = 256;
    /// <summary>At most this many texts or images in one embedding request.</summary>
    public int MaxBatch { get; set; } = 32;
    /// <summary>
    /// Decode a large JPEG at a reduced DCT scale (1/8 … 7/8: the smallest whose shortest side still covers 224)
    /// before the bicubic resize: several times faster, and close to, but not bit-identical with, decoding the whole
    /// image as Pillow does (the README gives the measured difference). False decodes every image whole.
    /// </summary>
    public bool ReducedDecode { get; set; } = true;
    /// <summary>Text embeddings kept (least recently used dropped first); 0 turns the cache off.</summary>
    public int TextCacheEntries { get; set; } = 4096;

    internal void Validate(ConfigErrors errors)
    {
        ValidateModels(errors);
        if (!(LogitScale > 0 && LogitScale <= 1000)) errors.Add("clip.logit_scale", "must be greater than 0 and at most 1000");
        if (TopK is < 1 or > ClipLimits.MaxPrompts) errors.Add("clip.top_k", $"must be between 1 and {ClipLimits.MaxPrompts}");
        if (MaxPrompts is < 1 or > ClipLimits.MaxPrompts) errors.Add("clip.max_prompts", $"must be between 1 and {ClipLimits.MaxPrompts}");
        if (MaxBatch is < 1 or > ClipLimits.MaxBatch) errors.Add("clip.max_batch", $"must be between 1 and {ClipLimits.MaxBatch}");
        if (TextCacheEntries is < 0 or > ClipLimits.MaxCacheEntries) errors.Add("clip.text_cache_entries", $"must be between 0 and {ClipLimits.MaxCacheEntries}");
        ValidateMaxImagePixels(errors);
    }
}

/// <summary>The image index: where it is kept and how large it may grow.</summary>
public sealed class IndexSection
{
    /// <summary>The SQLite file of the image index (created on first use).</summary>
    public string Path { get; set; } = "/var/lib/hailo-clip/index.sqlite";
    /// <summary>At most this many images in the index; adding more is refused.</summary>
    public int MaxItems { get; set; } = 100_000;

    internal void Validate(ConfigErrors errors)
    {
        if (string.IsNullOrWhiteSpace(Path)) errors.Add("index.path", "must name a file");
        if (MaxItems is < 1 or > ClipLimits.MaxIndexItems) errors.Add("index.max_items", $"must be between 1 and {ClipLimits.MaxIndexItems}");
    }
}

/// <summary>Bounds requests and config share.</summary>
public static class ClipLimits
{
    public const int MaxPrompts = 4096;
    public const int MaxBatch = 256;
    public const int MaxCacheEntries = 1_000_000;
    public const int MaxIndexItems = 10_000_000;
    /// <summary>Longest text accepted (characters); CLIP reads 75 tokens of it anyway.</summary>
    public const int MaxTextChars = 10_000;
    public const int MaxIdChars = 256;
    public const int MaxMetadataBytes = 16 * 1024;
    public const int MaxSearchResults = 1000;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ClipConfig))]
internal sealed partial class ClipConfigJson : JsonSerializerContext;
