namespace HailoPose.Pipeline;

/// <summary>
/// Class-agnostic greedy non-maximum suppression: candidates by descending score, each kept unless it overlaps an
/// already kept one by more than the IoU threshold, until <c>maxDetections</c> are kept.
/// </summary>
internal static class PoseNms
{
    public static int[] Run(PoseCandidates candidates, float iouThreshold, int maxDetections)
    {
        var n = candidates.Count;
        if (n == 0 || maxDetections <= 0) return [];
        var order = new int[n];
        var keys = new float[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
            keys[i] = -candidates.Score(i);
        }
        Array.Sort(keys, order); // stable enough: ties keep no particular order, which NMS does not need
        var kept = new List<int>(Math.Min(n, maxDetections));
        Span<float> keptBoxes = new float[Math.Min(n, maxDetections) * 4];
        foreach (var i in order)
        {
            var r = candidates.Row(i);
            float x1 = r[0], y1 = r[1], x2 = r[2], y2 = r[3];
            var area = MathF.Max(0, x2 - x1) * MathF.Max(0, y2 - y1);
            var suppressed = false;
            for (var k = 0; k < kept.Count; k++)
            {
                var b = keptBoxes.Slice(k * 4, 4);
                if (Iou(x1, y1, x2, y2, area, b[0], b[1], b[2], b[3]) > iouThreshold)
                {
                    suppressed = true;
                    break;
                }
            }
            if (suppressed) continue;
            var slot = keptBoxes.Slice(kept.Count * 4, 4);
            (slot[0], slot[1], slot[2], slot[3]) = (x1, y1, x2, y2);
            kept.Add(i);
            if (kept.Count == maxDetections) break;
        }
        return [.. kept];
    }

    /// <summary>Intersection over union of two corner boxes; 0 when both are empty.</summary>
    public static float Iou(float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2) =>
        Iou(ax1, ay1, ax2, ay2, MathF.Max(0, ax2 - ax1) * MathF.Max(0, ay2 - ay1), bx1, by1, bx2, by2);

    private static float Iou(float ax1, float ay1, float ax2, float ay2, float areaA, float bx1, float by1, float bx2, float by2)
    {
        var iw = MathF.Min(ax2, bx2) - MathF.Max(ax1, bx1);
        var ih = MathF.Min(ay2, by2) - MathF.Max(ay1, by1);
        if (iw <= 0 || ih <= 0) return 0;
        var inter = iw * ih;
        var union = areaA + MathF.Max(0, bx2 - bx1) * MathF.Max(0, by2 - by1) - inter;
        return union > 0 ? inter / union : 0;
    }
}
