using System.Numerics;

namespace HailoOcr.Pipeline;

/// <summary>Sorts text boxes into reading order: lines top to bottom, boxes left to right within a line.</summary>
public static class ReadingOrder
{
    /// <summary>
    /// Sorts top-to-bottom, then left-to-right within a line: two boxes are on the same line when their vertical
    /// centres differ by less than half the smaller box height. Stable and deterministic.
    /// </summary>
    public static void Sort(List<TextBox> boxes)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        var n = boxes.Count;
        if (n < 2) return;

        // "Same line" is not transitive, so it cannot be a comparer. Instead: order by vertical centre, chain
        // consecutive boxes into lines (a slightly tilted line drifts in y box by box), then order each line by x.
        var keys = new Key[n];
        for (var i = 0; i < n; i++) keys[i] = Key.Of(boxes[i], i);
        keys.AsSpan().Sort(new ByY());

        var line = 0;
        keys[0].Line = 0;
        for (var i = 1; i < n; i++)
        {
            ref readonly var prev = ref keys[i - 1];
            var limit = 0.5f * MathF.Min(prev.Height, keys[i].Height);
            if (!(keys[i].Cy - prev.Cy < limit)) line++;
            keys[i].Line = line;
        }
        keys.AsSpan().Sort(new ByLineThenX());

        var sorted = new TextBox[n];
        for (var i = 0; i < n; i++) sorted[i] = boxes[keys[i].Index];
        for (var i = 0; i < n; i++) boxes[i] = sorted[i];
    }

    private struct Key
    {
        public float Cx, Cy, Height;
        public int Index, Line;

        public static Key Of(TextBox box, int index)
        {
            var c = box.Corners;
            Vector2 sum = default;
            foreach (var p in c) sum += p;
            var centre = c.Length > 0 ? sum / c.Length : default;
            // Text height is the quad's own left/right side length, not its vertical extent: a long tilted line
            // would otherwise swallow its neighbours.
            var height = c.Length == 4
                ? 0.5f * (Vector2.Distance(c[0], c[3]) + Vector2.Distance(c[1], c[2]))
                : 0f;
            return new Key { Cx = centre.X, Cy = centre.Y, Height = height, Index = index };
        }
    }

    private readonly struct ByY : IComparer<Key>
    {
        public int Compare(Key a, Key b)
        {
            var c = a.Cy.CompareTo(b.Cy);
            if (c != 0) return c;
            c = a.Cx.CompareTo(b.Cx);
            return c != 0 ? c : a.Index.CompareTo(b.Index);
        }
    }

    private readonly struct ByLineThenX : IComparer<Key>
    {
        public int Compare(Key a, Key b)
        {
            var c = a.Line.CompareTo(b.Line);
            if (c != 0) return c;
            c = a.Cx.CompareTo(b.Cx);
            if (c != 0) return c;
            c = a.Cy.CompareTo(b.Cy);
            return c != 0 ? c : a.Index.CompareTo(b.Index);
        }
    }
}
