using Hailo.Vision;

namespace Hailo.Face;

/// <summary>
/// The outputs of one SCRFD stride, de-quantised, for a grid of <see cref="GridWidth"/>×<see cref="GridHeight"/> cells
/// with <see cref="AnchorsPerCell"/> anchors each, anchor-major within a cell (cell 0 anchor 0, cell 0 anchor 1, …):
/// one score per anchor, four distances (left, top, right, bottom) and ten landmark offsets (x, y × 5), all in
/// stride units.
/// </summary>
public readonly record struct ScrfdLevel(int Stride, int GridWidth, int GridHeight, int AnchorsPerCell, float[] Scores, float[] Distances, float[] Landmarks)
{
    public int Anchors => GridWidth * GridHeight * AnchorsPerCell;
}

/// <summary>
/// Decodes SCRFD's heads. SCRFD (Guo et al., "Sample and Computation Redistribution for Efficient Face Detection",
/// 2021) is an anchor-point detector in the GFL/FCOS family: stride s places one point per grid cell at the cell's
/// top-left corner (gx·s, gy·s) — no half-cell offset — repeated for each of the cell's anchors (two in the released
/// models, which differ only in the box size they were assigned at training time, not in decoding). A box is that
/// point minus the left/top distances and plus the right/bottom ones, each distance predicted in units of the
/// stride; a landmark is the point plus its (dx, dy), also in stride units. Scores leave the network as
/// probabilities (the export ends in a sigmoid).
/// </summary>
public static class ScrfdDecoder
{
    public const int DistanceChannels = 4;
    public const int LandmarkChannels = 2 * FaceLandmarks.Count;

    /// <summary>Every anchor scoring at least <paramref name="threshold"/>, as a candidate row in input pixels.</summary>
    public static void Decode(ReadOnlySpan<ScrfdLevel> levels, float threshold, FaceCandidates into)
    {
        foreach (var level in levels)
        {
            var n = level.Anchors;
            if (level.Scores.Length < n || level.Distances.Length < n * DistanceChannels || level.Landmarks.Length < n * LandmarkChannels)
                throw new ArgumentException($"stride {level.Stride}: expected {n} anchors of 1 + 4 + 10 values");
            var s = (float)level.Stride;
            for (var i = 0; i < n; i++)
            {
                var score = level.Scores[i];
                if (!(score >= threshold)) continue; // NaN too
                var cell = i / level.AnchorsPerCell;
                var (px, py) = Anchors.Centre(cell, level.GridWidth, level.Stride, Anchors.CellCorner);
                var d = level.Distances.AsSpan(i * DistanceChannels, DistanceChannels);
                var row = into.Add();
                row[0] = px - d[0] * s;
                row[1] = py - d[1] * s;
                row[2] = px + d[2] * s;
                row[3] = py + d[3] * s;
                row[4] = score;
                var k = level.Landmarks.AsSpan(i * LandmarkChannels, LandmarkChannels);
                for (var j = 0; j < FaceLandmarks.Count; j++)
                {
                    row[5 + 2 * j] = px + k[2 * j] * s;
                    row[6 + 2 * j] = py + k[2 * j + 1] * s;
                }
            }
        }
    }

    /// <summary>
    /// The inverse, for tests and generated models: the raw outputs (distances and landmark offsets in stride units)
    /// that make anchor <paramref name="anchor"/> of a level decode to the given box and landmarks.
    /// </summary>
    public static void Encode(ScrfdLevel level, int anchor, float score, Box box, ReadOnlySpan<System.Numerics.Vector2> landmarks)
    {
        var cell = anchor / level.AnchorsPerCell;
        var (px, py) = Anchors.Centre(cell, level.GridWidth, level.Stride, Anchors.CellCorner);
        var s = (float)level.Stride;
        level.Scores[anchor] = score;
        var d = level.Distances.AsSpan(anchor * DistanceChannels, DistanceChannels);
        (d[0], d[1], d[2], d[3]) = ((px - box.X1) / s, (py - box.Y1) / s, (box.X2 - px) / s, (box.Y2 - py) / s);
        var k = level.Landmarks.AsSpan(anchor * LandmarkChannels, LandmarkChannels);
        for (var j = 0; j < FaceLandmarks.Count; j++)
        {
            k[2 * j] = (landmarks[j].X - px) / s;
            k[2 * j + 1] = (landmarks[j].Y - py) / s;
        }
    }

    /// <summary>Empty levels for an input of <paramref name="width"/>×<paramref name="height"/> (strides 8, 16, 32, two anchors a cell).</summary>
    public static ScrfdLevel[] Levels(int width, int height, int anchorsPerCell = 2)
    {
        var levels = new ScrfdLevel[Hailo.Vision.Anchors.DefaultStrides.Length];
        for (var l = 0; l < levels.Length; l++)
        {
            var stride = Hailo.Vision.Anchors.DefaultStrides[l];
            var (gw, gh) = Hailo.Vision.Anchors.Grid(width, height, stride);
            var n = gw * gh * anchorsPerCell;
            levels[l] = new ScrfdLevel(stride, gw, gh, anchorsPerCell, new float[n], new float[n * DistanceChannels], new float[n * LandmarkChannels]);
        }
        return levels;
    }
}
