using Xunit;

namespace Hailo.Vision.Tests;

/// <summary>Greedy NMS, class-agnostic and per class: hand-made cases and properties over random candidate sets.</summary>
public sealed class NmsTests
{
    /// <summary>Flat rows x1, y1, x2, y2, score, then one extra value (as decoders append keypoints).</summary>
    private static float[] Rows(params (float X1, float Y1, float X2, float Y2, float Score)[] boxes)
    {
        var rows = new float[boxes.Length * 6];
        for (var i = 0; i < boxes.Length; i++)
            (rows[6 * i], rows[6 * i + 1], rows[6 * i + 2], rows[6 * i + 3], rows[6 * i + 4], rows[6 * i + 5]) =
                (boxes[i].X1, boxes[i].Y1, boxes[i].X2, boxes[i].Y2, boxes[i].Score, -1);
        return rows;
    }

    [Fact]
    public void Overlapping_duplicates_keep_the_best_and_separate_boxes_stay()
    {
        var c = Rows((0, 0, 100, 200, 0.6f), (5, 5, 105, 205, 0.9f), (300, 0, 400, 200, 0.7f), (60, 0, 160, 200, 0.65f));
        // IoU(0,1) = 0.82; IoU(1,3) = 0.28; box 2 is apart.
        Assert.Equal([1, 2, 3], Nms.ClassAgnostic(c, 6, 0.45f, 10));
        Assert.Equal([1, 2], Nms.ClassAgnostic(c, 6, 0.25f, 10));
        Assert.Equal([1], Nms.ClassAgnostic(c, 6, 0.45f, 1));
        Assert.Equal([1, 2, 3, 0], Nms.ClassAgnostic(c, 6, 0.9f, 10));
        Assert.Empty(Nms.ClassAgnostic([], 6, 0.45f, 10));
        Assert.Empty(Nms.ClassAgnostic(c, 6, 0.45f, 0));
    }

    [Fact]
    public void Detections_give_the_same_answer_as_rows()
    {
        Detection[] d = [new(new Box(0, 0, 100, 200), 0.6f), new(new Box(5, 5, 105, 205), 0.9f), new(new Box(300, 0, 400, 200), 0.7f), new(new Box(60, 0, 160, 200), 0.65f)];
        Assert.Equal([1, 2, 3], Nms.ClassAgnostic(d, 0.45f, 10));
        Assert.Equal([1, 2], Nms.ClassAgnostic(d, 0.25f, 10));
    }

    [Fact]
    public void Per_class_suppresses_only_within_a_class()
    {
        // A person and a bicycle with the same box: class-agnostic NMS drops the weaker, per-class NMS keeps both.
        Detection[] d =
        [
            new(new Box(0, 0, 100, 100), 0.9f, ClassId: 0),
            new(new Box(2, 2, 102, 102), 0.8f, ClassId: 1),
            new(new Box(1, 1, 101, 101), 0.7f, ClassId: 0),
            new(new Box(3, 3, 103, 103), 0.6f, ClassId: 1),
        ];
        Assert.Equal([0], Nms.ClassAgnostic(d, 0.5f, 10));
        Assert.Equal([0, 1], Nms.PerClass(d, 0.5f, 10));
        Assert.Equal([0], Nms.PerClass(d, 0.5f, 1));
        Assert.Equal([0, 1, 2, 3], Nms.PerClass(d, 0.99f, 10));
    }

    [Fact]
    public void Iou_of_known_boxes()
    {
        Assert.Equal(1f, Box.Iou(0, 0, 10, 10, 0, 0, 10, 10));
        Assert.Equal(0f, Box.Iou(0, 0, 10, 10, 10, 0, 20, 10));
        Assert.Equal(25f / 175, Box.Iou(0, 0, 10, 10, 5, 5, 15, 15), 1e-6f);
        Assert.Equal(0f, Box.Iou(0, 0, 0, 0, 0, 0, 0, 0));
        Assert.Equal(25f / 175, new Box(0, 0, 10, 10).Iou(new Box(5, 5, 15, 15)), 1e-6f);
        Assert.Equal(new Box(5, 5, 15, 25), Box.FromCentre(10, 15, 10, 20));
        Assert.Equal(new Box(5, 5, 15, 25), Box.FromDistances(10, 15, 5, 10, 5, 10));
        Assert.Equal(0f, new Box(10, 10, 5, 5).Area);
        Assert.Equal(new Box(0, 2, 50, 40), new Box(-3, 2, 70, 90).Clip(50, 40));
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
            var classes = boxes.Select(_ => rng.Next(3)).ToArray();
            var iou = 0.1f + rng.NextSingle() * 0.8f;
            var max = rng.Next(1, 50);
            var agnostic = Nms.ClassAgnostic(Rows(boxes), 6, iou, max);
            var detections = boxes.Select((b, i) => new Detection(new Box(b.Item1, b.Item2, b.Item3, b.Item4), b.Item5, classes[i])).ToArray();
            Assert.Equal(agnostic, Nms.ClassAgnostic(detections, iou, max));
            Check(agnostic, (_, _) => true);
            Check(Nms.PerClass(detections, iou, max), (a, b) => classes[a] == classes[b]);

            void Check(int[] kept, Func<int, int, bool> competes)
            {
                Assert.True(kept.Length <= max);
                Assert.Equal(kept.Length, kept.Distinct().Count());
                for (var i = 1; i < kept.Length; i++) Assert.True(boxes[kept[i - 1]].Item5 >= boxes[kept[i]].Item5, "kept in descending score");
                for (var i = 0; i < kept.Length; i++)
                    for (var j = i + 1; j < kept.Length; j++)
                        if (competes(kept[i], kept[j]))
                            Assert.True(Iou(kept[i], kept[j]) <= iou, "no two kept boxes that compete overlap beyond the threshold");
                if (kept.Length == max) return;
                // Every dropped candidate overlaps a kept one it competes with that scores at least as high.
                var keptSet = kept.ToHashSet();
                for (var i = 0; i < n; i++)
                {
                    if (keptSet.Contains(i)) continue;
                    Assert.Contains(kept, k => competes(k, i) && boxes[k].Item5 >= boxes[i].Item5 && Iou(i, k) > iou);
                }
            }

            float Iou(int a, int b) => Box.Iou(boxes[a].Item1, boxes[a].Item2, boxes[a].Item3, boxes[a].Item4, boxes[b].Item1, boxes[b].Item2, boxes[b].Item3, boxes[b].Item4);
        }
    }
}
