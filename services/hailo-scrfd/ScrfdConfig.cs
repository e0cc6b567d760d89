using System.Text.Json.Serialization;
using Hailo.Hosting.Config;

namespace HailoScrfd;

/// <summary>hailo-scrfd's config: the shared keys plus the `scrfd` section.</summary>
public sealed class ScrfdConfig : ServiceConfig
{
    public ScrfdSection Scrfd { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Scrfd.Validate(errors);
    }
}

public sealed class ScrfdSection() : ImageModelChoice("scrfd", () => ScrfdModels.Catalog, ScrfdModels.CpuDefault, ScrfdModels.NpuDefault,
    Hailo.Media.ImageDecoder.DefaultMaxPixels, maxAllowed: 500_000_000)
{
    /// <summary>Faces scoring lower are dropped.</summary>
    public double ConfThreshold { get; set; } = 0.5;
    /// <summary>NMS: a face overlapping a better one by more than this IoU is dropped.</summary>
    public double NmsThreshold { get; set; } = 0.4;
    /// <summary>At most this many faces per image.</summary>
    public int MaxFaces { get; set; } = 50;
    /// <summary>Faces narrower or shorter than this many image pixels are dropped.</summary>
    public int MinFaceSize { get; set; }
    /// <summary>Include the five landmarks of each face.</summary>
    public bool ReturnLandmarks { get; set; } = true;
    /// <summary>Encoding of the aligned 112×112 crops: jpeg or png.</summary>
    public string AlignedFormat { get; set; } = "jpeg";

    internal void Validate(ConfigErrors errors)
    {
        ValidateModels(errors);
        if (ConfThreshold is <= 0 or >= 1) errors.Add("scrfd.conf_threshold", "must be between 0 and 1");
        if (NmsThreshold is <= 0 or > 1) errors.Add("scrfd.nms_threshold", "must be greater than 0 and at most 1");
        if (MaxFaces is < 1 or > ScrfdLimits.MaxFaces) errors.Add("scrfd.max_faces", $"must be between 1 and {ScrfdLimits.MaxFaces}");
        if (MinFaceSize is < 0 or > 10_000) errors.Add("scrfd.min_face_size", "must be between 0 and 10000");
        if (AlignedFormat is not ("jpeg" or "png")) errors.Add("scrfd.aligned_format", "must be jpeg or png");
        ValidateMaxImagePixels(errors);
    }
}

/// <summary>Bounds requests and config share.</summary>
public static class ScrfdLimits
{
    public const int MaxFaces = 500;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ScrfdConfig))]
internal sealed partial class ScrfdConfigJson : JsonSerializerContext;
