using Hailo.Core;
using Hailo.Hosting.Config;
using Hailo.Hosting.Models;
using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>The shared cpu_model/npu_model (and max_image_pixels) keys: checked against the catalog per backend.</summary>
public sealed class ModelChoiceTests
{
    private static readonly ModelManifest[] Catalog =
    [
        new("small", Backend.Cpu, "d", "MIT", [new ModelFile("s.onnx", null, null, Unverified: true)]),
        new("large", Backend.Cpu, "d", "MIT", [new ModelFile("l.onnx", null, null, Unverified: true)]),
        new("small_hef", Backend.Npu, "d", "MIT", [new ModelFile("s.hef", null, null, Unverified: true)]),
    ];

    private sealed class Section(bool ignoreCase = false) : ImageModelChoice("vis", () => Catalog, "small", "small_hef", 1000, 5000, ignoreCase)
    {
        public List<string> Validate()
        {
            var errors = new ConfigErrors();
            ValidateModels(errors);
            ValidateMaxImagePixels(errors);
            return errors.Messages.ToList();
        }
    }

    [Fact]
    public void Defaults_are_valid_and_the_device_picks_the_model()
    {
        var s = new Section();
        Assert.Empty(s.Validate());
        Assert.Equal(1000, s.MaxImagePixels);
        Assert.Equal("small_hef", s.ModelFor(Backend.Npu));
        Assert.Equal("small", s.ModelFor(Backend.Cpu));
        Assert.Equal("small", s.ModelFor(Backend.Auto));
    }

    [Fact]
    public void A_model_of_the_other_backend_or_unknown_is_refused_naming_the_choices()
    {
        var s = new Section { CpuModel = "small_hef", NpuModel = "nope", MaxImagePixels = 5001 };
        Assert.Equal(
        [
            "vis.cpu_model: 'small_hef' is not a known CPU model (small, large)",
            "vis.npu_model: 'nope' is not a known NPU model (small_hef)",
            "vis.max_image_pixels: must be between 1 and 5000",
        ], s.Validate());
        Assert.Single(new Section { MaxImagePixels = 0 }.Validate());
    }

    [Fact]
    public void Names_match_exactly_unless_the_section_ignores_case()
    {
        Assert.Single(new Section { CpuModel = "LARGE" }.Validate());
        Assert.Empty(new Section(ignoreCase: true) { CpuModel = "LARGE" }.Validate());
    }
}
