using HailoPose.Pipeline;
using Xunit;

namespace Hailo.Pose.Tests.Pipeline;

/// <summary>Class-agnostic NMS: hand-made cases and properties over random candidate sets.</summary>
public sealed class PoseNmsTests
{
    private static PoseCandidates Of(params (float X1, float Y1, float X2, float Y2, float Score)[] boxes)
    {
        var c = new PoseCandidates(1);
        foreach (var b in boxes)
        {
            var r = c.Add();
            (r[0], r[1], r[2], r[3], r[4]) = b;
        }
        return c;
    }

    [Fact]
    public void Overlapping_duplicates_keep_the_best_and_separate_people_stay()
    {
        var c = Of((0, 0, 100, 200, 0.6f), (5, 5, 105, 205, 0.9f), (300, 0, 400, 200, 0.7f), (60, 0, 160, 200, 0.65f));
        // IoU(0,1) = 0.82; IoU(1,3) = 0.28; person 2 is apart.
        Assert.Equal([1, 2, 3], PoseNms.Run(c, 0.45f, 10));
        Assert.Equal([1, 2], PoseNms.Run(c, 0.25f, 10));
        Assert.Equal([1], PoseNms.Run(c, 0.45f, 1));
        Assert.Equal([1, 2, 3, 0], PoseNms.Run(c, 0.9f, 10));
        Assert.Empty(PoseNms.Run(new PoseCandidates(), 0.45f, 10));
    }

    [Fact]
    public void Iou_of_known_boxes()
    {
        Assert.Equal(1f, PoseNms.Iou(0, 0, 10, 10, 0, 0, 10, 10));
        Assert.Equal(0f, PoseNms.Iou(0, 0, 10, 10, 10, 0, 20, 10));
        Assert.Equal(25f / 175, PoseNms.Iou(0, 0, 10, 10, 5, 5, 15, 15), 1e-6f);
        Assert.Equal(0f, PoseNms.Iou(0, 0, 0, 0, 0, 0, 0, 0));
    }

    [Fact]
    public void Properties_hold_on_random_candidate_sets()
    {
        var rng = new Random(11);
        for (var trial = 0; trial < 200; trial++)
        {
            var n = rng.Next(0, 300);
            var boxes = Enumerable.Range(0, n).Select(_ =>
            {
                float x = rng.NextSingle() * 600, y = rng.NextSingle() * 600, w = 5 + rng.NextSingle() * 200, h = 5 + rng.NextSingle() * 300;
                return (x, y, x + w, y + h, rng.NextSingle());
            }).ToArray();
            var c = Of(boxes);
            var iou = 0.1f + rng.NextSingle() * 0.8f;
            var max = rng.Next(1, 50);
            var kept = PoseNms.Run(c, iou, max);
            Assert.True(kept.Length <= max);
            Assert.Equal(kept.Length, kept.Distinct().Count());
            for (var i = 1; i < kept.Length; i++) Assert.True(boxes[kept[i - 1]].Item5 >= boxes[kept[i]].Item5, "kept in descending score");
            for (var i = 0; i < kept.Length; i++)
                for (var j = i + 1; j < kept.Length; j++)
                {
                    var (a, b) = (boxes[kept[i]], boxes[kept[j]]);
                    Assert.True(PoseNms.Iou(a.Item1, a.Item2, a.Item3, a.Item4, b.Item1, b.Item2, b.Item3, b.Item4) <= iou, "no two kept boxes overlap beyond the threshold");
                }
            if (kept.Length == max) continue;
            // Every dropped candidate overlaps a kept one that scores at least as high.
            var keptSet = kept.ToHashSet();
            for (var i = 0; i < n; i++)
            {
                if (keptSet.Contains(i)) continue;
                var d = boxes[i];
                Assert.Contains(kept, k => boxes[k].Item5 >= d.Item5 && PoseNms.Iou(d.Item1, d.Item2, d.Item3, d.Item4, boxes[k].Item1, boxes[k].Item2, boxes[k].Item3, boxes[k].Item4) > iou);
            }
        }
    }
}
