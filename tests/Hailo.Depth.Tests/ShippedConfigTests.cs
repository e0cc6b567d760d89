using Hailo.TestSupport;
using HailoDepth;
using Xunit;

namespace Hailo.Depth.Tests;

/// <summary>services/hailo-depth/hailo-depth.yaml (the package's conffile) loads, equals the defaults and comments every key.</summary>
public sealed class ShippedConfigTests
{
    [Fact]
    public void The_shipped_config_loads_and_equals_the_built_in_defaults() => ShippedConfig.AssertEqualsDefaults(DepthService.Definition);

    [Fact]
    public void Stereo_matches_with_five_paths_in_one_pass_by_default()
    {
        // OpenCV MODE_SGBM's paths: at or better than its StereoSGBM on Aloe in error and density, at its time (make bench).
        var config = DepthService.Definition.Defaults();
        Assert.Equal(5, config.Stereo.Paths);
        Assert.Equal(5, StereoEndpoint.Matching(new StereoEndpoint.StereoOptions(0, 64, false, null, null, DepthService.Resolve(new HailoDepth.Api.DepthRequest(), config)), config).Paths);
    }

    [Fact]
    public void The_shipped_config_names_every_settable_key_with_a_comment() => ShippedConfig.AssertEveryKeyCommented(DepthService.Definition);
}
