using System.Numerics;
using Hailo.Vision;
using HailoOcr.Pipeline;
using Xunit;

namespace Hailo.Ocr.Tests.Pipeline;

public class ReadingOrderTests
{
    private static TextBox Box(float cx, float cy, float w, float h, double degrees = 0, float score = 0.9f)
        => new(Geometry.OrderCorners(Quads.RotatedRect(new Vector2(cx, cy), w, h, degrees)), score);

    private static List<TextBox> TwoTiltedLines()
    {
        // Each line slopes down to the right by 3°, so a later word sits lower than the line's first word;
        // the second line's first word is still clearly below the first line's last.
        var boxes = new List<TextBox>();
        var slope = (float)Math.Tan(3 * Math.PI / 180);
        for (var line = 0; line < 2; line++)
        for (var word = 0; word < 4; word++)
        {
            var x = 60 + 110 * word;
            boxes.Add(Box(x, 40 + 60 * line + slope * x + (word % 2 == 0 ? 2 : -2), 90, 28, 3));
        }
        return boxes;
    }

    [Fact]
    public void TiltedLines_SortByLineThenX()
    {
        var expected = TwoTiltedLines();
        var rng = new Random(1);
        for (var trial = 0; trial < 20; trial++)
        {
            var boxes = expected.ToList();
            Quads.Shuffle(rng, boxes);
            ReadingOrder.Sort(boxes);
            Assert.Equal(expected, boxes);
        }
    }

    [Fact]
    public void RightWordSlightlyHigher_StillComesAfterLeftWord()
    {
        var left = Box(50, 105, 80, 30);
        var right = Box(200, 96, 80, 24);
        var below = Box(40, 160, 80, 30);
        var boxes = new List<TextBox> { below, right, left };
        ReadingOrder.Sort(boxes);
        Assert.Equal([left, right, below], boxes);
    }

    [Fact]
    public void DifferentLines_UseHalfTheSmallerHeight()
    {
        // Centres 12 apart: the same line when the smaller box is 30 high (limit 15), separate when 20 (limit 10).
        var a = Box(200, 100, 80, 40);
        var b = Box(50, 112, 80, 30);
        var boxes = new List<TextBox> { a, b };
        ReadingOrder.Sort(boxes);
        Assert.Equal([b, a], boxes);

        var c = Box(50, 112, 80, 20);
        boxes = [c, a];
        ReadingOrder.Sort(boxes);
        Assert.Equal([a, c], boxes);
    }

    [Fact]
    public void Sort_IsStableAndDeterministic()
    {
        // Identical geometry: input order decides.
        var first = Box(10, 10, 20, 10, score: 0.1f);
        var second = Box(10, 10, 20, 10, score: 0.2f);
        var boxes = new List<TextBox> { first, second };
        ReadingOrder.Sort(boxes);
        Assert.Same(first, boxes[0]);
        boxes = [second, first];
        ReadingOrder.Sort(boxes);
        Assert.Same(second, boxes[0]);

        // A random scatter sorts to the same order from any starting permutation.
        var rng = new Random(5);
        var scatter = new List<TextBox>();
        for (var i = 0; i < 60; i++)
            scatter.Add(Box(rng.Next(0, 900), rng.Next(0, 900), 20 + rng.Next(200), 10 + rng.Next(40), rng.NextDouble() * 10 - 5));
        var reference = scatter.ToList();
        ReadingOrder.Sort(reference);
        for (var trial = 0; trial < 10; trial++)
        {
            var copy = scatter.ToList();
            Quads.Shuffle(rng, copy);
            ReadingOrder.Sort(copy);
            Assert.Equal(reference, copy);
        }
    }

    [Fact]
    public void EmptyAndSingle_AreFine()
    {
        var empty = new List<TextBox>();
        ReadingOrder.Sort(empty);
        Assert.Empty(empty);
        var one = new List<TextBox> { Box(1, 1, 2, 2) };
        ReadingOrder.Sort(one);
        Assert.Single(one);
    }
}
