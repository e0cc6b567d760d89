using Hailo.Core;
using Hailo.Hosting.Models;
using Hailo.Media;

namespace HailoDepth;

/// <summary>What a model's raw output is, and so how it becomes depth.</summary>
public enum DepthOutput
{
    /// <summary>SC-DepthV3 logits: depth = 1 / (10·sigmoid(x) + 0.009), nominally metres.</summary>
    Scdepth,
    /// <summary>Relative inverse depth (disparity) as MiDaS produces: depth ∝ 1 / output, no unit.</summary>
    InverseRelative,
}

/// <summary>A depth model: its files and what the pipeline needs to feed it and read it.</summary>
public sealed record DepthModel(ModelManifest Manifest, string File, int InputWidth, int InputHeight, Normalization Normalization, DepthOutput Output)
{
    public string Unit => Output == DepthOutput.Scdepth ? "metre" : "relative";
}

/// <summary>
/// The depth models this service knows. scdepthv3's HEF comes from Hailo's model zoo; MiDaS v2.1 small from its
/// GitHub release. Neither publisher gives checksums (third parties quote different ones for model-small.onnx), so
/// none is pinned. An scdepthv3 ONNX file has no stable public address: bring your own.
/// </summary>
public static class DepthModels
{
    public const string CpuDefault = "midas-small";
    public const string NpuDefault = "scdepthv3";

    /// <summary>MiDaS v2.1 small: 256×256 RGB, ImageNet normalisation outside the model, output [1, 256, 256] relative inverse depth.</summary>
    public static readonly DepthModel MidasSmall = new(
        new ModelManifest(CpuDefault, Backend.Cpu, "MiDaS v2.1 small (relative depth), ONNX", "MIT (Intel ISL)",
            [new ModelFile("model-small.onnx", null, null, Url: "https://github.com/isl-org/MiDaS/releases/download/v2_1/model-small.onnx", Unverified: true)]),
        "model-small.onnx", 256, 256, Normalization.ImageNet, DepthOutput.InverseRelative);

    /// <summary>
    /// SC-DepthV3 as ONNX (the network the Hailo HEF was compiled from): 320×256 RGB, normalised with mean 0.45 and
    /// std 0.225, output [1, 1, 256, 320] logits. No download address: copy it into models.dir/scdepthv3-onnx/.
    /// </summary>
    public static readonly DepthModel ScdepthV3Onnx = new(
        new ModelManifest("scdepthv3-onnx", Backend.Cpu, "SC-DepthV3 ONNX (bring your own: input [1,3,256,320], output [1,1,256,320] logits)", "GPL-3.0 (SC-DepthV3 weights)",
            [new ModelFile("scdepthv3.onnx", null, null, Unverified: true)]),
        "scdepthv3.onnx", 320, 256, Normalization.MeanStd(0.45f, 0.45f, 0.45f, 0.225f, 0.225f, 0.225f), DepthOutput.Scdepth);

    /// <summary>scdepthv3 compiled for Hailo-10H: uint8 256×320×3 input (normalisation inside), uint16 256×320×1 logits.</summary>
    public static readonly DepthModel ScdepthV3Hailo = new(
        new ModelManifest(NpuDefault, Backend.Npu, "SC-DepthV3 compiled for Hailo-10H (Hailo model zoo HEF)", "GPL-3.0 (SC-DepthV3 weights), compiled by Hailo",
            [new ModelFile("scdepthv3.hef", null, null, Url: "https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/v5.1.0/hailo10h/scdepthv3.hef", Unverified: true)]),
        "scdepthv3.hef", 320, 256, Normalization.Unit, DepthOutput.Scdepth);

    public static readonly IReadOnlyList<DepthModel> All = [MidasSmall, ScdepthV3Onnx, ScdepthV3Hailo];

    /// <summary>
    /// StereoNet trained on KITTI 2015, compiled for Hailo-10H by Hailo (model zoo v5.2.0): two uint8 368×1232×3
    /// images in, one 368×1232×1 disparity map out; 112 G operations, about 10 pairs a second on the module. Not a
    /// monocular model: `stereo.device` picks it for /v1/depth/stereo.
    /// </summary>
    public static readonly ModelManifest StereoNetHailo = new(StereoNpuDefault, Backend.Npu,
        "StereoNet (KITTI 2015) compiled for Hailo-10H (Hailo model zoo HEF): disparity of a rectified pair", "StereoNet (github.com/nivosco/StereoNet) weights, compiled by Hailo",
        [new ModelFile("stereonet.hef", null, null, Url: "https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/v5.2.0/hailo10h/stereonet.hef", Unverified: true)]);

    public const string StereoNpuDefault = "stereonet";

    public static readonly IReadOnlyList<ModelManifest> Catalog = All.Select(m => m.Manifest).Append(StereoNetHailo).ToArray();

    public static DepthModel? Get(string name) => All.FirstOrDefault(m => string.Equals(m.Manifest.Name, name, StringComparison.OrdinalIgnoreCase));
}
