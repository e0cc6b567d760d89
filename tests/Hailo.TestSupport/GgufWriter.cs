using System.Text;

namespace Hailo.TestSupport;

/// <summary>
/// Writes small GGUF v3 models that llama.cpp loads: llama or qwen2 architecture, random F32 weights, a real
/// GPT-2-style byte-level BPE tokenizer section (256 byte tokens, a few merges, ChatML or Llama 3 special tokens)
/// and a chat template (or, like a base model, none). The weights are random, so the text is gibberish; what the tests prove is the path around it.
/// With <see cref="Spec.Q8"/> the matrices are Q8_0 (random int8 blocks with an F16 scale, as llama.cpp stores them):
/// a model in a real model's shapes then has about that model's size and compute per token.
/// </summary>
public static class GgufWriter
{
    public sealed record Spec(string Architecture, int Embd = 32, int Layers = 1, int Heads = 4, int KvHeads = 2, int Ff = 64,
        int Context = 2048, string? ChatTemplate = null, int Seed = 1, int ExtraVocab = 0, bool Q8 = false, bool NoChatTemplate = false);

    /// <summary>Qwen2.5-0.5B-Instruct's shapes (vocabulary 151,936 with the byte and special tokens, 24 layers), Q8_0.</summary>
    public static Spec Qwen05BShapes(int seed = 1) => new("qwen2", Embd: 896, Layers: 24, Heads: 14, KvHeads: 2, Ff: 4864,
        Context: 32768, Seed: seed, ExtraVocab: 151936 - 256 - 8 - 3, Q8: true);

