using System.Text.Json.Serialization;
using Hailo.Hosting.Http;
using Hailo.Hosting.Models;

namespace HailoDepth.Api;

/// <summary>POST /v1/depth/estimate as JSON. `image` holds base64 or a data URL; every other field is optional.</summary>
public sealed record DepthRequest
{
    /// <summary>The image: base64 or a data URL.</summary>
    public string? Image { get; init; }
    /// <summary>Refused: the service never fetches URLs (the earlier implementation did).</summary>
    public string? ImageUrl { get; init; }
    /// <summary>The right image of a rectified pair: the request is then answered as POST /v1/depth/stereo, with `image` as the left image.</summary>
    public string? ImageRight { get; init; }
    /// <summary>Scale depth_map / depth_npy to 0-1 (default depth.normalize).</summary>
    public bool? Normalize { get; init; }
    /// <summary>viridis | plasma | magma | turbo | jet (default depth.colormap).</summary>
    public string? Colormap { get; init; }
    /// <summary>numpy | image | both | depth_png_16 | npy (default depth.output_format).</summary>
    public string? OutputFormat { get; init; }
    /// <summary>Include statistics (default depth.include_stats).</summary>
    public bool? Statistics { get; init; }
    /// <summary>image | model: maps at the image's size or at the model's output grid (default depth.resolution).</summary>
    public string? Resolution { get; init; }
}

/// <summary>
/// A depth map in the earlier implementation's shape: the map as a base64 .npz (key "depth", float32 H×W) and/or a
/// colour image (base64 PNG), plus a .npy and a 16-bit PNG on request, statistics and timings. Depth is larger
/// farther away; unit says whether values are metres (scdepthv3's nominal scale) or relative.
/// </summary>
public sealed record DepthResponse(
    string Model,
    string ModelType,
    string Backend,
    int[] InputShape,
    int[] DepthShape,
    double InferenceTimeMs,
    bool Normalized,
    string Unit,
    string OutputFormat,
    string Colormap,
    DepthStatistics? Stats,
    byte[]? DepthMap,
    byte[]? DepthNpy,
    byte[]? DepthImage,
    [property: JsonPropertyName("depth_png_16")] byte[]? DepthPng16,
    [property: JsonPropertyName("depth_png_16_scale")] double? DepthPng16Scale,
    [property: JsonPropertyName("depth_png_16_offset")] double? DepthPng16Offset,
    DepthPerformance Performance);

/// <summary>Depth in <c>unit</c> (before normalisation), over the model's output grid.</summary>
public sealed record DepthStatistics(double Min, double Max, double Mean, double Median, double P5, double P95);

/// <summary>Milliseconds: image decoding, resize to the model input, model, depth formula + resize back, encoding, total.</summary>
public sealed record DepthPerformance(double DecodeTimeMs, double PreprocessTimeMs, double ModelTimeMs, double PostprocessTimeMs, double EncodeTimeMs, double TotalTimeMs);

/// <summary>GET /v1/info: what this service can do (the earlier implementation's shape).</summary>
/// <param name="StereoModel">What matches stereo pairs: "sgm" (semi-global matching on the CPU) or the NPU's stereo network.</param>
public sealed record DepthInfo(string Service, string Version, DepthInfoModel Model, DepthCapabilities Capabilities, DepthInfoModel? StereoModel = null);

public sealed record DepthInfoModel(string Name, string Type, bool Loaded, string Backend, string Unit);

public sealed record DepthCapabilities(bool Monocular, bool Stereo, IReadOnlyList<string> OutputFormats, IReadOnlyList<string> Colormaps);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(DepthRequest))]
[JsonSerializable(typeof(DepthResponse))]
[JsonSerializable(typeof(DepthInfo))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class DepthJson : JsonSerializerContext;
