using System.Text.Json.Serialization;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;

namespace HailoFlorence.Api;

/// <summary>The generation options every endpoint takes (JSON fields, form fields or query parameters).</summary>
public interface IGenerationFields
{
    int? MaxLength { get; }
    int? MinLength { get; }
    double? Temperature { get; }
}

/// <summary>POST /v1/caption as JSON: the image (base64 or a data URL) and the generation options.</summary>
public sealed record CaptionRequest : IGenerationFields
{
    public string? Image { get; init; }
    public int? MaxLength { get; init; }
    public int? MinLength { get; init; }
    public double? Temperature { get; init; }
    /// <summary>caption (default), detailed or more_detailed: Florence's three caption tasks.</summary>
    public string? Detail { get; init; }
}

/// <summary>POST /v1/vqa as JSON: the image, the question, and the generation options.</summary>
public sealed record VqaRequest : IGenerationFields
{
    public string? Image { get; init; }
    public string? Question { get; init; }
    public int? MaxLength { get; init; }
    public int? MinLength { get; init; }
    public double? Temperature { get; init; }
}

/// <summary>POST /v1/florence/{task} as JSON: the image, the task's text input (grounding, open-vocabulary detection, region tasks), options.</summary>
public sealed record TaskRequest : IGenerationFields
{
    public string? Image { get; init; }
    public string? Text { get; init; }
    public int? MaxLength { get; init; }
    public int? MinLength { get; init; }
    public double? Temperature { get; init; }
    /// <summary>Also answer the image with the task's boxes or quadrilaterals drawn on it (a JPEG data URL).</summary>
    public bool? Annotate { get; init; }
}

/// <summary>The predecessor's caption answer (token_count: tokens generated), with the backend.</summary>
public sealed record CaptionResponse(string Caption, int InferenceTimeMs, string Model, int TokenCount, string Backend, string Task);

/// <summary>The predecessor's VQA answer, with the question as the model read it.</summary>
public sealed record VqaResponse(string Answer, string Question, int InferenceTimeMs, string Model, int TokenCount, string Backend);

/// <summary>A box in image pixels [x1, y1, x2, y2] with its label.</summary>
public sealed record BoxEntry(string Label, double[] Bbox);

/// <summary>A text region as hailo-ocr has them: the text and its quadrilateral [[x, y] × 4] in image pixels.</summary>
public sealed record RegionEntry(string Text, double[][] Bbox);

public sealed record ImageSize(int Width, int Height);

/// <summary>Timings of one generation in milliseconds; steps: decoder runs.</summary>
public sealed record GenerationTimings(double DecodeMs, double PreprocessMs, double VisionMs, double EncoderMs, double DecoderMs, int Steps, double TotalMs);

/// <summary>
/// A task's structured result: text (special and location tokens removed), bboxes for the box tasks, regions
/// (quadrilaterals) for OCR with regions, and raw: the generated text with its location tokens.
/// </summary>
public sealed record TaskResponse(string Task, string Prompt, string Text, BoxEntry[]? Bboxes, RegionEntry[]? Regions, string Raw,
    ImageSize Image, int TokenCount, bool Truncated, string Model, string Backend, GenerationTimings Performance, string? AnnotatedImage = null);

/// <summary>GET /v1/tasks: the tasks and what each returns.</summary>
public sealed record TaskInfo(string Name, string Token, string Prompt, bool TakesText, string Returns);
public sealed record TaskList(TaskInfo[] Tasks);

/// <summary>The predecessor's florence error body: {"error": code, "message", "status"}.</summary>
public sealed record FlorenceError(string Error, string Message, int Status);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CaptionRequest))]
[JsonSerializable(typeof(VqaRequest))]
[JsonSerializable(typeof(TaskRequest))]
[JsonSerializable(typeof(CaptionResponse))]
[JsonSerializable(typeof(VqaResponse))]
[JsonSerializable(typeof(TaskResponse))]
[JsonSerializable(typeof(TaskList))]
[JsonSerializable(typeof(FlorenceError))]
[JsonSerializable(typeof(ModelList))]
internal sealed partial class FlorenceJson : JsonSerializerContext;
