using System.Text;

namespace Hailo.TestSupport;

/// <summary>
/// A generated CLIP ViT-B/32 stand-in with the Hugging Face export's signature and known, checkable outputs:
/// <list type="bullet">
/// <item>image tower `pixel_values` [1, 3, 224, 224] → `image_embeds` [1, 512]: the three channel means of the
/// normalised input in dimensions 0-2 (red, green, blue), zero elsewhere;</item>
/// <item>text tower `input_ids` [1, 77] int64 and `attention_mask` [1, 77] int64 → `text_embeds` [1, 512]: the sum of
/// one table row per unmasked token: "red" → dimension 0, "green" → 1, "blue" → 2, start and end token 0.5 each in
/// dimension 3, the padding id 0 → dimension 4 (so a tower fed no mask, or a wrong one, answers differently);</item>
/// <item>a merges file of 17 merges (ids derivable by hand: 256 byte symbols, 256 with &lt;/w&gt;, ids 512-528 the
/// merges below, 529 start, 530 end).</item>
/// </list>
/// So a uniformly red image ranks "red" first, and every expected score is a formula of the image's colour.
/// </summary>
public static class ClipTestModel
{
    public const int Dimension = 512;
    public const int Vocab = 531;
    public const int Red = 525, Green = 523, Blue = 528, Start = 529, End = 530;

    /// <summary>The merges, in rank order (header first). Ids: line n (from 0, after the header) is id 512 + n.</summary>
    public static readonly string[] Merges =
    [
        "#version: 0.2",
        "c a", "ca t</w>", "d o", "do g</w>", "h e", "l l", "he ll", "hell o</w>",
        "g r", "e e", "gr ee", "gree n</w>", "r e", "re d</w>", "b l", "bl u", "blu e</w>",
    ];

    public static string MergesText => string.Join("\n", Merges) + "\n";

    public static byte[] ImageTower()
    {
        var w = new OnnxWriter()
            .Input("pixel_values", [-1, 3, 224, 224], symbolic: ["batch_size", null, null, null])
            .Output("image_embeds", [-1, Dimension], symbolic: ["batch_size", null]);
        var means = w.Node("ReduceMean", ["pixel_values"], null, ("axes", new long[] { 2, 3 }), ("keepdims", 0L));
        var map = new float[3 * Dimension];
        for (var c = 0; c < 3; c++) map[c * Dimension + c] = 1;
        w.Node("MatMul", [means, w.Constant(map, [3, Dimension])], "image_embeds");
        return w.ToBytes();
    }

    /// <summary>The rows of the text tower's table.</summary>
    public static float[] TextTable()
    {
        var table = new float[Vocab * Dimension];
        table[Red * Dimension + 0] = 1;
        table[Green * Dimension + 1] = 1;
        table[Blue * Dimension + 2] = 1;
        table[Start * Dimension + 3] = 0.5f;
        table[End * Dimension + 3] = 0.5f;
        table[0 * Dimension + 4] = 1;
        return table;
    }

    public static byte[] TextTower()
    {
        var w = new OnnxWriter()
            .Input("input_ids", [-1, -1], OnnxWriter.Int64, ["batch_size", "sequence_length"])
            .Input("attention_mask", [-1, -1], OnnxWriter.Int64, ["batch_size", "sequence_length"])
            .Output("text_embeds", [-1, Dimension], symbolic: ["batch_size", null]);
        var rows = w.Node("Gather", [w.Constant(TextTable(), [Vocab, Dimension]), "input_ids"], null, ("axis", 0L));
        var mask = w.Node("Cast", ["attention_mask"], null, ("to", (long)OnnxWriter.Float));
        var mask3 = w.Node("Unsqueeze", [mask, w.ConstantInt64([2], [1])]);
        var masked = w.Node("Mul", [rows, mask3]);
        w.Node("ReduceSum", [masked, w.ConstantInt64([1], [1])], "text_embeds", ("keepdims", 0L));
        return w.ToBytes();
    }

    /// <summary>The three towers' files under <paramref name="dir"/> with the given names.</summary>
    public static void Write(string dir, string imageFile, string textFile, string mergesFile)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, imageFile), ImageTower());
        File.WriteAllBytes(Path.Combine(dir, textFile), TextTower());
        File.WriteAllText(Path.Combine(dir, mergesFile), MergesText, new UTF8Encoding(false));
    }

    /// <summary>CLIP's normalised channel values of one 8-bit colour: (v / 255 − mean) / std.</summary>
    public static double[] NormalisedColour(byte r, byte g, byte b) =>
    [
        (r / 255.0 - 0.48145466) / 0.26862954,
        (g / 255.0 - 0.4578275) / 0.26130258,
        (b / 255.0 - 0.40821073) / 0.27577711,
    ];

    /// <summary>The expected L2-normalised image embedding of a uniform image (dimensions 0-2; the rest are zero).</summary>
    public static double[] ImageEmbedding(byte r, byte g, byte b)
    {
        var m = NormalisedColour(r, g, b);
        var n = Math.Sqrt(m.Sum(x => x * x));
        return [m[0] / n, m[1] / n, m[2] / n];
    }
}
