using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoVision;

/// <summary>
/// Vision-language models `pull` knows by Ollama-style name. On the NPU the name maps to the HEF of Hailo's GenAI model
/// zoo (the "-hef" names, as hailo-ollama names its HEFs). Download addresses are public; CI reaches none of them, so
/// they are never fetched in tests (the NPU tests use the shim's fake backend with a JSON stand-in HEF).
/// </summary>
public static class VisionModels
{
    public const string DefaultModel = "qwen2-vl:2b";
    private const string HailoGenAi = "https://dev-public.hailo.ai/v5.1.1/blob/";
    public const string HefSuffix = "-hef";

    public static readonly IReadOnlyList<ModelManifest> Catalog =
    [
        new("qwen2-vl:2b" + HefSuffix, Backend.Npu, "Qwen2-VL 2B Instruct compiled for Hailo-10H (Hailo GenAI model zoo 5.1.1)", "Apache-2.0",
            [new ModelFile("Qwen2-VL-2B-Instruct.hef", null, null, HailoGenAi + "Qwen2-VL-2B-Instruct.hef", Unverified: true)]),
    ];

    /// <summary>The store manifest of a name on a backend.</summary>
    public static ModelManifest? Find(string name, Backend backend) =>
        Catalog.FirstOrDefault(m => m.Backend == backend && string.Equals(m.Name, backend == Backend.Npu ? name + HefSuffix : name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The API name of a catalog entry (the "-hef" suffix dropped).</summary>
    public static string ApiName(ModelManifest m) => m.Backend == Backend.Npu && m.Name.EndsWith(HefSuffix, StringComparison.Ordinal) ? m.Name[..^HefSuffix.Length] : m.Name;
}
