namespace Hailo.Vision;

/// <summary>An axis-aligned box by its corners (x right, y down): (<see cref="X1"/>, <see cref="Y1"/>) top-left, (<see cref="X2"/>, <see cref="Y2"/>) bottom-right.</summary>
public readonly record struct Box(float X1, float Y1, float X2, float Y2)
{
    /// <summary>The box of a centre and a size (the cx, cy, w, h layout of YOLO exports).</summary>
    public static Box FromCentre(float cx, float cy, float width, float height) =>
        new(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2);

    /// <summary>The box <paramref name="left"/>, <paramref name="top"/>, <paramref name="right"/>, <paramref name="bottom"/> away from an anchor point (anchor-free heads: YOLOv8, SCRFD).</summary>
    public static Box FromDistances(float cx, float cy, float left, float top, float right, float bottom) =>
        new(cx - left, cy - top, cx + right, cy + bottom);

    public float Width => X2 - X1;
    public float Height => Y2 - Y1;
    /// <summary>Area; 0 for an empty or inverted box.</summary>
    public float Area => MathF.Max(0, X2 - X1) * MathF.Max(0, Y2 - Y1);

    /// <summary>The box with every corner clamped into [0, width] × [0, height].</summary>
    public Box Clip(float width, float height) =>
        new(Math.Clamp(X1, 0, width), Math.Clamp(Y1, 0, height), Math.Clamp(X2, 0, width), Math.Clamp(Y2, 0, height));

    /// <summary>Intersection over union; 0 when the boxes do not overlap or both are empty.</summary>
    public float Iou(Box other) => Iou(X1, Y1, X2, Y2, other.X1, other.Y1, other.X2, other.Y2);

    /// <summary>Intersection over union of two corner boxes; 0 when both are empty.</summary>
    public static float Iou(float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2) =>
        Iou(ax1, ay1, ax2, ay2, MathF.Max(0, ax2 - ax1) * MathF.Max(0, ay2 - ay1), bx1, by1, bx2, by2);

    /// <summary>As above with the first box's area given (NMS computes it once per candidate).</summary>
    internal static float Iou(float ax1, float ay1, float ax2, float ay2, float areaA, float bx1, float by1, float bx2, float by2)
    {
        var iw = MathF.Min(ax2, bx2) - MathF.Max(ax1, bx1);
        var ih = MathF.Min(ay2, by2) - MathF.Max(ay1, by1);
        if (iw <= 0 || ih <= 0) return 0;
        var inter = iw * ih;
        var union = areaA + MathF.Max(0, bx2 - bx1) * MathF.Max(0, by2 - by1) - inter;
        return union > 0 ? inter / union : 0;
    }
}

/// <summary>A scored box of one class (0 for single-class models such as person or face detectors).</summary>
public readonly record struct Detection(Box Box, float Score, int ClassId = 0);

/// <summary>One keypoint with its confidence (a visibility probability for pose models).</summary>
public readonly record struct Keypoint(float X, float Y, float Confidence)
{
    /// <summary>The keypoint clamped into [0, width] × [0, height].</summary>
    public Keypoint Clip(float width, float height) => this with { X = Math.Clamp(X, 0, width), Y = Math.Clamp(Y, 0, height) };
}
