using HailoPose.Pipeline;
using Xunit;

namespace Hailo.Pose.Tests.Pipeline;

/// <summary>The ONNX-export decoder on a hand-made [56, N] tensor: layout (one column per anchor), xywh → corners, thresholds.</summary>
public sealed class YoloPoseExportTests
{
    [Fact]
    public void Columns_become_corner_boxes_with_keypoints_copied_through()
    {
        const int n = 8400;
        var t = new float[56 * n];
        void Set(int col, float cx, float cy, float w, float h, float score)
        {
            (t[col], t[n + col], t[2 * n + col], t[3 * n + col], t[4 * n + col]) = (cx, cy, w, h, score);
            for (var j = 5; j < 56; j++) t[j * n + col] = col + j / 100f;
        }
        Set(17, 320, 240, 100, 300, 0.9f);
        Set(8399, 50, 60, 20, 40, 0.49f);
        Set(6500, 500, 500, 10, 10, float.NaN);
        var into = new PoseCandidates();
        YoloPoseExport.Decode(t, n, 0.5f, into);
        Assert.Equal(1, into.Count);
        var r = into.Row(0);
        Assert.Equal([270f, 90f, 370f, 390f, 0.9f], r[..5].ToArray());
        for (var j = 5; j < 56; j++) Assert.Equal(17 + j / 100f, r[j]);
        into.Clear();
        YoloPoseExport.Decode(t, n, 0.4f, into);
        Assert.Equal(2, into.Count);
    }

    [Fact]
    public void A_tensor_of_the_wrong_length_is_refused()
    {
        Assert.Throws<ArgumentException>(() => YoloPoseExport.Decode(new float[55 * 100], 100, 0.5f, new PoseCandidates()));
    }
}
