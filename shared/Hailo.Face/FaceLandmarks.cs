using System.Numerics;

namespace Hailo.Face;

/// <summary>The five facial landmarks SCRFD predicts, in its output order, and ArcFace's 112×112 template.</summary>
public static class FaceLandmarks
{
    public const int Count = 5;

    /// <summary>Names in output order. "Left" and "right" are as seen in the image (the subject's right eye is the image's left).</summary>
    public static readonly string[] Names = ["left_eye", "right_eye", "nose", "left_mouth", "right_mouth"];

    /// <summary>Side of the aligned face crop ArcFace models take.</summary>
    public const int AlignedSize = 112;

    /// <summary>
    /// Where the five landmarks sit in a 112×112 ArcFace input: the reference points the recognition models were
    /// trained on (eyes at y ≈ 51.6, nose tip at the centre line, mouth corners at y ≈ 92.3).
    /// </summary>
    public static readonly Vector2[] ArcFaceTemplate =
    [
        new(38.2946f, 51.6963f), new(73.5318f, 51.5014f), new(56.0252f, 71.7366f), new(41.5493f, 92.3655f), new(70.7299f, 92.2041f),
    ];
}
