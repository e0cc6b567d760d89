using HailoDepth.Output;
using Xunit;

namespace Hailo.Depth.Tests.Output;

/// <summary>
/// Each colormap against reference colours of the named map: the published end points of viridis (#440154,
/// #fde725) and the values matplotlib 3.6 returns at 0, ¼, ½, ¾ and 1 (its lookup: index ⌊v·256⌋ of 256 entries).
/// jet is built here from its definition, so its references check the definition, not a copied table.
/// </summary>
public sealed class ColormapTests
{
    public static TheoryData<string, float, int, int, int> References => new()
    {
        { "viridis", 0f, 68, 1, 84 }, { "viridis", 0.25f, 59, 82, 139 }, { "viridis", 0.5f, 33, 145, 140 }, { "viridis", 0.75f, 94, 201, 98 }, { "viridis", 1f, 253, 231, 37 },
        { "plasma", 0f, 13, 8, 135 }, { "plasma", 0.25f, 126, 3, 168 }, { "plasma", 0.5f, 204, 71, 120 }, { "plasma", 0.75f, 248, 149, 64 }, { "plasma", 1f, 240, 249, 33 },
        { "magma", 0f, 0, 0, 4 }, { "magma", 0.25f, 81, 18, 124 }, { "magma", 0.5f, 183, 55, 121 }, { "magma", 0.75f, 252, 137, 97 }, { "magma", 1f, 252, 253, 191 },
        { "turbo", 0f, 48, 18, 59 }, { "turbo", 0.25f, 40, 188, 235 }, { "turbo", 0.5f, 164, 252, 60 }, { "turbo", 0.75f, 251, 126, 33 }, { "turbo", 1f, 122, 4, 3 },
        { "jet", 0f, 0, 0, 128 }, { "jet", 0.25f, 0, 128, 255 }, { "jet", 0.5f, 125, 255, 122 }, { "jet", 0.75f, 255, 148, 0 }, { "jet", 1f, 128, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(References))]
    public void Colour_matches_the_reference_of_the_named_map(string map, float v, int r, int g, int b)
    {
        var (cr, cg, cb) = Colormaps.Colour(map, v);
        Assert.True(Math.Abs(cr - r) <= 1 && Math.Abs(cg - g) <= 1 && Math.Abs(cb - b) <= 1, $"{map}({v}) = ({cr}, {cg}, {cb}), reference ({r}, {g}, {b})");
    }

    [Fact]
    public void Viridis_ends_are_the_published_hex_colours()
    {
        Assert.Equal((0x44, 0x01, 0x54), Tuple(Colormaps.Colour("viridis", 0)));
        Assert.Equal((0xfd, 0xe7, 0x25), Tuple(Colormaps.Colour("viridis", 1)));
        static (int, int, int) Tuple((byte R, byte G, byte B) c) => (c.R, c.G, c.B);
    }

    [Fact]
    public void Every_table_has_256_colours_and_out_of_range_values_clamp()
    {
        foreach (var name in Colormaps.Names)
        {
            Assert.Equal(768, Colormaps.Table(name).Length);
            Assert.Equal(Colormaps.Colour(name, 0), Colormaps.Colour(name, -3));
            Assert.Equal(Colormaps.Colour(name, 1), Colormaps.Colour(name, 7));
            Assert.Equal(Colormaps.Colour(name, 0), Colormaps.Colour(name, float.NaN));
        }
        var indices = new byte[4];
        Colormaps.Indices([0f, 1f, 0.25f, 0.5f], indices, invert: false);
        Assert.Equal([0, 255, 64, 128], indices);
        Colormaps.Indices([0f, 1f, 0.25f, float.NaN], indices, invert: true);
        Assert.Equal([255, 0, 192, 0], indices);
        Assert.Equal((68, 1, 84), Colormaps.Colour("viridis", 0f));
        Assert.Equal((253, 231, 37), Colormaps.Colour("viridis", 1f));
    }

    [Fact]
    public void Viridis_lightness_rises_monotonically()
    {
        // A perceptual map: relative luminance grows along the table (the property the map was designed for).
        var t = Colormaps.Table("viridis").ToArray();
        double Lum(int i) => 0.2126 * t[3 * i] + 0.7152 * t[3 * i + 1] + 0.0722 * t[3 * i + 2];
        for (var i = 8; i < 256; i += 8) Assert.True(Lum(i) > Lum(i - 8), $"luminance falls at {i}");
    }
}
