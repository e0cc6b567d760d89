namespace HailoPose.Pipeline;

/// <summary>The 17 COCO person keypoints in the order YOLOv8-pose emits them, and the COCO skeleton.</summary>
internal static class CocoKeypoints
{
    public const int Count = 17;

    public static readonly string[] Names =
    [
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    ];

    /// <summary>
    /// The 19 limbs of the COCO keypoint annotation's "skeleton" (given there 1-based: [16,14], [14,12], …), 0-based,
    /// in the same order and direction.
    /// </summary>
    public static readonly (int From, int To)[] Skeleton =
    [
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
        (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ];
}
