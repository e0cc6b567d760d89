using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoFace;

/// <summary>
/// The model pairs this service knows: a SCRFD detector and an ArcFace embedder, loaded together. The HEFs come
/// from Hailo's model zoo (no checksums published). No registry this project can reach ships SCRFD or ArcFace
/// ONNX files, so the CPU pairs are "bring your own": insightface's exports, put into the models directory.
/// </summary>
public static class FaceModels
{
    public const string CpuDefault = "scrfd_2.5g-arcface_mbf";
    public const string NpuDefault = "scrfd_10g-arcface_mobilefacenet";

    /// <summary>The detector's file is the first of a pair's files, the embedder's the second.</summary>
    public static readonly ModelManifest MobileFaceNetOnnx = new(
        CpuDefault, Backend.Cpu,
        "SCRFD-2.5GF with landmarks + ArcFace MobileFaceNet, insightface's ONNX exports (bring your own: scrfd_2.5g_bnkps.onnx and w600k_mbf.onnx)",
        "MIT (insightface code); the weights are for non-commercial research use",
        [new ModelFile("scrfd_2.5g_bnkps.onnx", null, null, Unverified: true), new ModelFile("w600k_mbf.onnx", null, null, Unverified: true)]);

    public static readonly ModelManifest R50Onnx = new(
        "scrfd_10g-arcface_r50", Backend.Cpu,
        "SCRFD-10GF with landmarks + ArcFace ResNet-50, insightface's ONNX exports (bring your own: scrfd_10g_bnkps.onnx and w600k_r50.onnx)",
        "MIT (insightface code); the weights are for non-commercial research use",
        [new ModelFile("scrfd_10g_bnkps.onnx", null, null, Unverified: true), new ModelFile("w600k_r50.onnx", null, null, Unverified: true)]);

    private const string Zoo = "https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/v5.1.0/hailo10h/";

    public static readonly ModelManifest MobileFaceNetHailo = new(
        NpuDefault, Backend.Npu, "SCRFD-10GF + ArcFace MobileFaceNet compiled for Hailo-10H (Hailo model zoo HEFs)", "MIT (insightface code), compiled by Hailo",
        [new ModelFile("scrfd_10g.hef", null, null, Url: Zoo + "scrfd_10g.hef", Unverified: true),
         new ModelFile("arcface_mobilefacenet.hef", null, null, Url: Zoo + "arcface_mobilefacenet.hef", Unverified: true)]);

    public static readonly ModelManifest R50Hailo = new(
        "scrfd_10g-arcface_r50", Backend.Npu, "SCRFD-10GF + ArcFace ResNet-50 compiled for Hailo-10H (Hailo model zoo HEFs)", "MIT (insightface code), compiled by Hailo",
        [new ModelFile("scrfd_10g.hef", null, null, Url: Zoo + "scrfd_10g.hef", Unverified: true),
         new ModelFile("arcface_r50.hef", null, null, Url: Zoo + "arcface_r50.hef", Unverified: true)]);

    public static readonly IReadOnlyList<ModelManifest> Catalog = [MobileFaceNetOnnx, R50Onnx, MobileFaceNetHailo];
}
