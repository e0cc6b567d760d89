namespace Hailo.Vision;

/// <summary>
/// Greedy non-maximum suppression: candidates by descending score, each kept unless it overlaps an already kept one
/// (of the same class, for <see cref="PerClass"/>) by more than the IoU threshold, until <c>maxDetections</c> are
/// kept. Returns the indices of the kept candidates, best first.
/// </summary>
public static class Nms
{
    /// <summary>
    /// Class-agnostic NMS over flat rows of <paramref name="rowLength"/> floats, each starting x1, y1, x2, y2, score
    /// (the layout YOLO-style decoders write, with keypoints or other values after the score).
    /// </summary>
    public static int[] ClassAgnostic(ReadOnlySpan<float> rows, int rowLength, float iouThreshold, int maxDetections)
    {
        if (rowLength < 5) throw new ArgumentOutOfRangeException(nameof(rowLength), "a row holds at least x1, y1, x2, y2 and the score");
        var n = rows.Length / rowLength;
        if (n == 0 || maxDetections <= 0) return [];
        var order = new int[n];
        var keys = new float[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
            keys[i] = -rows[i * rowLength + 4];
        }
        return Greedy(rows, rowLength, order, keys, null, iouThreshold, maxDetections);
    }

    /// <summary>Class-agnostic NMS: a box suppresses any overlapping box, whatever its class.</summary>
    public static int[] ClassAgnostic(ReadOnlySpan<Detection> detections, float iouThreshold, int maxDetections) =>
        Run(detections, iouThreshold, maxDetections, perClass: false);

    /// <summary>Per-class NMS: a box suppresses only overlapping boxes of its own class.</summary>
    public static int[] PerClass(ReadOnlySpan<Detection> detections, float iouThreshold, int maxDetections) =>
        Run(detections, iouThreshold, maxDetections, perClass: true);

    private static int[] Run(ReadOnlySpan<Detection> detections, float iouThreshold, int maxDetections, bool perClass)
    {
        var n = detections.Length;
        if (n == 0 || maxDetections <= 0) return [];
        var rows = new float[n * 5];
        var order = new int[n];
        var keys = new float[n];
        var classes = perClass ? new int[n] : null;
        for (var i = 0; i < n; i++)
        {
            var (b, score, cls) = detections[i];
            (rows[5 * i], rows[5 * i + 1], rows[5 * i + 2], rows[5 * i + 3], rows[5 * i + 4]) = (b.X1, b.Y1, b.X2, b.Y2, score);
            order[i] = i;
            keys[i] = -score;
            if (classes is not null) classes[i] = cls;
        }
        return Greedy(rows, 5, order, keys, classes, iouThreshold, maxDetections);
    }

    private static int[] Greedy(ReadOnlySpan<float> rows, int rowLength, int[] order, float[] keys, int[]? classes, float iouThreshold, int maxDetections)
    {
        var n = order.Length;
        Array.Sort(keys, order); // ties keep no particular order, which NMS does not need
        var cap = Math.Min(n, maxDetections);
        var kept = new int[cap];
        var count = 0;
        Span<float> keptBoxes = new float[cap * 4];
        foreach (var i in order)
        {
            var r = rows.Slice(i * rowLength, 4);
            float x1 = r[0], y1 = r[1], x2 = r[2], y2 = r[3];
            var area = MathF.Max(0, x2 - x1) * MathF.Max(0, y2 - y1);
            var suppressed = false;
            for (var k = 0; k < count; k++)
            {
                if (classes is not null && classes[kept[k]] != classes[i]) continue;
                var b = keptBoxes.Slice(k * 4, 4);
                if (Box.Iou(x1, y1, x2, y2, area, b[0], b[1], b[2], b[3]) > iouThreshold)
                {
                    suppressed = true;
                    break;
                }
            }
            if (suppressed) continue;
            var slot = keptBoxes.Slice(count * 4, 4);
            (slot[0], slot[1], slot[2], slot[3]) = (x1, y1, x2, y2);
            kept[count++] = i;
            if (count == cap) break;
        }
        return count == kept.Length ? kept : kept[..count];
    }
}
