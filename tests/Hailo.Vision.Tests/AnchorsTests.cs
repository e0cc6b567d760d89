using Xunit;

namespace Hailo.Vision.Tests;

/// <summary>Anchor grids per stride as YOLOv8 (cell centres) and SCRFD (cell corners, two anchors a cell) lay them out.</summary>
public sealed class AnchorsTests
{
    [Fact]
    public void Yolo_grids_at_640_have_8400_anchors()
    {
        Assert.Equal([8, 16, 32], Anchors.DefaultStrides.ToArray());
        Assert.Equal((80, 80), Anchors.Grid(640, 640, 8));
        Assert.Equal((20, 12), Anchors.Grid(640, 384, 32));
        Assert.Equal((3, 1), Anchors.Grid(65, 7, 32)); // a partial cell still counts
        Assert.Equal(8400, Anchors.Count(640, 640, Anchors.DefaultStrides));
        Assert.Equal(16800, Anchors.Count(640, 640, Anchors.DefaultStrides, anchorsPerCell: 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Anchors.Grid(640, 640, 0));
    }

    [Fact]
    public void Cell_centres_sit_half_a_stride_into_the_cell()
    {
        // Cell 83 of an 80-wide grid is (gx 3, gy 1).
        Assert.Equal((28f, 12f), Anchors.Centre(83, 80, 8));
        Assert.Equal((24f, 8f), Anchors.Centre(83, 80, 8, Anchors.CellCorner));
        var centres = Anchors.Centres(80, 80, 8);
        Assert.Equal(2 * 6400, centres.Length);
        Assert.Equal((4f, 4f), (centres[0], centres[1]));
        Assert.Equal((28f, 12f), (centres[2 * 83], centres[2 * 83 + 1]));
        Assert.Equal((636f, 636f), (centres[^2], centres[^1]));
        for (var cell = 0; cell < 6400; cell++)
            Assert.Equal(Anchors.Centre(cell, 80, 8), (centres[2 * cell], centres[2 * cell + 1]));
    }

    [Fact]
    public void Scrfd_repeats_each_cell_corner_per_anchor()
    {
        // SCRFD at stride 32 over 640×640: 20×20 cells, 2 anchors each, at (gx·32, gy·32).
        var centres = Anchors.Centres(20, 20, 32, Anchors.CellCorner, anchorsPerCell: 2);
        Assert.Equal(20 * 20 * 2 * 2, centres.Length);
        Assert.Equal([0f, 0f, 0f, 0f, 32f, 0f, 32f, 0f], centres[..8]);
        var lastRow = 19 * 20 * 2 * 2;
        Assert.Equal([0f, 608f, 0f, 608f], centres[lastRow..(lastRow + 4)]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Anchors.Centres(2, 2, 8, anchorsPerCell: 0));
    }
}
