using System.Text.Json.Serialization;
using Hailo.Hosting.Config;
using HailoDepth.Output;

namespace HailoDepth;

/// <summary>hailo-depth's config: the shared keys plus the `depth` section.</summary>
public sealed class DepthConfig : ServiceConfig
{
    public DepthSection Depth { get; set; } = new();
    public StereoSection Stereo { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Depth.Validate(errors);
        Stereo.Validate(errors);
    }
}

public sealed class DepthSection
{
    public static readonly string[] OutputFormats = ["numpy", "image", "both", "depth_png_16", "npy"];

    /// <summary>CPU model (ONNX) to load.</summary>
    public string CpuModel { get; set; } = DepthModels.CpuDefault;
    /// <summary>NPU model (HEF) to load when the NPU is used.</summary>
    public string NpuModel { get; set; } = DepthModels.NpuDefault;
    /// <summary>What a request gets unless it asks otherwise: numpy | image | both | depth_png_16 | npy.</summary>
    public string OutputFormat { get; set; } = "both";
    /// <summary>Colormap of the depth image: viridis | plasma | magma | turbo | jet.</summary>
    public string Colormap { get; set; } = "viridis";
    /// <summary>Scale returned depth maps to 0-1 (min-max) unless a request says otherwise.</summary>
    public bool Normalize { get; set; } = true;
    /// <summary>Include min/max/mean/percentiles of the depth.</summary>
    public bool IncludeStats { get; set; } = true;
    /// <summary>Images with more pixels are refused from their header; the depth map has the image's size.</summary>
    public long MaxImagePixels { get; set; } = 12_000_000;

    internal void Validate(ConfigErrors errors)
    {
        if (DepthModels.Get(CpuModel) is not { Manifest.Backend: "cpu" })
            errors.Add("depth.cpu_model", $"'{CpuModel}' is not a known CPU model ({string.Join(", ", DepthModels.All.Where(m => m.Manifest.Backend == "cpu").Select(m => m.Manifest.Name))})");
        if (DepthModels.Get(NpuModel) is not { Manifest.Backend: "npu" })
            errors.Add("depth.npu_model", $"'{NpuModel}' is not a known NPU model ({string.Join(", ", DepthModels.All.Where(m => m.Manifest.Backend == "npu").Select(m => m.Manifest.Name))})");
        errors.RequireOneOf("depth.output_format", OutputFormat, OutputFormats);
        errors.RequireOneOf("depth.colormap", Colormap, Colormaps.Names);
        if (MaxImagePixels is < 1 or > 100_000_000) errors.Add("depth.max_image_pixels", "must be between 1 and 100000000");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(DepthConfig))]
internal sealed partial class DepthConfigJson : JsonSerializerContext;
