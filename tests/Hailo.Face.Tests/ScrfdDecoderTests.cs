using System.Numerics;
using Hailo.TestSupport;
using Hailo.Vision;
using Xunit;

namespace Hailo.Face.Tests;

public sealed class ScrfdDecoderTests
{
    [Fact]
    public void Anchor_points_sit_at_cell_corners_and_distances_count_in_strides()
    {
        var levels = ScrfdDecoder.Levels(640, 640);
        Assert.Equal([12800, 3200, 800], levels.Select(l => l.Anchors));
        // Stride 16, cell (gx 3, gy 5), second anchor: point (48, 80). Distances 1, 2, 3, 4 strides.
        var l = levels[1];
        var anchor = (5 * l.GridWidth + 3) * 2 + 1;
        l.Scores[anchor] = 0.75f;
        new float[] { 1, 2, 3, 4 }.CopyTo(l.Distances, anchor * 4);
        for (var j = 0; j < 5; j++) (l.Landmarks[anchor * 10 + 2 * j], l.Landmarks[anchor * 10 + 2 * j + 1]) = (j, -j);
        var into = new FaceCandidates();
        ScrfdDecoder.Decode(levels, 0.5f, into);
        Assert.Equal(1, into.Count);
        var row = into.Row(0).ToArray();
        Assert.Equal([48 - 16, 80 - 32, 48 + 48, 80 + 64, 0.75f], row[..5]);
        for (var j = 0; j < 5; j++)
        {
            Assert.Equal(48 + 16f * j, row[5 + 2 * j]);
            Assert.Equal(80 - 16f * j, row[6 + 2 * j]);
        }
    }

    [Fact]
    public void Threshold_drops_low_and_NaN_scores()
    {
        var levels = ScrfdDecoder.Levels(64, 64);
        levels[0].Scores[0] = 0.49f;
        levels[0].Scores[1] = float.NaN;
        levels[0].Scores[2] = 0.5f;
        var into = new FaceCandidates();
        ScrfdDecoder.Decode(levels, 0.5f, into);
        Assert.Equal(1, into.Count);
        // Anchor 2 is the first anchor of cell 1: point (8, 0).
        Assert.Equal(8f, into.Row(0)[0]);
        Assert.Equal(0f, into.Row(0)[1]);
    }

    [Theory]
    [InlineData(100, 120, 130, 160)]   // stride 8
    [InlineData(300, 200, 400, 330)]   // stride 16
    [InlineData(200, 150, 520, 560)]   // stride 32
    public void Encoded_faces_decode_where_they_were_planted(float x1, float y1, float x2, float y2)
    {
        var face = PlantedFaces.Face(x1, y1, x2, y2, 0.8f);
        var levels = PlantedFaces.Levels([face], withDuplicates: false);
        var into = new FaceCandidates();
        ScrfdDecoder.Decode(levels, 0.5f, into);
        Assert.Equal(1, into.Count);
        var row = into.Row(0);
        Assert.Equal(x1, row[0], 3);
        Assert.Equal(y1, row[1], 3);
        Assert.Equal(x2, row[2], 3);
        Assert.Equal(y2, row[3], 3);
        for (var j = 0; j < 5; j++)
        {
            Assert.Equal(face.Landmarks[j].X, row[5 + 2 * j], 3);
            Assert.Equal(face.Landmarks[j].Y, row[6 + 2 * j], 3);
        }
    }

    [Fact]
    public void Short_outputs_are_refused()
    {
        var bad = new ScrfdLevel(8, 2, 2, 2, new float[8], new float[8], new float[80]);
        Assert.Throws<ArgumentException>(() => ScrfdDecoder.Decode([bad], 0.5f, new FaceCandidates()));
    }

    [Fact]
    public void Nms_keeps_the_best_of_overlapping_candidates()
    {
        var levels = PlantedFaces.Levels([PlantedFaces.Face(100, 100, 200, 220), PlantedFaces.Face(400, 300, 480, 400, 0.7f)], withDuplicates: true);
        var into = new FaceCandidates();
        ScrfdDecoder.Decode(levels, 0.3f, into);
        Assert.Equal(4, into.Count);
        var kept = Nms.ClassAgnostic(into.Rows, FaceCandidates.RowLength, 0.4f, 10);
        Assert.Equal(2, kept.Length);
        Assert.Equal(0.9f, into.Row(kept[0])[4]);
        Assert.Equal(100f, into.Row(kept[0])[0], 3);
        Assert.Equal(0.7f, into.Row(kept[1])[4]);
    }
}
