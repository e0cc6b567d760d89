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

public sealed class DepthSection() : ImageModelChoice("depth", () => DepthModels.All.Select(m => m.Manifest), DepthModels.CpuDefault, DepthModels.NpuDefault,
    defaultMaxPixels: 12_000_000, maxAllowed: 100_000_000, ignoreCase: true)
{
    public static readonly string[] OutputFormats = ["numpy", "image", "both", "depth_png_16", "npy"];
    public static readonly string[] Resolutions = ["image", "model"];

    /// <summary>What a request gets unless it asks otherwise: numpy | image | both | depth_png_16 | npy.</summary>
    public string OutputFormat { get; set; } = "both";
    /// <summary>Colormap of the depth image: viridis | plasma | magma | turbo | jet.</summary>
    public string Colormap { get; set; } = "viridis";
    /// <summary>Scale returned depth maps to 0-1 (min-max) unless a request says otherwise.</summary>
    public bool Normalize { get; set; } = true;
    /// <summary>Include min/max/mean/percentiles of the depth.</summary>
    public bool IncludeStats { get; set; } = true;
    /// <summary>
    /// Size of the monocular maps returned: image (the input image's, as the earlier service returned them) or model
    /// (the model's output grid, e.g. 320×256: no resize back, a tenth of the data to encode and send).
    /// </summary>
    public string Resolution { get; set; } = "image";

    internal void Validate(ConfigErrors errors)
    {
        ValidateModels(errors);
        errors.RequireOneOf("depth.output_format", OutputFormat, OutputFormats);
        errors.RequireOneOf("depth.colormap", Colormap, Colormaps.Names);
        errors.RequireOneOf("depth.resolution", Resolution, Resolutions);
        ValidateMaxImagePixels(errors);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(DepthConfig))]
internal sealed partial class DepthConfigJson : JsonSerializerContext;
