using Hailo.TestSupport;

namespace Hailo.Bench;

/// <summary>
/// CLIP ViT-B/32's two towers as ONNX graphs with CLIP's own architecture and random weights, so that a benchmark's
/// model costs what the real model costs (same layers, widths, token counts and operators), not what a stand-in of
/// similar FLOPs costs: ORT runs a dense convolution trunk near the machine's peak, a transformer's small matrix
/// products and softmax well below it.
/// <list type="bullet">
/// <item>Image: a 32×32/32 patch convolution (768 channels, 49 patches) with a class token and positions, a pre-norm,
/// 12 pre-norm residual blocks (12 heads, MLP 3072 with QuickGELU), the class token's post-norm and a 768 → 512
/// projection. 4.4 G multiply-adds, the figure published for ViT-B/32 at 224 px.</item>
/// <item>Text: 77 token rows of width 512 with positions, 12 causal blocks of 8 heads, the final norm, the row of the
/// highest id (CLIP's end-of-text token has the highest id) and a 512 → 512 projection: about 3 G multiply-adds.</item>
/// </list>
/// Weights have a standard deviation of 0.02 (CLIP's initialisation); only cost is claimed, not meaning.
/// </summary>
internal static class ClipArchitecture
{
    /// <summary>pixel_values [1, 3, 224, 224] → image_embeds [1, 512]; returns the model and its G multiply-adds.</summary>
    public static (byte[] Model, double GMacs) ImageTower(int seed = 11)
    {
        const int Width = 768, Patch = 32, Grid = 7, Tokens = Grid * Grid + 1, Embed = 512;
        var w = new OnnxWriter().Input("pixel_values", [1, 3, 224, 224]).Output("image_embeds", [1, Embed]);
        var b = new Builder(w, seed);
        var patches = w.Node("Conv", ["pixel_values", b.Weights([Width, 3, Patch, Patch])], null,
            ("kernel_shape", new long[] { Patch, Patch }), ("strides", new long[] { Patch, Patch }));
        double macs = (double)Width * 3 * Patch * Patch * Grid * Grid;
        var rows = w.Node("Transpose", [w.Node("Reshape", [patches, w.ConstantInt64([1, Width, Grid * Grid], [3])])], null, ("perm", new long[] { 0, 2, 1 }));
        var x = w.Node("Concat", [b.Weights([1, 1, Width]), rows], null, ("axis", 1L));
        x = b.LayerNorm(w.Node("Add", [x, b.Weights([1, Tokens, Width])]), Width);
        x = b.Blocks(x, Tokens, Width, heads: 12, layers: 12, causal: false, ref macs);
        var cls = w.Node("Gather", [x, w.ConstantInt64([0], [])], null, ("axis", 1L));
        w.Node("MatMul", [b.LayerNorm(cls, Width), b.Weights([Width, Embed])], "image_embeds");
        macs += (double)Width * Embed;
        return (w.ToBytes(), macs / 1e9);
    }

    /// <summary>input_ids, attention_mask [1, 77] → text_embeds [1, 512]; returns the model and its G multiply-adds.</summary>
    public static (byte[] Model, double GMacs) TextTower(int vocab, int seed = 12)
    {
        const int Width = 512, Tokens = 77, Embed = 512;
        var w = new OnnxWriter()
            .Input("input_ids", [1, Tokens], OnnxWriter.Int64).Input("attention_mask", [1, Tokens], OnnxWriter.Int64).Output("text_embeds", [1, Embed]);
        var b = new Builder(w, seed);
        var x = w.Node("Gather", [b.Weights([vocab, Width]), "input_ids"], null, ("axis", 0L));
        x = w.Node("Add", [x, b.Weights([1, Tokens, Width])]);
        double macs = 0;
        x = b.LayerNorm(b.Blocks(x, Tokens, Width, heads: 8, layers: 12, causal: true, ref macs), Width);
        // The end-of-text row (the highest id), as CLIP's text model picks it; the mask multiplies by 1 there.
        var ids = w.Node("Cast", ["input_ids"], null, ("to", (long)OnnxWriter.Float));
        var eot = w.Node("ArgMax", [ids], null, ("axis", 1L), ("keepdims", 0L));
        var row = w.Node("Reshape", [w.Node("Gather", [x, eot], null, ("axis", 1L)), w.ConstantInt64([1, Width], [2])]);
        var mask = w.Node("Cast", [w.Node("ReduceMax", ["attention_mask"], null, ("keepdims", 1L))], null, ("to", (long)OnnxWriter.Float));
        w.Node("MatMul", [w.Node("Mul", [row, mask]), b.Weights([Width, Embed])], "text_embeds");
        macs += (double)Width * Embed;
        return (w.ToBytes(), macs / 1e9);
    }

