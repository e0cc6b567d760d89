using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoVision.Engine;

/// <summary>
/// A vision model on this machine: its API name, backend and file (a HEF on the NPU; on the CPU the text GGUF, with its
/// projector GGUF in <paramref name="Mmproj"/>).
/// </summary>
public sealed record VisionModel(string Name, Backend Backend, string Path, DateTime ModifiedAt, ModelManifest Manifest, string? Mmproj = null) : Hailo.GenAI.IModelFile;

/// <summary>The catalog models the store finds for the service's backend (looked up on each call: pulls show at once).</summary>
public sealed class VisionRegistry(ModelStore store, Backend backend)
{
    public Backend Backend => backend;

    public IReadOnlyList<VisionModel> List() =>
        VisionModels.Catalog.Where(m => m.Backend == backend).Select(Located).OfType<VisionModel>().ToList();

    private VisionModel? Located(ModelManifest m)
    {
        var loc = store.Locate(m);
        if (!loc.Complete) return null;
        var path = loc.Paths[m.Files[0].Name];
        var mmproj = m.Files.Count > 1 ? loc.Paths[m.Files[1].Name] : null;
        return new VisionModel(VisionModels.ApiName(m), m.Backend, path, File.GetLastWriteTimeUtc(path), m, mmproj);
    }

    /// <summary>A CPU catalog model whose files are present (the NPU's fallback), or null.</summary>
    public VisionModel? FindCpu(string name) => VisionModels.Find(name, Backend.Cpu) is { } m ? Located(m) : null;

    public VisionModel? Find(string name) => List().FirstOrDefault(m => m.Name == name);
}
