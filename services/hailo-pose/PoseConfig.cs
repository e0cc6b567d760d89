using System.Text.Json.Serialization;
using Hailo.Hosting.Config;

namespace HailoPose;

/// <summary>hailo-pose's config: the shared keys plus the `pose` section.</summary>
public sealed class PoseConfig : ServiceConfig
{
    public PoseSection Pose { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Pose.Validate(errors);
    }
}

public sealed class PoseSection() : ImageModelChoice("pose", () => PoseModels.Catalog, PoseModels.CpuDefault, PoseModels.NpuDefault,
    Hailo.Media.ImageDecoder.DefaultMaxPixels, maxAllowed: 500_000_000)
{
    /// <summary>People scoring lower are dropped.</summary>
    public double ConfidenceThreshold { get; set; } = 0.5;
    /// <summary>NMS: a person overlapping a better one by more than this IoU is dropped.</summary>
    public double IouThreshold { get; set; } = 0.45;
    /// <summary>At most this many people per image.</summary>
    public int MaxDetections { get; set; } = 10;
    /// <summary>Skeleton limbs are listed only when both keypoints are at least this confident.</summary>
    public double KeypointThreshold { get; set; } = 0.3;
    /// <summary>Include the skeleton (limbs between confident keypoints) in each pose.</summary>
    public bool Skeleton { get; set; } = true;

    internal void Validate(ConfigErrors errors)
    {
        ValidateModels(errors);
        if (ConfidenceThreshold is <= 0 or >= 1) errors.Add("pose.confidence_threshold", "must be between 0 and 1");
        if (IouThreshold is <= 0 or > 1) errors.Add("pose.iou_threshold", "must be greater than 0 and at most 1");
        if (MaxDetections is < 1 or > PoseLimits.MaxDetections) errors.Add("pose.max_detections", $"must be between 1 and {PoseLimits.MaxDetections}");
        if (KeypointThreshold is < 0 or >= 1) errors.Add("pose.keypoint_threshold", "must be at least 0 and less than 1");
        ValidateMaxImagePixels(errors);
    }
}

/// <summary>Bounds requests and config share.</summary>
public static class PoseLimits
{
    public const int MaxDetections = 300;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(PoseConfig))]
internal sealed partial class PoseConfigJson : JsonSerializerContext;
