using System.Text.Json.Serialization;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;

namespace HailoPose.Api;

/// <summary>POST /v1/pose/detect as JSON. `image` holds base64 or a data URL; every other field is optional.</summary>
public sealed record PoseRequest
{
    /// <summary>The image: base64 or a data URL (data:image/jpeg;base64,...).</summary>
    public string? Image { get; init; }
    /// <summary>People scoring lower are dropped (default pose.confidence_threshold).</summary>
    public double? ConfidenceThreshold { get; init; }
    /// <summary>NMS IoU above which the weaker of two overlapping people is dropped.</summary>
    public double? IouThreshold { get; init; }
    /// <summary>At most this many people (1-300).</summary>
    public int? MaxDetections { get; init; }
    /// <summary>Limbs are listed when both keypoints are at least this confident.</summary>
    public double? KeypointThreshold { get; init; }
    /// <summary>Include each pose's skeleton (default pose.skeleton).</summary>
    public bool? Skeleton { get; init; }
    /// <summary>json (default), coco (COCO keypoint results), png or jpeg (the annotated image as the response body).</summary>
    public string? Format { get; init; }
    /// <summary>none (default), png or jpeg: add the annotated image to the JSON answer as base64.</summary>
    public string? Annotate { get; init; }
    /// <summary>image_id written into COCO results (default 0).</summary>
    public long? ImageId { get; init; }
}

/// <summary>The people in an image (the earlier implementation's shape, plus box, performance and model).</summary>
public sealed record PoseResponse(
    IReadOnlyList<PoseEntry> Poses,
    int Count,
    int InferenceTimeMs,
    PoseImageSize ImageSize,
    PosePerformance Performance,
    PoseModelInfo Model,
    byte[]? AnnotatedImage = null,
    string? AnnotatedImageFormat = null);

/// <summary>
/// One person: bbox as integer pixels (x, y, width, height) like the earlier API, the same box as floats
/// [x1, y1, x2, y2], the detection score, all 17 keypoints and the limbs between confident keypoints.
/// </summary>
public sealed record PoseEntry(
    int PersonId,
    PoseBbox Bbox,
    double BboxConfidence,
    double[] Box,
    IReadOnlyList<PoseKeypoint> Keypoints,
    IReadOnlyList<PoseLimb>? Skeleton);

public sealed record PoseBbox(int X, int Y, int Width, int Height);

/// <summary>A COCO keypoint at integer image pixels, with its visibility probability (0-1).</summary>
public sealed record PoseKeypoint(string Name, int X, int Y, double Confidence);

/// <summary>A limb of the COCO skeleton by keypoint names and 0-based indices.</summary>
public sealed record PoseLimb(
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] string To,
    int FromIndex,
    int ToIndex);

public sealed record PoseImageSize(int Width, int Height);

/// <summary>Milliseconds: image decoding, letterbox, model, decoding + NMS, drawing, total.</summary>
public sealed record PosePerformance(double DecodeTimeMs, double PreprocessTimeMs, double ModelTimeMs, double PostprocessTimeMs, double AnnotateTimeMs, double TotalTimeMs);

public sealed record PoseModelInfo(string Name, string Backend, string File);

/// <summary>One COCO keypoint detection result (format=coco): keypoints [x1, y1, v1, …] with v the visibility probability.</summary>
public sealed record CocoKeypointResult(long ImageId, int CategoryId, double[] Keypoints, double Score, double[] Bbox);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(PoseRequest))]
[JsonSerializable(typeof(PoseResponse))]
[JsonSerializable(typeof(CocoKeypointResult[]))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class PoseJson : JsonSerializerContext;
