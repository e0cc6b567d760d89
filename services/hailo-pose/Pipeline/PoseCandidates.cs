using Hailo.Vision;

namespace HailoPose.Pipeline;

/// <summary>
/// Person candidates in model-input pixels, one row of 56 floats each: x1, y1, x2, y2, score, then 17 × (x, y,
/// visibility probability). Both decoders write this layout; NMS and the letterbox undo read it.
/// </summary>
internal sealed class PoseCandidates(int capacity = 256)
{
    public const int RowLength = 5 + 3 * CocoKeypoints.Count;

    private float[] _data = new float[capacity * RowLength];

    public int Count { get; private set; }

    public Span<float> Add()
    {
        if ((Count + 1) * RowLength > _data.Length) Array.Resize(ref _data, _data.Length * 2);
        return _data.AsSpan(Count++ * RowLength, RowLength);
    }

    public ReadOnlySpan<float> Row(int i) => _data.AsSpan(i * RowLength, RowLength);

    /// <summary>Every row, one after the other (what <see cref="Nms.ClassAgnostic(ReadOnlySpan{float}, int, float, int)"/> takes).</summary>
    public ReadOnlySpan<float> Rows => _data.AsSpan(0, Count * RowLength);

    public float Score(int i) => _data[i * RowLength + 4];

    public void Clear() => Count = 0;
}

/// <summary>One detected person in image pixels: box corners, detection score and the 17 COCO keypoints.</summary>
internal sealed record Person(float X1, float Y1, float X2, float Y2, float Score, Keypoint[] Keypoints);
