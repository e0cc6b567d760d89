using System.Text.Json.Serialization;
using Hailo.Hosting.Http;

namespace HailoDepth.Api;

/// <summary>
/// POST /v1/depth/stereo as JSON: a rectified pair as base64 or data URLs, plus options. POST /v1/depth/estimate
/// takes the same body with `image` for the left image.
/// </summary>
public sealed record StereoRequest
{
    /// <summary>The left image (base64 or a data URL).</summary>
    public string? ImageLeft { get; init; }
    /// <summary>The left image, as /v1/depth/estimate names it.</summary>
    public string? Image { get; init; }
    /// <summary>The right image (base64 or a data URL), the same size as the left.</summary>
    public string? ImageRight { get; init; }
    /// <summary>Smallest disparity searched (default 0).</summary>
    public int? MinDisparity { get; init; }
    /// <summary>How many disparities are searched from min_disparity (default stereo.num_disparities).</summary>
    public int? NumDisparities { get; init; }
    /// <summary>Focal length of the rectified pair in pixels; with baseline_m the answer is metric depth.</summary>
    public double? FocalPx { get; init; }
    /// <summary>Distance between the two cameras' centres in metres.</summary>
    public double? BaselineM { get; init; }
    /// <summary>Match at half resolution (default stereo.half_resolution).</summary>
    public bool? HalfResolution { get; init; }
    public bool? Normalize { get; init; }
    public string? Colormap { get; init; }
    public string? OutputFormat { get; init; }
    public bool? Statistics { get; init; }
    /// <summary>Refused: the service never fetches URLs.</summary>
    public string? ImageUrl { get; init; }
}

/// <summary>
/// A stereo answer: disparity in pixels of the left image (larger is nearer), or with focal_px and baseline_m depth
/// in metres (focal·baseline / disparity, larger is farther); invalid pixels are NaN in the arrays and 0 in the
/// 16-bit PNG. The validity mask is an 8-bit PNG: 255 where the map has a value, else the reason (1 no match in
/// range, 2 ambiguous/low texture, 3 left-right check failed/occluded, 4 speckle).
/// </summary>
public sealed record StereoResponse(
    string Model,
    string ModelType,
    string Backend,
    int[] InputShape,
    int[] DepthShape,
    double InferenceTimeMs,
    bool Normalized,
    string Unit,
    string Quantity,
    string OutputFormat,
    string Colormap,
    int MinDisparity,
    int NumDisparities,
    bool HalfResolution,
    double? FocalPx,
    double? BaselineM,
    bool Rectified,
    double ValidFraction,
    StereoInvalidCounts Invalid,
    DepthStatistics? Stats,
    byte[]? DepthMap,
    byte[]? DepthNpy,
    byte[]? DepthImage,
    [property: JsonPropertyName("depth_png_16")] byte[]? DepthPng16,
    [property: JsonPropertyName("depth_png_16_scale")] double? DepthPng16Scale,
    [property: JsonPropertyName("depth_png_16_offset")] double? DepthPng16Offset,
    byte[] ValidityMask,
    StereoPerformance Performance);

/// <summary>Pixels without a value, by reason.</summary>
public sealed record StereoInvalidCounts(int NoMatch, int Ambiguous, int LeftRight, int Speckle);

/// <summary>Milliseconds: decoding both images, rectifying them (with a calibration), matching, encoding, total.</summary>
public sealed record StereoPerformance(double DecodeTimeMs, double? RectifyTimeMs, double MatchTimeMs, double EncodeTimeMs, double TotalTimeMs);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(StereoRequest))]
[JsonSerializable(typeof(StereoResponse))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class StereoJson : JsonSerializerContext;
