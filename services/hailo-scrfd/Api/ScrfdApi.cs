using System.Text.Json.Serialization;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;

namespace HailoScrfd.Api;

/// <summary>POST /v1/detect as JSON. `image` holds base64 or a data URL; every other field is optional.</summary>
public sealed record DetectRequest
{
    /// <summary>The image: base64 or a data URL (data:image/jpeg;base64,...).</summary>
    public string? Image { get; init; }
    /// <summary>Faces scoring lower are dropped (default scrfd.conf_threshold).</summary>
    public double? ConfThreshold { get; init; }
    /// <summary>NMS IoU above which the weaker of two overlapping faces is dropped.</summary>
    public double? NmsThreshold { get; init; }
    /// <summary>At most this many faces (1-500).</summary>
    public int? MaxFaces { get; init; }
    /// <summary>Faces smaller than this many pixels (width or height) are dropped.</summary>
    public int? MinFaceSize { get; init; }
    /// <summary>Include the five named landmarks (default scrfd.return_landmarks).</summary>
    public bool? ReturnLandmarks { get; init; }
    /// <summary>Add the image with boxes and landmarks drawn, as a JPEG data URL.</summary>
    public bool? Annotate { get; init; }
    /// <summary>json (default) or coco (COCO keypoint detection results, five keypoints).</summary>
    public string? Format { get; init; }
    /// <summary>image_id written into COCO results (default 0).</summary>
    public long? ImageId { get; init; }
}

/// <summary>POST /v1/align as JSON.</summary>
public sealed record AlignRequest
{
    public string? Image { get; init; }
    public double? ConfThreshold { get; init; }
    public double? NmsThreshold { get; init; }
    public int? MaxFaces { get; init; }
    public int? MinFaceSize { get; init; }
    /// <summary>jpeg (default scrfd.aligned_format) or png: the encoding of each 112×112 crop.</summary>
    public string? Format { get; init; }
}

/// <summary>One landmark by name ("left_eye", "right_eye", "nose", "left_mouth", "right_mouth"), in image pixels.</summary>
public sealed record FaceLandmark(string Type, double X, double Y);

/// <summary>
/// One face: bbox [x, y, width, height] like the earlier API, the same box as corners [x1, y1, x2, y2], the
/// detection score and the five landmarks (absent when return_landmarks is false).
/// </summary>
public sealed record FaceEntry(int FaceId, double[] Bbox, double[] Box, double Confidence, IReadOnlyList<FaceLandmark>? Landmarks);

public sealed record ImageSize(int Width, int Height);

/// <summary>Milliseconds: image decoding, preparation, models, decoding + NMS (+ warps), drawing, total.</summary>
public sealed record ScrfdPerformance(double DecodeTimeMs, double PreprocessTimeMs, double ModelTimeMs, double PostprocessTimeMs, double AnnotateTimeMs, double TotalTimeMs);

/// <summary>The faces in an image (the earlier API's fields first).</summary>
public sealed record DetectResponse(
    IReadOnlyList<FaceEntry> Faces,
    int NumFaces,
    int InferenceTimeMs,
    string Model,
    string Backend,
    string ModelFile,
    ImageSize ImageSize,
    ScrfdPerformance Performance,
    string? AnnotatedImage = null);

/// <summary>One aligned face: detection, the 2×3 similarity matrix [a, −b, tx, b, a, ty] from image to crop, and the 112×112 crop as a data URL.</summary>
public sealed record AlignedFace(int FaceId, double[] Bbox, double Confidence, IReadOnlyList<FaceLandmark> Landmarks, double[] Transform, string AlignedImage);

public sealed record AlignResponse(IReadOnlyList<AlignedFace> Faces, int NumFaces, string Model, string Backend, int AlignedSize, ImageSize ImageSize, ScrfdPerformance Performance);

/// <summary>A COCO keypoint detection result (format=coco): category 1 (face), keypoints [x, y, v] × 5 with v = 2 (visible).</summary>
public sealed record CocoFaceResult(long ImageId, int CategoryId, double[] Bbox, double Score, double[] Keypoints, int NumKeypoints);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(DetectRequest))]
[JsonSerializable(typeof(AlignRequest))]
[JsonSerializable(typeof(DetectResponse))]
[JsonSerializable(typeof(AlignResponse))]
[JsonSerializable(typeof(CocoFaceResult[]))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class ScrfdJson : JsonSerializerContext;
