using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoScrfd;

/// <summary>
/// The SCRFD models this service knows. The HEFs come from Hailo's model zoo (no checksums published, so none is
/// pinned). No registry this project can reach ships a SCRFD ONNX file, so the CPU models are "bring your own": the
/// insightface exports with landmarks (the "_bnkps" ones), put into the models directory.
/// </summary>
public static class ScrfdModels
{
    public const string CpuDefault = "scrfd_2.5g_bnkps";
    public const string NpuDefault = "scrfd_10g";

    private static ModelManifest Onnx(string name, string flops) => new(
        name, Backend.Cpu,
        $"SCRFD-{flops} with five landmarks, insightface's ONNX export (bring your own: {name}.onnx, input [1, 3, 640, 640], nine outputs)",
        "MIT (insightface code); the weights are for non-commercial research use",
        [new ModelFile(name + ".onnx", null, null, Unverified: true)]);

    public static readonly ModelManifest Scrfd25gOnnx = Onnx(CpuDefault, "2.5GF");
    public static readonly ModelManifest Scrfd10gOnnx = Onnx("scrfd_10g_bnkps", "10GF");

    private const string Zoo = "https://hailo-model-zoo.s3.eu-west-2.amazonaws.com/ModelZoo/Compiled/v5.1.0/hailo10h/";

    private static ModelManifest Hef(string name, string what) => new(
        name, Backend.Npu, $"{what} compiled for Hailo-10H (Hailo model zoo HEF)", "MIT (insightface code), compiled by Hailo",
        [new ModelFile(name + ".hef", null, null, Url: Zoo + name + ".hef", Unverified: true)]);

    /// <summary>SCRFD-10GF, 640×640, nine raw head outputs (the face-recognition default of Hailo's apps on Hailo-10H).</summary>
    public static readonly ModelManifest Scrfd10gHailo = Hef(NpuDefault, "SCRFD-10GF face detection");
    /// <summary>SCRFD-2.5GF, 640×640: faster, less accurate.</summary>
    public static readonly ModelManifest Scrfd25gHailo = Hef("scrfd_2.5g", "SCRFD-2.5GF face detection");

    public static readonly IReadOnlyList<ModelManifest> Catalog = [Scrfd25gOnnx, Scrfd10gOnnx, Scrfd10gHailo, Scrfd25gHailo];
}
