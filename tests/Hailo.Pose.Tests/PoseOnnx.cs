using Hailo.Media;
using Hailo.TestSupport;
using Hailo.Vision;

namespace Hailo.Pose.Tests;

/// <summary>
/// Generates YOLOv8-pose ONNX models with the real export signature (input `images` [1, 3, 640, 640] float, output
/// [1, 56, 8400]) whose output encodes known people (input pixels) in the export's layout: one column per anchor,
/// rows cx, cy, w, h, score, 17 × (x, y, visibility). The input is wired in: by default its mean times 0 is added
/// (the model really consumes the tensor); with expected per-channel means, any deviation of the service's
/// pre-processing (channel order, scaling, pad colour, placement) shifts every output value and breaks the answer.
/// </summary>
internal static class PoseOnnx
{
    public const int Anchors = 8400;

    /// <param name="compact">
    /// Store only the people's columns (the first ones) and pad the rest with zeros in the graph: a model of a few KB
    /// instead of 1.9 MB, used as the committed smoke-test fixture.
    /// </param>
    public static byte[] Build(IReadOnlyList<KnownPerson> inputSpacePeople, float[]? expectedChannelMeans = null, bool compact = false)
    {
        var w = new OnnxWriter().Input("images", [1, 3, 640, 640]).Output("output0", [1, 56, Anchors]);
        string constant;
        if (compact)
        {
            var n = inputSpacePeople.Count;
            var data = new float[56 * n];
            for (var i = 0; i < n; i++) SetColumn(data, n, i, inputSpacePeople[i]);
            constant = w.Node("Pad", [w.Constant(data, [1, 56, n]), w.ConstantInt64([0, 0, 0, 0, 0, Anchors - n], [6])]);
        }
        else
        {
            var data = new float[56 * Anchors];
            for (var i = 0; i < inputSpacePeople.Count; i++) SetColumn(data, Anchors, 100 + 997 * i, inputSpacePeople[i]);
            constant = w.Constant(data, [1, 56, Anchors]);
        }
        string shift;
        if (expectedChannelMeans is null)
        {
            var mean = w.Node("ReduceMean", ["images"], null, ("keepdims", 0L));
            shift = w.Node("Mul", [mean, w.Constant([0f], [1])]);
        }
        else
        {
            // Row means first, then the mean of the rows: short float sums keep the channel means exact to ~1e-7.
            var rows = w.Node("ReduceMean", ["images"], null, ("axes", new long[] { 3 }), ("keepdims", 0L));
            var planes = w.Node("ReduceMean", [rows], null, ("axes", new long[] { 2 }), ("keepdims", 0L));
            var means = w.Node("ReduceMean", [planes], null, ("axes", new long[] { 0 }), ("keepdims", 0L));
            var diff = w.Node("Sub", [means, w.Constant(expectedChannelMeans, [3])]);
            var weighted = w.Node("Mul", [diff, w.Constant([300f, 600f, 900f], [3])]);
            shift = w.Node("ReduceMean", [weighted], null, ("keepdims", 0L));
        }
        w.Node("Add", [constant, shift], "output0");
        return w.ToBytes();
    }

    /// <summary>The per-channel means of the [0, 1] input the service should feed for a uniform image of one colour.</summary>
    public static float[] UniformImageMeans(int width, int height, byte r, byte g, byte b)
    {
        var fit = LetterboxTransform.Fit(width, height, 640, 640);
        var f = fit.ScaledWidth * fit.ScaledHeight / (640f * 640f);
        return [(r * f + 114 * (1 - f)) / 255, (g * f + 114 * (1 - f)) / 255, (b * f + 114 * (1 - f)) / 255];
    }

    /// <summary>One column of a [56, columns] matrix: cx, cy, w, h, score, 17 × (x, y, v).</summary>
    private static void SetColumn(float[] d, int columns, int col, KnownPerson p)
    {
        d[col] = (p.X1 + p.X2) / 2;
        d[columns + col] = (p.Y1 + p.Y2) / 2;
        d[2 * columns + col] = p.X2 - p.X1;
        d[3 * columns + col] = p.Y2 - p.Y1;
        d[4 * columns + col] = p.Score;
        for (var k = 0; k < 17; k++)
        {
            d[(5 + 3 * k) * columns + col] = p.Keypoints[k].X;
            d[(6 + 3 * k) * columns + col] = p.Keypoints[k].Y;
            d[(7 + 3 * k) * columns + col] = p.Keypoints[k].V;
        }
    }

    /// <summary>A scene for an image of the given size: three people, two near-duplicates NMS must drop, one below 0.5.</summary>
    public static (KnownPerson[] Expected, KnownPerson[] Encoded) Scene(int width, int height)
    {
        var people = Pipeline.YoloPoseHeadsTests.PeopleFor(width, height);
        var fit = LetterboxTransform.Fit(width, height, 640, 640);
        var input = people.Select(p => p.ToInput(fit)).ToList();
        KnownPerson Shifted(KnownPerson p, float by, float score) => p with
        {
            X1 = p.X1 + by, X2 = p.X2 + by, Score = score,
            Keypoints = p.Keypoints.Select(k => (k.X + by, k.Y, k.V)).ToArray(),
        };
        input.Add(Shifted(input[0], 4, 0.55f));
        input.Add(Shifted(input[1], -3, 0.60f));
        input.Add(KnownPerson.Standing(10, 10, 60, 120, 0.3f));
        return (people, input.ToArray());
    }
}
