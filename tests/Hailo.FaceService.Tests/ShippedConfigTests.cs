using Hailo.TestSupport;
using HailoFace;
using Xunit;

namespace Hailo.FaceService.Tests;

/// <summary>services/hailo-face/hailo-face.yaml (the package's conffile) loads, equals the defaults and comments every key.</summary>
public sealed class ShippedConfigTests
{
    [Fact]
    public void The_shipped_config_loads_and_equals_the_built_in_defaults() => ShippedConfig.AssertEqualsDefaults(HailoFace.FaceService.Definition);

    [Fact]
    public void The_shipped_config_names_every_settable_key_with_a_comment() => ShippedConfig.AssertEveryKeyCommented(HailoFace.FaceService.Definition);
}

public sealed class GalleryPathTests
{
    [Fact]
    public void An_empty_gallery_path_means_gallery_db_beside_the_models_directory()
    {
        var g = new HailoFace.GallerySection();
        Assert.Equal("/var/lib/hailo-face/gallery.db", g.Resolve("/var/lib/hailo-face/models"));
        Assert.Equal("/var/lib/hailo-face/gallery.db", g.Resolve("/var/lib/hailo-face/models/"));
        g.Path = "/srv/faces.db";
        Assert.Equal("/srv/faces.db", g.Resolve("/var/lib/hailo-face/models"));
    }
}
