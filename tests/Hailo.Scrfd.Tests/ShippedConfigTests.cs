using Hailo.TestSupport;
using HailoScrfd;
using Xunit;

namespace Hailo.Scrfd.Tests;

/// <summary>services/hailo-scrfd/hailo-scrfd.yaml (the package's conffile) loads, equals the defaults and comments every key.</summary>
public sealed class ShippedConfigTests
{
    [Fact]
    public void The_shipped_config_loads_and_equals_the_built_in_defaults() => ShippedConfig.AssertEqualsDefaults(ScrfdService.Definition);

    [Fact]
    public void The_shipped_config_names_every_settable_key_with_a_comment() => ShippedConfig.AssertEveryKeyCommented(ScrfdService.Definition);
}