    private sealed class Builder(OnnxWriter w, int seed)
    {
        private readonly Random _rng = new(seed);

        public string Weights(long[] shape, float scale = 0.02f)
        {
            var n = 1L;
            foreach (var d in shape) n *= d;
            var data = new float[n];
            // Uniform on ±√3·scale: a standard deviation of scale.
            var half = scale * MathF.Sqrt(3);
            for (var i = 0; i < data.Length; i++) data[i] = (_rng.NextSingle() * 2 - 1) * half;
            return w.Constant(data, shape);
        }

        private string Filled(int n, float value) => w.Constant(Enumerable.Repeat(value, n).ToArray(), [n]);

        public string LayerNorm(string x, int width) =>
            w.Node("LayerNormalization", [x, Filled(width, 1), Filled(width, 0)], null, ("axis", -1L), ("epsilon", 1e-5f));

        private string Linear(string x, int from, int to, int tokens, ref double macs)
        {
            macs += (double)tokens * from * to;
            return w.Node("Add", [w.Node("MatMul", [x, Weights([from, to])]), Filled(to, 0)]);
        }

        /// <summary>Pre-norm residual blocks: x + attention(norm(x)), then x + MLP(norm(x)) with QuickGELU.</summary>
        public string Blocks(string x, int tokens, int width, int heads, int layers, bool causal, ref double macs)
        {
            var head = width / heads;
            var split = w.ConstantInt64([1, tokens, heads, head], [4]);
            var merge = w.ConstantInt64([1, tokens, width], [3]);
            var scale = w.Constant([1f / MathF.Sqrt(head)], [1]);
            string? mask = null;
            if (causal)
            {
                var m = new float[tokens * tokens];
                for (var i = 0; i < tokens; i++)
                    for (var j = i + 1; j < tokens; j++) m[i * tokens + j] = float.NegativeInfinity;
                mask = w.Constant(m, [tokens, tokens]);
            }
            for (var l = 0; l < layers; l++)
            {
                var h = LayerNorm(x, width);
                string Heads(string t, long[] perm) => w.Node("Transpose", [w.Node("Reshape", [t, split])], null, ("perm", perm));
                var q = Heads(Linear(h, width, width, tokens, ref macs), [0, 2, 1, 3]);
                var k = Heads(Linear(h, width, width, tokens, ref macs), [0, 2, 3, 1]);
                var v = Heads(Linear(h, width, width, tokens, ref macs), [0, 2, 1, 3]);
                var scores = w.Node("Mul", [w.Node("MatMul", [q, k]), scale]);
                if (mask is not null) scores = w.Node("Add", [scores, mask]);
                var attended = w.Node("MatMul", [w.Node("Softmax", [scores], null, ("axis", -1L)), v]);
                macs += 2.0 * tokens * tokens * width;
                var joined = w.Node("Reshape", [w.Node("Transpose", [attended], null, ("perm", new long[] { 0, 2, 1, 3 })), merge]);
                x = w.Node("Add", [x, Linear(joined, width, width, tokens, ref macs)]);
                var up = Linear(LayerNorm(x, width), width, 4 * width, tokens, ref macs);
                var gelu = w.Node("Mul", [up, w.Node("Sigmoid", [w.Node("Mul", [up, w.Constant([1.702f], [1])])])]);
                x = w.Node("Add", [x, Linear(gelu, 4 * width, width, tokens, ref macs)]);
            }
            return x;
        }
    }
}