    public const string QwenTemplate = "{%- if tools %}…<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.…{%- for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    public const string Llama3Template = "{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] | trim }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";

    private static readonly string[] Merges = ["Ġ t", "h e", "i n", "Ġ a", "e r", "o n", "Ġt he", "r e"];

    public static string ByteToUnicode(byte b)
    {
        int Map(int x)
        {
            if (x is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255) return x;
            var n = 0;
            for (var i = 0; i < x; i++) if (!(i is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255)) n++;
            return 256 + n;
        }
        return char.ConvertFromUtf32(Map(b));
    }

    public static void Write(string path, Spec spec)
    {
        var qwen = spec.Architecture == "qwen2";
        var tokens = new List<string>();
        var types = new List<int>();
        for (var b = 0; b < 256; b++) { tokens.Add(ByteToUnicode((byte)b)); types.Add(1); }
        foreach (var m in Merges) { tokens.Add(m.Replace(" ", "")); types.Add(1); }
        for (var i = 0; i < spec.ExtraVocab; i++) { tokens.Add("tok" + i); types.Add(1); }
        string[] specials = qwen ? ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] : ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];
        var firstSpecial = tokens.Count;
        foreach (var s in specials) { tokens.Add(s); types.Add(3); }
        int Id(string s) => tokens.IndexOf(s);
        var nVocab = tokens.Count;

        var kv = new List<(string Key, Action<BinaryWriter> Value)>();
        void Str(string k, string v) => kv.Add((k, w => { w.Write(8u); WriteString(w, v); }));
        void U32(string k, uint v) => kv.Add((k, w => { w.Write(4u); w.Write(v); }));
        void F32(string k, float v) => kv.Add((k, w => { w.Write(6u); w.Write(v); }));
        void Bool(string k, bool v) => kv.Add((k, w => { w.Write(7u); w.Write((byte)(v ? 1 : 0)); }));
        void StrArr(string k, IReadOnlyList<string> v) => kv.Add((k, w => { w.Write(9u); w.Write(8u); w.Write((ulong)v.Count); foreach (var s in v) WriteString(w, s); }));
        void I32Arr(string k, IReadOnlyList<int> v) => kv.Add((k, w => { w.Write(9u); w.Write(5u); w.Write((ulong)v.Count); foreach (var x in v) w.Write(x); }));

        var arch = spec.Architecture;
        Str("general.architecture", arch);
        Str("general.name", $"tiny random {arch}");
        U32("general.file_type", spec.Q8 ? 7u : 0u);
        U32(arch + ".context_length", (uint)spec.Context);
        U32(arch + ".embedding_length", (uint)spec.Embd);
        U32(arch + ".block_count", (uint)spec.Layers);
        U32(arch + ".feed_forward_length", (uint)spec.Ff);
        U32(arch + ".attention.head_count", (uint)spec.Heads);
        U32(arch + ".attention.head_count_kv", (uint)spec.KvHeads);
        F32(arch + ".attention.layer_norm_rms_epsilon", 1e-6f);
        F32(arch + ".rope.freq_base", 10000f);
        Str("tokenizer.ggml.model", "gpt2");
        Str("tokenizer.ggml.pre", qwen ? "qwen2" : "llama-bpe");
        StrArr("tokenizer.ggml.tokens", tokens);
        I32Arr("tokenizer.ggml.token_type", types);
        StrArr("tokenizer.ggml.merges", Merges);
        if (qwen)
        {
            U32("tokenizer.ggml.eos_token_id", (uint)Id("<|im_end|>"));
            U32("tokenizer.ggml.bos_token_id", (uint)Id("<|endoftext|>"));
            U32("tokenizer.ggml.padding_token_id", (uint)Id("<|endoftext|>"));
            Bool("tokenizer.ggml.add_bos_token", false);
        }
        else
        {
            U32("tokenizer.ggml.bos_token_id", (uint)Id("<|begin_of_text|>"));
            U32("tokenizer.ggml.eos_token_id", (uint)Id("<|eot_id|>"));
            Bool("tokenizer.ggml.add_bos_token", true);
        }
        if (!spec.NoChatTemplate) Str("tokenizer.chat_template", spec.ChatTemplate ?? (qwen ? QwenTemplate : Llama3Template));

        var head = spec.Embd / spec.Heads;
        var kvDim = head * spec.KvHeads;
        var tensors = new List<(string Name, long[] Dims, float[] Data)>();
        var q8 = new Dictionary<string, (long N, float Scale)>();
        var rng = new Random(spec.Seed);
        float[] Rand(long n, float scale) { var a = new float[n]; for (var i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale; return a; }
        // A matrix: F32 values, or (Q8) only its size and scale: its blocks are drawn while the file is written.
        float[] Mat(string name, long n, float scale)
        {
            if (!spec.Q8) return Rand(n, scale);
            q8[name] = (n, scale);
            return [];
        }
        float[] Ones(long n) { var a = new float[n]; Array.Fill(a, 1f); return a; }
        tensors.Add(("token_embd.weight", [spec.Embd, nVocab], Mat("token_embd.weight", (long)spec.Embd * nVocab, 0.5f)));
        tensors.Add(("output_norm.weight", [spec.Embd], Ones(spec.Embd)));
        var output = spec.Q8 ? Mat("output.weight", (long)spec.Embd * nVocab, 0.5f) : Rand((long)spec.Embd * nVocab, 0.5f);
        // Special tokens get no logit mass: greedy decoding never ends a reply by itself, so lengths are predictable.
        // (Q8: the special tokens' rows are zero blocks, written below.)
        if (!spec.Q8) for (var t = firstSpecial; t < nVocab; t++) Array.Clear(output, t * spec.Embd, spec.Embd);
        tensors.Add(("output.weight", [spec.Embd, nVocab], output));
        for (var l = 0; l < spec.Layers; l++)
        {
            var p = $"blk.{l}.";
            tensors.Add((p + "attn_norm.weight", [spec.Embd], Ones(spec.Embd)));
            tensors.Add((p + "attn_q.weight", [spec.Embd, spec.Embd], Mat(p + "attn_q.weight", (long)spec.Embd * spec.Embd, 0.2f)));
            tensors.Add((p + "attn_k.weight", [spec.Embd, kvDim], Mat(p + "attn_k.weight", (long)spec.Embd * kvDim, 0.2f)));
            tensors.Add((p + "attn_v.weight", [spec.Embd, kvDim], Mat(p + "attn_v.weight", (long)spec.Embd * kvDim, 0.2f)));
            if (qwen)
            {
                tensors.Add((p + "attn_q.bias", [spec.Embd], Rand(spec.Embd, 0.1f)));
                tensors.Add((p + "attn_k.bias", [kvDim], Rand(kvDim, 0.1f)));
                tensors.Add((p + "attn_v.bias", [kvDim], Rand(kvDim, 0.1f)));
            }
            tensors.Add((p + "attn_output.weight", [spec.Embd, spec.Embd], Mat(p + "attn_output.weight", (long)spec.Embd * spec.Embd, 0.2f)));
            tensors.Add((p + "ffn_norm.weight", [spec.Embd], Ones(spec.Embd)));
            tensors.Add((p + "ffn_gate.weight", [spec.Embd, spec.Ff], Mat(p + "ffn_gate.weight", (long)spec.Embd * spec.Ff, 0.2f)));
            tensors.Add((p + "ffn_up.weight", [spec.Embd, spec.Ff], Mat(p + "ffn_up.weight", (long)spec.Embd * spec.Ff, 0.2f)));
            tensors.Add((p + "ffn_down.weight", [spec.Ff, spec.Embd], Mat(p + "ffn_down.weight", (long)spec.Ff * spec.Embd, 0.2f)));
        }

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
            var isQ8 = q8.TryGetValue(t.Name, out var qt);
            w.Write(isQ8 ? 8u : 0u); // Q8_0 or F32
            w.Write(offset);
            offset += Align(isQ8 ? (ulong)(qt.N / 32 * 34) : (ulong)t.Data.Length * 4);
        }
        Pad(w);
        foreach (var t in tensors)
        {
            if (q8.TryGetValue(t.Name, out var qt))
            {
                WriteQ8(w, rng, qt.N, qt.Scale, t.Name == "output.weight" ? (long)firstSpecial * spec.Embd : qt.N);
                Pad(w);
                continue;
            }
            var bytes = new byte[t.Data.Length * 4];
            Buffer.BlockCopy(t.Data, 0, bytes, 0, bytes.Length);
            w.Write(bytes);
            Pad(w);
        }
    }

    /// <summary>Q8_0 blocks (F16 scale, 32 int8) of uniform values in ±scale; values from <paramref name="nonZero"/> on are 0.</summary>
    private static void WriteQ8(BinaryWriter w, Random rng, long n, float scale, long nonZero)
    {
        var block = new byte[34];
        var d = BitConverter.HalfToUInt16Bits((Half)(scale / 127f));
        for (long i = 0; i < n; i += 32)
        {
            if (i < nonZero)
            {
                block[0] = (byte)d; block[1] = (byte)(d >> 8);
                for (var j = 2; j < 34; j++) block[j] = (byte)(sbyte)rng.Next(-127, 128);
            }
            else Array.Clear(block);
            w.Write(block);
        }
    }

    private static ulong Align(ulong n) => (n + 31) / 32 * 32;

    private static void Pad(BinaryWriter w)
    {
        w.Flush();
        var pos = w.BaseStream.Position;
        var pad = (32 - pos % 32) % 32;
        for (var i = 0; i < pad; i++) w.Write((byte)0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)b.Length);
        w.Write(b);
    }
}
