using System.Text.Json.Serialization;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;
using HailoFace.Gallery;

namespace HailoFace.Api;

/// <summary>POST /v1/detect as JSON.</summary>
public sealed record FaceDetectRequest
{
    public string? Image { get; init; }
    /// <summary>Faces scoring lower are dropped (default face.detection_threshold).</summary>
    public double? Threshold { get; init; }
    public bool? ReturnLandmarks { get; init; }
    public int? MaxFaces { get; init; }
}

/// <summary>POST /v1/embed as JSON: the image and optionally which face (its box [x, y, w, h]; default the best face).</summary>
public sealed record EmbedRequest
{
    public string? Image { get; init; }
    public double[]? Bbox { get; init; }
}

/// <summary>POST /v1/recognize as JSON.</summary>
public sealed record RecognizeRequest
{
    public string? Image { get; init; }
    /// <summary>Cosine similarity a match needs (default face.recognition_threshold).</summary>
    public double? Threshold { get; init; }
    public int? MaxFaces { get; init; }
}

/// <summary>POST /v1/verify as JSON: two images, the best face of each compared.</summary>
public sealed record VerifyRequest
{
    public string? Image1 { get; init; }
    public string? Image2 { get; init; }
    /// <summary>Cosine similarity "same person" needs (default face.verification_threshold).</summary>
    public double? Threshold { get; init; }
}

/// <summary>POST /v1/database/add as JSON: a name and an image of that person (its best face, or the face at bbox).</summary>
public sealed record AddRequest
{
    public string? Name { get; init; }
    public string? Image { get; init; }
    public double[]? Bbox { get; init; }
}

/// <summary>POST /v1/database/remove.</summary>
public sealed record RemoveRequest
{
    public string? Name { get; init; }
}

public sealed record FaceLandmark(string Type, double X, double Y);

public sealed record DetectedFaceEntry(double[] Bbox, double Confidence, IReadOnlyList<FaceLandmark>? Landmarks);

public sealed record FaceDetectResponse(IReadOnlyList<DetectedFaceEntry> Faces, int Count, int InferenceTimeMs, string Model, string Backend);

public sealed record EmbedResponse(float[] Embedding, int Dimension, double[] Bbox, double Confidence, string Model);

/// <summary>
/// A recognised face: identity is the best-matching person or "Unknown"; match_score the cosine similarity to that
/// person's closest stored embedding (−1 to 1; higher is more alike), reported whether or not it reached the threshold.
/// </summary>
public sealed record RecognizedFace(double[] Bbox, double DetectionConfidence, string Identity, double MatchScore, string? BestCandidate);

public sealed record RecognizeResponse(IReadOnlyList<RecognizedFace> Faces, int Count, int InferenceTimeMs, double Threshold, string Model);

public sealed record VerifyFace(double[] Bbox, double Confidence);

public sealed record VerifyResponse(bool SamePerson, double Similarity, double Threshold, VerifyFace Face1, VerifyFace Face2, string Model);

public sealed record AddResponse(string Message, string Name, int EmbeddingCount, double[] Bbox);

public sealed record MessageResponse(string Message, string Name);

public sealed record IdentityList(IReadOnlyList<IdentityInfo> Identities, int Count);

/// <summary>
/// The gallery as a document: format "hailo-face-gallery", its version, the embedding model and dimension, and every
/// identity with its embeddings as base64 little-endian float32 vectors. POST it to /v1/database/import.
/// </summary>
public sealed record GalleryExport
{
    public string? Format { get; init; }
    public int? Version { get; init; }
    public string? Model { get; init; }
    public int? Dimension { get; init; }
    /// <summary>On import: merge (default; embeddings are added to people of the same name) or replace (the gallery is emptied first).</summary>
    public string? Mode { get; init; }
    public IReadOnlyList<ExportedIdentity>? Identities { get; init; }
}

public sealed record ImportResponse(string Message, int Identities, int Embeddings);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(FaceDetectRequest))]
[JsonSerializable(typeof(EmbedRequest))]
[JsonSerializable(typeof(RecognizeRequest))]
[JsonSerializable(typeof(VerifyRequest))]
[JsonSerializable(typeof(AddRequest))]
[JsonSerializable(typeof(RemoveRequest))]
[JsonSerializable(typeof(FaceDetectResponse))]
[JsonSerializable(typeof(EmbedResponse))]
[JsonSerializable(typeof(RecognizeResponse))]
[JsonSerializable(typeof(VerifyResponse))]
[JsonSerializable(typeof(AddResponse))]
[JsonSerializable(typeof(MessageResponse))]
[JsonSerializable(typeof(IdentityList))]
[JsonSerializable(typeof(GalleryExport))]
[JsonSerializable(typeof(ImportResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class FaceJson : JsonSerializerContext;
