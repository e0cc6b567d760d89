using System.Text;

namespace Hailo.TestSupport;

/// <summary>
/// Writes a tiny multimodal projector GGUF that llama.cpp's libmtmd loads: a CLIP-style ViT (patch embedding, class
/// and position embeddings, pre-norm transformer blocks) and LLaVA's two-layer MLP projector ("mlp"), random F32
/// weights. Its output width is the text model's embedding width, so it pairs with a <see cref="GgufWriter"/> model of
/// that width. An image becomes (ImageSize / PatchSize)² tokens. The weights are random: what it proves is the path
/// (loading, image → bitmap → embedding → the text model's context, the token counts), not what a model would see.
/// </summary>
public static class MmprojWriter
{
    public sealed record Spec(int TextEmbd, int ImageSize = 32, int PatchSize = 8, int Embd = 32, int Ff = 64, int Layers = 2,
        int Heads = 4, int Hidden = 64, int Seed = 7)
    {
        public int Patches => ImageSize / PatchSize * (ImageSize / PatchSize);
    }

    public static void Write(string path, Spec spec)
    {
        var kv = new List<(string Key, Action<BinaryWriter> Value)>();
        void Str(string k, string v) => kv.Add((k, w => { w.Write(8u); WriteString(w, v); }));
        void U32(string k, uint v) => kv.Add((k, w => { w.Write(4u); w.Write(v); }));
        void F32(string k, float v) => kv.Add((k, w => { w.Write(6u); w.Write(v); }));
        void Bool(string k, bool v) => kv.Add((k, w => { w.Write(7u); w.Write((byte)(v ? 1 : 0)); }));
        void F32Arr(string k, float[] v) => kv.Add((k, w => { w.Write(9u); w.Write(6u); w.Write((ulong)v.Length); foreach (var x in v) w.Write(x); }));

        Str("general.architecture", "clip");
        Str("general.name", "tiny random CLIP + LLaVA MLP projector");
        U32("general.file_type", 0);
        Bool("clip.has_vision_encoder", true);
        Bool("clip.has_text_encoder", false);
        Bool("clip.has_llava_projector", true);
        Str("clip.projector_type", "mlp");
        Bool("clip.use_gelu", true);
        U32("clip.vision.image_size", (uint)spec.ImageSize);
        U32("clip.vision.patch_size", (uint)spec.PatchSize);
        U32("clip.vision.embedding_length", (uint)spec.Embd);
        U32("clip.vision.feed_forward_length", (uint)spec.Ff);
        U32("clip.vision.projection_dim", (uint)spec.TextEmbd);
        U32("clip.vision.block_count", (uint)spec.Layers);
        U32("clip.vision.attention.head_count", (uint)spec.Heads);
        F32("clip.vision.attention.layer_norm_epsilon", 1e-5f);
        F32Arr("clip.vision.image_mean", [0.5f, 0.5f, 0.5f]);
        F32Arr("clip.vision.image_std", [0.5f, 0.5f, 0.5f]);

        var rng = new Random(spec.Seed);
        float[] Rand(long n, float scale) { var a = new float[n]; for (var i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale; return a; }
        float[] Ones(long n) { var a = new float[n]; Array.Fill(a, 1f); return a; }
        var e = spec.Embd;
        var tensors = new List<(string Name, long[] Dims, float[] Data)>
        {
            ("v.patch_embd.weight", [spec.PatchSize, spec.PatchSize, 3, e], Rand((long)spec.PatchSize * spec.PatchSize * 3 * e, 0.1f)),
            ("v.class_embd", [e], Rand(e, 0.1f)),
            ("v.position_embd.weight", [e, spec.Patches + 1], Rand((long)e * (spec.Patches + 1), 0.1f)),
            ("v.pre_ln.weight", [e], Ones(e)),
            ("v.pre_ln.bias", [e], new float[e]),
        };
        for (var l = 0; l < spec.Layers; l++)
        {
            var p = $"v.blk.{l}.";
            foreach (var m in new[] { "attn_q", "attn_k", "attn_v", "attn_out" })
            {
                tensors.Add((p + m + ".weight", [e, e], Rand((long)e * e, 0.2f)));
                tensors.Add((p + m + ".bias", [e], Rand(e, 0.05f)));
            }
            foreach (var n in new[] { "ln1", "ln2" })
            {
                tensors.Add((p + n + ".weight", [e], Ones(e)));
                tensors.Add((p + n + ".bias", [e], new float[e]));
            }
            tensors.Add((p + "ffn_up.weight", [e, spec.Ff], Rand((long)e * spec.Ff, 0.2f)));
            tensors.Add((p + "ffn_up.bias", [spec.Ff], Rand(spec.Ff, 0.05f)));
            tensors.Add((p + "ffn_down.weight", [spec.Ff, e], Rand((long)spec.Ff * e, 0.2f)));
            tensors.Add((p + "ffn_down.bias", [e], Rand(e, 0.05f)));
        }
        tensors.Add(("mm.0.weight", [e, spec.Hidden], Rand((long)e * spec.Hidden, 0.2f)));
        tensors.Add(("mm.0.bias", [spec.Hidden], Rand(spec.Hidden, 0.05f)));
        tensors.Add(("mm.2.weight", [spec.Hidden, spec.TextEmbd], Rand((long)spec.Hidden * spec.TextEmbd, 0.2f)));
        tensors.Add(("mm.2.bias", [spec.TextEmbd], Rand(spec.TextEmbd, 0.05f)));

        using var f = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var w = new BinaryWriter(f, Encoding.UTF8);
        w.Write("GGUF"u8);
        w.Write(3u);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)kv.Count);
        foreach (var (k, v) in kv) { WriteString(w, k); v(w); }
        ulong offset = 0;
        foreach (var t in tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Dims.Length);
            foreach (var d in t.Dims) w.Write((ulong)d);
            w.Write(0u); // F32
            w.Write(offset);
            offset += ((ulong)t.Data.Length * 4 + 31) / 32 * 32;
        }
        Pad(w);
        foreach (var t in tensors)
        {
            var bytes = new byte[t.Data.Length * 4];
            Buffer.BlockCopy(t.Data, 0, bytes, 0, bytes.Length);
            w.Write(bytes);
            Pad(w);
        }
    }

    private static void Pad(BinaryWriter w)
    {
        w.Flush();
        var pad = (32 - w.BaseStream.Position % 32) % 32;
        for (var i = 0; i < pad; i++) w.Write((byte)0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }
}
