using System.Text.Json.Serialization;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;

namespace HailoOcr.Api;

/// <summary>POST /v1/ocr/extract as JSON. `image` holds base64 or a data URL.</summary>
public sealed record OcrRequest
{
    /// <summary>The image: base64 or a data URL (data:image/png;base64,...).</summary>
    public string? Image { get; init; }
    /// <summary>Languages to read (en, zh); defaults to ocr.languages.</summary>
    public List<string>? Languages { get; init; }
    /// <summary>Turn upside-down lines before reading them (text direction classifier).</summary>
    public bool? UseAngleCls { get; init; }
    public double? DetThreshold { get; init; }
    public double? BoxThreshold { get; init; }
    /// <summary>Drop lines read with lower confidence.</summary>
    public double? RecThreshold { get; init; }
}

/// <summary>The text found in an image, line by line in reading order.</summary>
public sealed record OcrResponse(
    bool Success,
    string Text,
    IReadOnlyList<OcrRegion> Regions,
    IReadOnlyList<string> LanguagesDetected,
    OcrStatistics Statistics,
    OcrPerformance Performance,
    OcrImageInfo Image,
    OcrModelInfo Model);

/// <summary>
/// One text line: its quadrilateral [[x,y] × 4: top-left, top-right, bottom-right, bottom-left] in image
/// pixels, text, recognition confidence, detection score, reading order and visual line number.
/// </summary>
public sealed record OcrRegion(string Text, double Confidence, double[][] Bbox, string Type, int Order, int Line, double DetectionScore, int Angle);

public sealed record OcrStatistics(int TotalRegions, double AverageConfidence);

/// <summary>Milliseconds: detection (model + post-processing), recognition (crops, classifier, model), model-only and total.</summary>
public sealed record OcrPerformance(double DecodeTimeMs, double DetectionTimeMs, double RecognitionTimeMs, double ModelTimeMs, double TotalTimeMs);

public sealed record OcrImageInfo(int Width, int Height);

public sealed record OcrModelInfo(string Name, string Backend, string DetectionModel, string RecognitionModel);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(OcrRequest))]
[JsonSerializable(typeof(OcrResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class OcrJson : JsonSerializerContext;
