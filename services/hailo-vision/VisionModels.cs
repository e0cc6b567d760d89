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
    /// <summary>The CPU's default: the smallest SmolVLM, fast enough on a Raspberry Pi 5's cores (see the README).</summary>
    public const string DefaultCpuModel = "smolvlm:256m";
    private const string HailoGenAi = "https://dev-public.hailo.ai/v5.1.1/blob/";
    private const string GgmlOrg = "https://huggingface.co/ggml-org/";
    public const string HefSuffix = "-hef";

    public static readonly IReadOnlyList<ModelManifest> Catalog =
    [
        new("qwen2-vl:2b" + HefSuffix, Backend.Npu, "Qwen2-VL 2B Instruct compiled for Hailo-10H (Hailo GenAI model zoo 5.1.1)", "Apache-2.0",
            [new ModelFile("Qwen2-VL-2B-Instruct.hef", null, null, HailoGenAi + "Qwen2-VL-2B-Instruct.hef", Unverified: true)]),
        // On the CPU: a text GGUF and its projector (mmproj) GGUF, the first file the text model, the second the projector.
        Gguf("smolvlm:256m", "SmolVLM 256M Instruct (Q8_0) with its SigLIP projector: 64 tokens per image, the fastest on a Pi 5", "SmolVLM-256M-Instruct", "Q8_0", "Q8_0"),
        Gguf("smolvlm:500m", "SmolVLM 500M Instruct (Q8_0) with its SigLIP projector: 64 tokens per image, better answers, about twice the time", "SmolVLM-500M-Instruct", "Q8_0", "Q8_0"),
        Gguf("qwen2-vl:2b", "Qwen2-VL 2B Instruct (Q4_K_M) with its projector (Q8_0): the NPU's model on the CPU; dynamic resolution, slow on a Pi", "Qwen2-VL-2B-Instruct", "Q4_K_M", "Q8_0"),
    ];

    private static ModelManifest Gguf(string name, string description, string repo, string quant, string projQuant) =>
        new(name, Backend.Cpu, description, "Apache-2.0",
        [
            new ModelFile($"{repo}-{quant}.gguf", null, null, $"{GgmlOrg}{repo}-GGUF/resolve/main/{repo}-{quant}.gguf", Unverified: true),
            new ModelFile($"mmproj-{repo}-{projQuant}.gguf", null, null, $"{GgmlOrg}{repo}-GGUF/resolve/main/mmproj-{repo}-{projQuant}.gguf", Unverified: true),
        ]);

    /// <summary>The store manifest of a name on a backend.</summary>
    public static ModelManifest? Find(string name, Backend backend) =>
        Catalog.FirstOrDefault(m => m.Backend == backend && string.Equals(m.Name, backend == Backend.Npu ? name + HefSuffix : name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The API name of a catalog entry (the "-hef" suffix dropped).</summary>
    public static string ApiName(ModelManifest m) => m.Backend == Backend.Npu && m.Name.EndsWith(HefSuffix, StringComparison.Ordinal) ? m.Name[..^HefSuffix.Length] : m.Name;
}
