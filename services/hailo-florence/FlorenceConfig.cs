using System.Text.Json.Serialization;
using Hailo.Hosting.Config;

namespace HailoFlorence;

/// <summary>hailo-florence's config: the shared keys plus the `florence` section.</summary>
public sealed class FlorenceConfig : ServiceConfig
{
    public FlorenceSection Florence { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Florence.Validate(errors);
    }
}

public sealed class FlorenceSection() : ImageModelChoice("florence", () => FlorenceModels.Catalog, FlorenceModels.CpuDefault, FlorenceModels.NpuName,
    Hailo.Media.ImageDecoder.DefaultMaxPixels, maxAllowed: 500_000_000)
{
    /// <summary>Tokens generated at most unless the request says (max_length).</summary>
    public int MaxLength { get; set; } = 100;
    /// <summary>Tokens generated at least unless the request says (min_length): the end token is held back until then.</summary>
    public int MinLength { get; set; } = 1;
    /// <summary>0: greedy (argmax, what Florence-2 is evaluated with); above 0: sampling at this temperature.</summary>
    public double Temperature { get; set; }
    /// <summary>Beams of the search (1: greedy, or sampling with a temperature); Florence-2's own generation config uses 3.</summary>
    public int NumBeams { get; set; } = 1;
    /// <summary>No n-gram of this size is generated twice (Florence-2's generation config: 3); 0 turns it off.</summary>
    public int NoRepeatNgramSize { get; set; } = 3;
    /// <summary>The task /api/generate runs when the prompt names none (Florence-2 base does not follow free-form instructions).</summary>
    public string OllamaTask { get; set; } = "<MORE_DETAILED_CAPTION>";
    /// <summary>The model name /api/tags lists and /api/generate answers to.</summary>
    public string OllamaModelName { get; set; } = "florence-2";

    internal void Validate(ConfigErrors errors)
    {
        if (!FlorenceModels.Catalog.Any(m => m.Name == CpuModel && m.Backend == Hailo.Core.Backend.Cpu))
            errors.Add("florence.cpu_model", $"'{CpuModel}' is not a known CPU model ({string.Join(", ", FlorenceModels.Catalog.Where(m => m.Backend == Hailo.Core.Backend.Cpu).Select(m => m.Name))})");
        if (MaxLength is < 1 or > FlorenceLimits.MaxLength) errors.Add("florence.max_length", $"must be between 1 and {FlorenceLimits.MaxLength}");
        if (MinLength < 0 || MinLength > MaxLength) errors.Add("florence.min_length", "must be between 0 and max_length");
        if (!(Temperature >= 0 && Temperature <= FlorenceLimits.MaxTemperature)) errors.Add("florence.temperature", $"must be between 0 and {FlorenceLimits.MaxTemperature}");
        if (NumBeams is < 1 or > FlorenceLimits.MaxBeams) errors.Add("florence.num_beams", $"must be between 1 and {FlorenceLimits.MaxBeams}");
        if (NoRepeatNgramSize is < 0 or > 16) errors.Add("florence.no_repeat_ngram_size", "must be between 0 and 16");
        if (FlorenceTasks.Find(OllamaTask) is null) errors.Add("florence.ollama_task", $"'{OllamaTask}' is not a Florence-2 task ({string.Join(", ", FlorenceTasks.All.Select(t => t.Token))})");
        if (string.IsNullOrWhiteSpace(OllamaModelName)) errors.Add("florence.ollama_model_name", "must not be empty");
        ValidateMaxImagePixels(errors);
    }
}

/// <summary>Bounds requests and config share.</summary>
public static class FlorenceLimits
{
    /// <summary>Florence-2's decoder has 1024 positions.</summary>
    public const int MaxLength = 1024;
    public const double MaxTemperature = 2;
    public const int MaxBeams = 8;
    /// <summary>Longest question or grounding text (characters); Florence's encoder reads 1024 tokens with the image's 577.</summary>
    public const int MaxTextChars = 2000;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(FlorenceConfig))]
internal sealed partial class FlorenceConfigJson : JsonSerializerContext;
