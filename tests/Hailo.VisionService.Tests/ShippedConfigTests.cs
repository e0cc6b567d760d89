using Hailo.TestSupport;
using HailoVision;
using Xunit;

namespace Hailo.VisionService.Tests;

/// <summary>services/hailo-vision/hailo-vision.yaml (the package's conffile) loads, equals the defaults and comments every key.</summary>
public sealed class ShippedConfigTests
{
    [Fact]
    public void The_shipped_config_loads_and_equals_the_built_in_defaults() => ShippedConfig.AssertEqualsDefaults(HailoVision.VisionService.Definition);

    [Fact]
    public void The_shipped_config_names_every_settable_key_with_a_comment() => ShippedConfig.AssertEveryKeyCommented(HailoVision.VisionService.Definition);
}
