using Hailo.Vision;

namespace HailoPose.Pipeline;

/// <summary>
/// The raw YOLOv8-pose head of one stride, de-quantised, NHWC: per grid cell 64 box channels (4 sides × 16 DFL
/// bins, sides left, top, right, bottom), 1 person score and 51 keypoint channels (17 × x, y, visibility logit).
/// </summary>
internal readonly record struct PoseHeadLevel(int Stride, int GridWidth, int GridHeight, float[] Boxes, float[] Scores, float[] Keypoints)
{
    public int Cells => GridWidth * GridHeight;
}

/// <summary>
/// Decodes YOLOv8-pose head outputs (what the Hailo HEFs return) into <see cref="PoseCandidates"/> in input pixels.
/// Derived from the head's definition: the anchor of cell (gx, gy) at stride s is ((gx + ½)·s, (gy + ½)·s); each
/// box side is a distribution over 16 bins whose expectation Σ i·softmax(bins)ᵢ, times s, is the distance from the
/// anchor (box = anchor ∓ distances); keypoint k is ((2·x + gx)·s, (2·y + gy)·s), i.e. twice the raw offset plus the
/// cell's corner (anchor − ½), in stride units; its visibility is sigmoid(v).
/// </summary>
internal static class YoloPoseHeads
{
    public const int Bins = Dfl.Bins;
    public const int BoxChannels = Dfl.Channels;
    public const int KeypointChannels = 3 * CocoKeypoints.Count;

    /// <param name="scoresAreLogits">Apply a sigmoid to the score channel (the Hailo HEFs already do).</param>
    public static void Decode(ReadOnlySpan<PoseHeadLevel> levels, float threshold, bool scoresAreLogits, PoseCandidates into)
    {
        Span<float> distances = stackalloc float[4];
        foreach (var level in levels)
        {
            var s = (float)level.Stride;
            var boxes = level.Boxes.AsSpan();
            var keypoints = level.Keypoints.AsSpan();
            for (var cell = 0; cell < level.Cells; cell++)
            {
                var score = level.Scores[cell];
                if (scoresAreLogits) score = Activations.Sigmoid(score);
                if (!(score >= threshold)) continue; // also drops NaN
                int gx = cell % level.GridWidth, gy = cell / level.GridWidth;
                var (cx, cy) = Anchors.Centre(cell, level.GridWidth, level.Stride);
                Dfl.Distances(boxes.Slice(cell * BoxChannels, BoxChannels), distances);
                var row = into.Add();
                row[0] = cx - distances[0] * s;
                row[1] = cy - distances[1] * s;
                row[2] = cx + distances[2] * s;
                row[3] = cy + distances[3] * s;
                row[4] = score;
                DecodeKeypoints(keypoints.Slice(cell * KeypointChannels, KeypointChannels), gx, gy, s, row[5..]);
            }
        }
    }

    /// <summary>Keypoints of one cell: x = (2·rx + gx)·s, y = (2·ry + gy)·s, visibility = sigmoid(rv).</summary>
    internal static void DecodeKeypoints(ReadOnlySpan<float> raw, int gx, int gy, float stride, Span<float> destination)
    {
        Span<float> logits = stackalloc float[24];
        for (var k = 0; k < CocoKeypoints.Count; k++)
        {
            destination[3 * k] = (2 * raw[3 * k] + gx) * stride;
            destination[3 * k + 1] = (2 * raw[3 * k + 1] + gy) * stride;
            logits[k] = raw[3 * k + 2];
        }
        Activations.SigmoidInPlace(logits);
        for (var k = 0; k < CocoKeypoints.Count; k++) destination[3 * k + 2] = logits[k];
    }
}
