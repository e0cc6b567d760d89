using System.Text.Json.Serialization;
using Hailo.Hosting.Config;

namespace HailoOcr;

/// <summary>hailo-ocr's config: the shared keys plus the `ocr` section.</summary>
public sealed class OcrConfig : ServiceConfig
{
    public OcrSection Ocr { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Ocr.Validate(errors);
    }
}

public sealed class OcrSection() : ImageModelChoice("ocr", () => OcrModels.Catalog, OcrModels.CpuDefault, OcrModels.NpuDefault,
    Hailo.Media.ImageDecoder.DefaultMaxPixels, maxAllowed: 500_000_000)
{
    /// <summary>Languages used when a request names none.</summary>
    public List<string> Languages { get; set; } = ["en"];
    /// <summary>Binarisation threshold of the detection probability map.</summary>
    public double DetThreshold { get; set; } = 0.3;
    /// <summary>Minimum mean probability inside a detected box.</summary>
    public double BoxThreshold { get; set; } = 0.6;
    /// <summary>
    /// How far boxes are expanded around the detected text (area·ratio/perimeter). 2.0 rather than PaddleOCR's
    /// 1.5: on tighter crops the PP-OCRv4 recogniser drops the spaces between words.
    /// </summary>
    public double UnclipRatio { get; set; } = 2.0;
    /// <summary>The longer image side is scaled down to at most this many pixels for detection.</summary>
    public int DetLimitSide { get; set; } = 960;
    /// <summary>Lines recognised with a lower confidence are dropped.</summary>
    public double RecThreshold { get; set; } = 0.5;
    /// <summary>Lines recognised per model call.</summary>
    public int RecBatchSize { get; set; } = 6;
    /// <summary>Run the text-direction classifier (turns upside-down lines) unless a request says otherwise.</summary>
    public bool UseAngleCls { get; set; }

    internal void Validate(ConfigErrors errors)
    {
        if (Languages.Count == 0) errors.Add("ocr.languages", "must name at least one language");
        foreach (var l in Languages)
            if (!OcrLanguages.IsSupported(l)) errors.Add("ocr.languages", $"'{l}' is not supported ({OcrLanguages.Describe()})");
        ValidateModels(errors);
        if (DetThreshold is <= 0 or >= 1) errors.Add("ocr.det_threshold", "must be between 0 and 1");
        if (BoxThreshold is <= 0 or >= 1) errors.Add("ocr.box_threshold", "must be between 0 and 1");
        if (UnclipRatio is < 0.5 or > 5) errors.Add("ocr.unclip_ratio", "must be between 0.5 and 5");
        if (DetLimitSide is < 32 or > 4096) errors.Add("ocr.det_limit_side", "must be between 32 and 4096");
        if (RecThreshold is < 0 or >= 1) errors.Add("ocr.rec_threshold", "must be between 0 and 1");
        if (RecBatchSize is < 1 or > 64) errors.Add("ocr.rec_batch_size", "must be between 1 and 64");
        ValidateMaxImagePixels(errors);
    }
}

/// <summary>Languages the OCR models read, and the names clients may use for them.</summary>
public static class OcrLanguages
{
    // The PP-OCRv4 "ch" recogniser reads Chinese and English (Latin letters, digits, punctuation).
    private static readonly string[] Supported = ["en", "zh", "ch"];

    public static bool IsSupported(string code) => Array.IndexOf(Supported, Normalize(code)) >= 0;
    public static string Normalize(string code) => code.Trim().ToLowerInvariant() switch
    {
        "english" or "eng" or "en-us" or "en-gb" => "en",
        "chinese" or "zh-cn" or "zh-hans" or "chi_sim" => "zh",
        var c => c,
    };
    public static string Describe() => "supported: en, zh (ch)";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OcrConfig))]
internal sealed partial class OcrConfigJson : JsonSerializerContext;
