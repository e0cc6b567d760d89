using Hailo.Core;
using Hailo.Hosting.Models;

namespace Hailo.Hosting.Config;

/// <summary>
/// The model keys of a service's config section: <c>cpu_model</c> and <c>npu_model</c>, each checked against the
/// service's catalog for its backend. A section derives from it (<c>OcrSection : ImageModelChoice</c>), so the keys
/// stay where the YAML has them, and the service's <c>DefaultModels</c> is <see cref="ModelFor"/> of the device.
/// </summary>
public abstract class ModelChoice
{
    private readonly string _section;
    private readonly Func<IEnumerable<ModelManifest>> _catalog;
    private readonly StringComparison _names;

    /// <param name="section">The section's YAML key (ocr, pose, …), naming the keys in error messages.</param>
    /// <param name="catalog">The service's models (read when validating, so a catalog built later is seen).</param>
    /// <param name="cpuDefault">The CPU model loaded unless the config names another.</param>
    /// <param name="npuDefault">The NPU model loaded unless the config names another.</param>
    /// <param name="ignoreCase">Whether a configured name matches the catalog's regardless of case.</param>
    protected ModelChoice(string section, Func<IEnumerable<ModelManifest>> catalog, string cpuDefault, string npuDefault, bool ignoreCase = false)
    {
        _section = section;
        _catalog = catalog;
        _names = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        CpuModel = cpuDefault;
        NpuModel = npuDefault;
    }

    /// <summary>CPU model to load.</summary>
    public string CpuModel { get; set; }
    /// <summary>NPU model to load when the NPU is used.</summary>
    public string NpuModel { get; set; }

    /// <summary>The model the service loads for a <c>device</c> setting: the NPU model for npu, else the CPU model.</summary>
    public string ModelFor(Backend device) => device == Backend.Npu ? NpuModel : CpuModel;

    /// <summary>Reports a model name that is not in the catalog for its backend, listing those that are.</summary>
    protected void ValidateModels(ConfigErrors errors)
    {
        Check(errors, "cpu_model", "CPU", CpuModel, Backend.Cpu);
        Check(errors, "npu_model", "NPU", NpuModel, Backend.Npu);
    }

    private void Check(ConfigErrors errors, string key, string what, string name, Backend backend)
    {
        var catalog = _catalog();
        if (catalog.Any(m => string.Equals(m.Name, name, _names) && m.Backend == backend)) return;
        errors.Add($"{_section}.{key}", $"'{name}' is not a known {what} model ({string.Join(", ", catalog.Where(m => m.Backend == backend).Select(m => m.Name))})");
    }
}

/// <summary>
/// <see cref="ModelChoice"/> of a service that takes images: adds <c>max_image_pixels</c>, the limit an image is
/// refused by from its header, before decoding.
/// </summary>
public abstract class ImageModelChoice : ModelChoice
{
    private readonly string _section;
    private readonly long _maxAllowed;

    /// <param name="defaultMaxPixels">The default limit.</param>
    /// <param name="maxAllowed">The highest limit the config may set.</param>
    protected ImageModelChoice(string section, Func<IEnumerable<ModelManifest>> catalog, string cpuDefault, string npuDefault,
        long defaultMaxPixels, long maxAllowed, bool ignoreCase = false)
        : base(section, catalog, cpuDefault, npuDefault, ignoreCase)
    {
        _section = section;
        _maxAllowed = maxAllowed;
        MaxImagePixels = defaultMaxPixels;
    }

    /// <summary>Images with more pixels are refused from their header, before decoding.</summary>
    public long MaxImagePixels { get; set; }

    /// <summary>Reports a <c>max_image_pixels</c> outside 1 to the highest allowed.</summary>
    protected void ValidateMaxImagePixels(ConfigErrors errors)
    {
        if (MaxImagePixels < 1 || MaxImagePixels > _maxAllowed)
            errors.Add($"{_section}.max_image_pixels", $"must be between 1 and {_maxAllowed}");
    }
}
