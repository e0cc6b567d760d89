using System.Globalization;
using System.Text.RegularExpressions;

namespace HailoFlorence.Pipeline;

/// <summary>A labelled box in image pixels: x1, y1, x2, y2.</summary>
public sealed record LabeledBox(string Label, double X1, double Y1, double X2, double Y2);

/// <summary>A labelled quadrilateral in image pixels: four (x, y) corners in the order the model wrote them.</summary>
public sealed record LabeledQuad(string Label, (double X, double Y)[] Points);

/// <summary>What a task produced: its text (special and location tokens removed) and, per task, boxes or quadrilaterals.</summary>
public sealed record TaskResult(string Text, IReadOnlyList<LabeledBox> Boxes, IReadOnlyList<LabeledQuad> Quads);

/// <summary>
/// Florence-2's post-processing (its processor's post_process_generation): special tokens dropped; &lt;loc_N&gt; tokens
/// are bins of 1000 over the image's width and height, a bin's centre in pixels being (N + 0.5) · size / 1000. A phrase
/// followed by groups of four locations is one box per group (x1, y1, x2, y2); a text followed by groups of eight is one
/// quadrilateral per group.
/// </summary>
public static partial class FlorencePostprocess
{
    [GeneratedRegex(@"<loc_(\d{1,3})>", RegexOptions.CultureInvariant)]
    private static partial Regex Loc();

    /// <summary>The generated text without &lt;s&gt;, &lt;/s&gt; and &lt;pad&gt;.</summary>
    public static string Clean(string generated) =>
        generated.Replace("</s>", "", StringComparison.Ordinal).Replace("<s>", "", StringComparison.Ordinal).Replace("<pad>", "", StringComparison.Ordinal);

    /// <summary>The bin's centre in pixels along a side of <paramref name="size"/> pixels.</summary>
    public static double Dequantize(int bin, int size) => Math.Clamp((bin + 0.5) * size / BartTokenizer.LocBins, 0, size);

    public static TaskResult Parse(string generated, TaskOutput output, int width, int height)
    {
        var text = Clean(generated);
        var plain = Loc().Replace(text, "").Trim();
        if (output == TaskOutput.Text) return new TaskResult(plain, [], []);
        var boxes = new List<LabeledBox>();
        var quads = new List<LabeledQuad>();
        var group = output == TaskOutput.Boxes ? 4 : 8;
        // Walk the text: a run of location tokens closes the label written before it.
        var pos = 0;
        var label = "";
        var run = new List<int>();
        void Flush()
        {
            for (var g = 0; g + group <= run.Count; g += group)
            {
                if (output == TaskOutput.Boxes)
                {
                    double x1 = Dequantize(run[g], width), y1 = Dequantize(run[g + 1], height), x2 = Dequantize(run[g + 2], width), y2 = Dequantize(run[g + 3], height);
                    boxes.Add(new LabeledBox(label, Math.Min(x1, x2), Math.Min(y1, y2), Math.Max(x1, x2), Math.Max(y1, y2)));
                }
                else
                {
                    var pts = new (double, double)[4];
                    for (var k = 0; k < 4; k++) pts[k] = (Dequantize(run[g + 2 * k], width), Dequantize(run[g + 2 * k + 1], height));
                    quads.Add(new LabeledQuad(label, pts));
                }
            }
            run.Clear();
        }
        foreach (Match m in Loc().Matches(text))
        {
            if (m.Index > pos)
            {
                var between = text[pos..m.Index];
                if (run.Count > 0) Flush();
                label = between.Trim();
            }
            run.Add(int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture));
            pos = m.Index + m.Length;
        }
        if (run.Count > 0) Flush();
        return new TaskResult(plain, boxes, quads);
    }
}
