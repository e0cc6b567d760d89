using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoOllama;

/// <summary>
/// Models `pull` knows by Ollama name. On the CPU a name maps to a GGUF, on the NPU to a HEF of Hailo's GenAI model
/// zoo (the "-hef" names). Download addresses are public; CI reaches neither Hugging Face nor Hailo's server, so
/// these are never fetched in tests (the tests and `make models` write random-weight GGUFs instead). A sha256 is
/// pinned where the publisher states one (Hailo's GenAI manifests); the other files are marked unverified: fetched
/// over HTTPS, reported as unverified by pull, never resumed from a partial download, and hashed after download
/// (the digest /api/tags shows).
/// </summary>
public static class OllamaModels
{
    public const string DefaultModel = "qwen2.5:0.5b";
    private const string HfQwen05 = "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/";
    private const string HfQwen15 = "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/main/";
    private const string HfLlama1b = "https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/";
    private const string HailoGenAi = "https://dev-public.hailo.ai/v5.1.1/blob/";

    /// <summary>Suffix of the NPU variant's name in the store (`hailo-ollama pull qwen2.5:1.5b-hef`).</summary>
    public const string HefSuffix = "-hef";

    public static readonly IReadOnlyList<ModelManifest> Catalog =
    [
        new("qwen2.5:0.5b", Backend.Cpu, "Qwen2.5 0.5B Instruct, Q4_K_M GGUF (Qwen on Hugging Face)", "Apache-2.0",
            [new ModelFile("qwen2.5-0.5b-instruct-q4_k_m.gguf", null, null, HfQwen05 + "qwen2.5-0.5b-instruct-q4_k_m.gguf", Unverified: true)]),
        new("qwen2.5:1.5b", Backend.Cpu, "Qwen2.5 1.5B Instruct, Q4_K_M GGUF (Qwen on Hugging Face)", "Apache-2.0",
            [new ModelFile("qwen2.5-1.5b-instruct-q4_k_m.gguf", null, null, HfQwen15 + "qwen2.5-1.5b-instruct-q4_k_m.gguf", Unverified: true)]),
        new("llama3.2:1b", Backend.Cpu, "Llama 3.2 1B Instruct, Q4_K_M GGUF (bartowski's quantisation on Hugging Face)", "Llama 3.2 Community License",
            [new ModelFile("Llama-3.2-1B-Instruct-Q4_K_M.gguf", null, null, HfLlama1b + "Llama-3.2-1B-Instruct-Q4_K_M.gguf", Unverified: true)]),
        new("qwen2.5:1.5b" + HefSuffix, Backend.Npu, "Qwen2.5 1.5B Instruct compiled for Hailo-10H (Hailo GenAI model zoo 5.1.1)", "Apache-2.0",
            [new ModelFile("Qwen2.5-1.5B-Instruct.hef", "5310176848638505fbc28add04ba60c97abe345cdb0ec7e3b8ffaa4b0a8c65dd", null, HailoGenAi + "Qwen2.5-1.5B-Instruct.hef")]),
        new("llama3.2:1b" + HefSuffix, Backend.Npu, "Llama 3.2 1B Instruct compiled for Hailo-10H (Hailo GenAI model zoo 5.1.1)", "Llama 3.2 Community License",
            [new ModelFile("Llama3.2-1B-Instruct.hef", null, null, HailoGenAi + "Llama3.2-1B-Instruct.hef", Unverified: true)]),
    ];

    /// <summary>The store manifest of an Ollama name on a backend.</summary>
    public static ModelManifest? Find(string name, Backend backend) =>
        Catalog.FirstOrDefault(m => m.Backend == backend && string.Equals(m.Name, backend == Backend.Npu ? name + HefSuffix : name, StringComparison.OrdinalIgnoreCase));

    public static string OllamaName(ModelManifest m) => m.Backend == Backend.Npu && m.Name.EndsWith(HefSuffix, StringComparison.Ordinal) ? m.Name[..^HefSuffix.Length] : m.Name;
}
