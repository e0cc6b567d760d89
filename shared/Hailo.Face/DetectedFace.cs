using System.Numerics;

namespace Hailo.Face;

/// <summary>A face in image pixels: box corners, detection score and the five landmarks (<see cref="FaceLandmarks.Names"/> order).</summary>
public sealed record DetectedFace(float X1, float Y1, float X2, float Y2, float Score, Vector2[] Landmarks)
{
    public float Width => X2 - X1;
    public float Height => Y2 - Y1;
}

/// <summary>
/// Face candidates in model-input pixels, 15 floats a row: x1, y1, x2, y2, score, then five (x, y) landmarks — the
/// layout <see cref="Hailo.Vision.Nms.ClassAgnostic(ReadOnlySpan{float}, int, float, int)"/> reads.
/// </summary>
public sealed class FaceCandidates(int capacity = 64)
{
    public const int RowLength = 5 + 2 * FaceLandmarks.Count;

    private float[] _data = new float[capacity * RowLength];

    public int Count { get; private set; }

    public Span<float> Add()
    {
        if ((Count + 1) * RowLength > _data.Length) Array.Resize(ref _data, Math.Max(_data.Length * 2, RowLength));
        return _data.AsSpan(Count++ * RowLength, RowLength);
    }

    public ReadOnlySpan<float> Row(int i) => _data.AsSpan(i * RowLength, RowLength);
    public ReadOnlySpan<float> Rows => _data.AsSpan(0, Count * RowLength);
    public void Clear() => Count = 0;
}
