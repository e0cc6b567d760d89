using System.Text;
using System.Text.Json;

namespace Hailo.TestSupport;

/// <summary>
/// A generated Florence-2 stand-in in the four-part ONNX export's layout (onnx-community/Florence-2-base): the real
/// file names, input and output names, dtypes and the merged decoder's key/value layout (past_key_values.N.{decoder,
/// encoder}.{key,value} [batch, heads, sequence, head_dim], use_cache_branch bool [1], present.* outputs), with a tiny
/// hidden size (8), two layers of two heads of four and a small vocabulary, and answers derivable by hand:
/// <list type="bullet">
/// <item>vision_encoder: pixel_values [B, 3, 768, 768] → image_features [B, 4, 8], all zero except feature 0 channel 1 =
/// mean(R) − mean(B) of the normalised image (≈ +4.05 for pure red, −4.76 for pure blue, −0.39 for white);</item>
/// <item>embed_tokens: token t → [t, 0, …, 0];</item>
/// <item>encoder_model: last_hidden_state = inputs_embeds × attention_mask;</item>
/// <item>decoder_model_merged: at past length P (read from past_key_values.0.decoder.key) the logits are
/// −(x − v)² over the vocabulary v, x the channel 0 of encoder position 4 + P: it echoes the prompt token by token
/// (&lt;s&gt; first, &lt;/s&gt; last); when the image is red (feature > 2) row P of <see cref="RedScript"/> instead, when
/// blue (&lt; −2) row P of <see cref="BlueScript"/>. A step whose use_cache_branch is not (P &gt; 0), or whose past
/// encoder keys are not the first step's present ones, gets &lt;unk&gt; as its answer. The present decoder keys and
/// values are the past ones with this step's input embedding appended.</item>
/// </list>
/// So a decoding loop that does not feed the cache back (P stays 0), passes the wrong flag, drops the image features
/// or the attention mask, or misplaces the prompt after the image features produces a different text.
/// </summary>
public static class FlorenceTestModel
{
    public const int Hidden = 8, Layers = 2, Heads = 2, HeadDim = 4, ImageTokens = 4, ImageSize = 768;
    public const int Bos = 0, Pad = 1, Eos = 2, Unk = 3, ByteBase = 4;

    /// <summary>Merges in rank order; merge n makes id <see cref="MergeBase"/> + n.</summary>
    public static readonly (string A, string B)[] Merges =
    [
        ("c", "a"), ("ca", "t"), ("Ġ", "d"), ("Ġd", "o"), ("Ġdo", "g"), ("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"),
        ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("l", "d"), ("Ġwor", "ld"),
    ];
    public const int MergeBase = ByteBase + 256;
    public static int Cat => MergeBase + 1;
    public static int Dog => MergeBase + 4;       // "Ġdog"
    public static int Hello => MergeBase + 8;
    public static int World => MergeBase + 13;    // "Ġworld"
    public static int LocBase => MergeBase + Merges.Length;
    public static readonly string[] TaskTokens = ["<OD>", "<OCR>", "<CAPTION>", "<OCR_WITH_REGION>"];
    public static int Vocab => LocBase + 1000 + TaskTokens.Length;
    public static int Loc(int k) => LocBase + k;

    /// <summary>The red image's answer: "cat" with one box, " dog" with two.</summary>
    public static int[] RedScript =>
    [
        Bos, Cat, Loc(100), Loc(200), Loc(300), Loc(400), Dog, Loc(500), Loc(500), Loc(900), Loc(700), Loc(0), Loc(0), Loc(999), Loc(999), Eos,
    ];

    /// <summary>The blue image's answer: "hello" and " world" each with a quadrilateral (eight locations).</summary>
    public static int[] BlueScript =>
    [
        Bos, Hello, Loc(100), Loc(100), Loc(400), Loc(100), Loc(400), Loc(200), Loc(100), Loc(200),
        World, Loc(500), Loc(600), Loc(900), Loc(600), Loc(900), Loc(800), Loc(500), Loc(800), Eos,
    ];

    /// <summary>GPT-2's byte → printable character map.</summary>
    public static char CharOf(int b)
    {
        var n = 0;
        for (var x = 0; x < 256; x++)
        {
            var printable = x is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            if (x == b) return printable ? (char)x : (char)(256 + n);
            if (!printable) n++;
        }
        throw new ArgumentOutOfRangeException(nameof(b));
    }

    /// <summary>The ids a text's bytes take without merges (one id per UTF-8 byte).</summary>
    public static int ByteId(byte b) => ByteBase + b;

    public static byte[] TokenizerJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteStartArray("added_tokens");
            void Added(int id, string content, bool special)
            {
                w.WriteStartObject();
                w.WriteNumber("id", id);
                w.WriteString("content", content);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", !special);
                w.WriteBoolean("special", special);
                w.WriteEndObject();
            }
            Added(Bos, "<s>", true);
            Added(Pad, "<pad>", true);
            Added(Eos, "</s>", true);
            Added(Unk, "<unk>", true);
            for (var k = 0; k < 1000; k++) Added(Loc(k), $"<loc_{k}>", false);
            for (var i = 0; i < TaskTokens.Length; i++) Added(LocBase + 1000 + i, TaskTokens[i], false);
            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", true);
            w.WriteEndObject();
            w.WriteStartObject("post_processor");
            w.WriteString("type", "RobertaProcessing");
            w.WriteStartArray("sep"); w.WriteStringValue("</s>"); w.WriteNumberValue(Eos); w.WriteEndArray();
            w.WriteStartArray("cls"); w.WriteStringValue("<s>"); w.WriteNumberValue(Bos); w.WriteEndArray();
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("add_prefix_space", false);
            w.WriteEndObject();
            w.WriteStartObject("decoder");
            w.WriteString("type", "ByteLevel");
            w.WriteEndObject();
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteString("unk_token", "<unk>");
            w.WriteStartObject("vocab");
            w.WriteNumber("<s>", Bos);
            w.WriteNumber("<pad>", Pad);
            w.WriteNumber("</s>", Eos);
            w.WriteNumber("<unk>", Unk);
            for (var b = 0; b < 256; b++) w.WriteNumber(CharOf(b).ToString(), ByteBase + b);
            for (var i = 0; i < Merges.Length; i++) w.WriteNumber(Merges[i].A + Merges[i].B, MergeBase + i);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var (a, b) in Merges) w.WriteStringValue($"{a} {b}");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    /// <summary>
    /// The vision encoder. With <paramref name="cost"/>, that network (given the writer and the input's name, it returns
    /// the name of a [1, C, h, w] output) runs on the pixels too and its mean is added × 0: the answer stays the
    /// stand-in's, the time is that network's (the benchmarks give it the vision encoder's cost).
    /// </summary>
    public static byte[] VisionEncoder(Func<OnnxWriter, string, string>? cost = null)
    {
        var w = new OnnxWriter()
            .Input("pixel_values", [-1, 3, ImageSize, ImageSize], symbolic: ["batch_size", null, null, null])
            .Output("image_features", [-1, ImageTokens, Hidden], symbolic: ["batch_size", null, null]);
        var means = w.Node("ReduceMean", ["pixel_values"], null, ("axes", new long[] { 2, 3 }), ("keepdims", 0L));
        if (cost is not null)
        {
            var trunk = w.Node("ReduceMean", [cost(w, "pixel_values")], null, ("axes", new long[] { 1, 2, 3 }), ("keepdims", 0L));   // [1]
            var zero = w.Node("Mul", [trunk, w.Constant([0f], [1])]);
            means = w.Node("Add", [means, w.Node("Unsqueeze", [zero, w.ConstantInt64([1], [1])])]);
        }
        var map = new float[3 * ImageTokens * Hidden];
        map[0 * ImageTokens * Hidden + 1] = 1;   // feature 0, channel 1 = R − B
        map[2 * ImageTokens * Hidden + 1] = -1;
        var flat = w.Node("MatMul", [means, w.Constant(map, [3, ImageTokens * Hidden])]);
        w.Node("Reshape", [flat, w.ConstantInt64([-1, ImageTokens, Hidden], [3])], "image_features");
        return w.ToBytes();
    }

    public static byte[] EmbedTokens()
    {
        var w = new OnnxWriter()
            .Input("input_ids", [-1, -1], OnnxWriter.Int64, ["batch_size", "sequence_length"])
            .Output("inputs_embeds", [-1, -1, Hidden], symbolic: ["batch_size", "sequence_length", null]);
        var table = new float[Vocab * Hidden];
        for (var t = 0; t < Vocab; t++) table[t * Hidden] = t;
        w.Node("Gather", [w.Constant(table, [Vocab, Hidden]), "input_ids"], "inputs_embeds", ("axis", 0L));
        return w.ToBytes();
    }

    public static byte[] Encoder()
    {
        var w = new OnnxWriter()
            .Input("inputs_embeds", [-1, -1, Hidden], symbolic: ["batch_size", "encoder_sequence_length", null])
            .Input("attention_mask", [-1, -1], OnnxWriter.Int64, ["batch_size", "encoder_sequence_length"])
            .Output("last_hidden_state", [-1, -1, Hidden], symbolic: ["batch_size", "encoder_sequence_length", null]);
        var mask = w.Node("Cast", ["attention_mask"], null, ("to", (long)OnnxWriter.Float));
        var mask3 = w.Node("Unsqueeze", [mask, w.ConstantInt64([2], [1])]);
        w.Node("Mul", ["inputs_embeds", mask3], "last_hidden_state");
        return w.ToBytes();
    }

    private static float[] ScriptTable(int[] script, int rows)
    {
        var t = new float[rows * Vocab];
        for (var r = 0; r < rows; r++) t[r * Vocab + (r < script.Length ? script[r] : Eos)] = 100;
        return t;
    }

    public static byte[] Decoder()
    {
        string[] kvDims = ["batch_size", null!, "past_sequence_length", null!];
        var w = new OnnxWriter()
            .Input("encoder_attention_mask", [-1, -1], OnnxWriter.Int64, ["batch_size", "encoder_sequence_length"])
            .Input("encoder_hidden_states", [-1, -1, Hidden], symbolic: ["batch_size", "encoder_sequence_length", null])
            .Input("inputs_embeds", [-1, -1, Hidden], symbolic: ["batch_size", "decoder_sequence_length", null]);
        for (var l = 0; l < Layers; l++)
        {
            w.Input($"past_key_values.{l}.decoder.key", [-1, Heads, -1, HeadDim], symbolic: kvDims);
            w.Input($"past_key_values.{l}.decoder.value", [-1, Heads, -1, HeadDim], symbolic: kvDims);
            w.Input($"past_key_values.{l}.encoder.key", [-1, Heads, -1, HeadDim], symbolic: ["batch_size", null, "encoder_sequence_length_out", null]);
            w.Input($"past_key_values.{l}.encoder.value", [-1, Heads, -1, HeadDim], symbolic: ["batch_size", null, "encoder_sequence_length_out", null]);
        }
        w.Input("use_cache_branch", [1], OnnxWriter.Bool);
        w.Output("logits", [-1, -1, Vocab], symbolic: ["batch_size", "decoder_sequence_length", null]);
        for (var l = 0; l < Layers; l++)
        {
            w.Output($"present.{l}.decoder.key", [-1, Heads, -1, HeadDim], symbolic: ["batch_size", null, "present_sequence_length", null]);
            w.Output($"present.{l}.decoder.value", [-1, Heads, -1, HeadDim], symbolic: ["batch_size", null, "present_sequence_length", null]);
            w.Output($"present.{l}.encoder.key", [-1, Heads, -1, HeadDim], symbolic: ["batch_size", null, "encoder_sequence_length_out", null]);
            w.Output($"present.{l}.encoder.value", [-1, Heads, -1, HeadDim], symbolic: ["batch_size", null, "encoder_sequence_length_out", null]);
        }
        var i0 = w.ConstantInt64([0], []);
        var i1 = w.ConstantInt64([1], []);
        var i2 = w.ConstantInt64([2], []);
        // P: the past length; L: the encoder length.
        var p = w.Node("Gather", [w.Node("Shape", ["past_key_values.0.decoder.key"]), i2], null, ("axis", 0L));
        var l1 = w.Node("Gather", [w.Node("Shape", ["encoder_hidden_states"]), i1], null, ("axis", 0L));
        var lastPos = w.Node("Sub", [l1, i1]);
        var pos = w.Node("Min", [w.Node("Add", [p, w.ConstantInt64([ImageTokens], [])]), lastPos]);
        // Echo: x = encoder_hidden_states[:, pos, 0]; logits = −(x − v)².
        var atPos = w.Node("Gather", ["encoder_hidden_states", pos], null, ("axis", 1L));      // [B, H]
        var x = w.Node("Gather", [atPos, i0], null, ("axis", 1L));                               // [B]
        var x2 = w.Node("Unsqueeze", [x, w.ConstantInt64([1], [1])]);                            // [B, 1]
        var ids = new float[Vocab];
        for (var v = 0; v < Vocab; v++) ids[v] = v;
        var diff = w.Node("Sub", [x2, w.Constant(ids, [Vocab])]);
        var echo = w.Node("Neg", [w.Node("Mul", [diff, diff])]);                                 // [B, V]
        // Gates from the image feature.
        var feat = w.Node("Gather", [w.Node("Gather", ["encoder_hidden_states", i0], null, ("axis", 1L)), i1], null, ("axis", 1L)); // [B]
        var gr = w.Node("Unsqueeze", [w.Node("Cast", [w.Node("Greater", [feat, w.Constant([2f], [])])], null, ("to", (long)OnnxWriter.Float)), w.ConstantInt64([1], [1])]);
        var gb = w.Node("Unsqueeze", [w.Node("Cast", [w.Node("Less", [feat, w.Constant([-2f], [])])], null, ("to", (long)OnnxWriter.Float)), w.ConstantInt64([1], [1])]);
        const int rows = 64;
        var row = w.Node("Min", [p, w.ConstantInt64([rows - 1], [])]);
        var red = w.Node("Gather", [w.Constant(ScriptTable(RedScript, rows), [rows, Vocab]), row], null, ("axis", 0L));   // [V]
        var blue = w.Node("Gather", [w.Constant(ScriptTable(BlueScript, rows), [rows, Vocab]), row], null, ("axis", 0L));
        var keep = w.Node("Sub", [w.Node("Sub", [w.Constant([1f], []), gr]), gb]);
        var mixed = w.Node("Add", [w.Node("Add", [w.Node("Mul", [echo, keep]), w.Node("Mul", [red, gr])]), w.Node("Mul", [blue, gb])]);
        // Present keys and values.
        var step = w.Node("Transpose", [w.Node("Reshape", ["inputs_embeds", w.ConstantInt64([-1, 1, Heads, HeadDim], [4])])], null, ("perm", new long[] { 0, 2, 1, 3 }));
        var cross = w.Node("Transpose", [w.Node("Reshape", ["encoder_hidden_states", w.ConstantInt64([0, -1, Heads, HeadDim], [4])])], null, ("perm", new long[] { 0, 2, 1, 3 }));
        for (var l = 0; l < Layers; l++)
        {
            w.Node("Concat", [$"past_key_values.{l}.decoder.key", step], $"present.{l}.decoder.key", ("axis", 2L));
            w.Node("Concat", [$"past_key_values.{l}.decoder.value", step], $"present.{l}.decoder.value", ("axis", 2L));
            w.Node("Identity", [cross], $"present.{l}.encoder.key");
            w.Node("Identity", [cross], $"present.{l}.encoder.value");
        }
        // Checks: use_cache_branch == (P > 0); with the cache, the past encoder keys are the cross keys.
        var u = w.Node("Cast", ["use_cache_branch"], null, ("to", (long)OnnxWriter.Float));                           // [1]
        var expected = w.Node("Cast", [w.Node("Greater", [p, w.ConstantInt64([0], [])])], null, ("to", (long)OnnxWriter.Float));
        var flagWrong = w.Node("Abs", [w.Node("Sub", [u, expected])]);
        var pastSum = w.Node("ReduceSum", ["past_key_values.1.encoder.key"], null, ("keepdims", 0L));
        var crossSum = w.Node("ReduceSum", [cross], null, ("keepdims", 0L));
        var kvWrong = w.Node("Cast", [w.Node("Greater", [w.Node("Abs", [w.Node("Sub", [pastSum, w.Node("Mul", [crossSum, u])])]), w.Constant([1e-2f], [])])],
            null, ("to", (long)OnnxWriter.Float));
        var unk = new float[Vocab];
        unk[Unk] = 1e6f;
        var penalty = w.Node("Mul", [w.Node("Add", [flagWrong, kvWrong]), w.Constant(unk, [Vocab])]);                  // [V]
        var logits2 = w.Node("Add", [mixed, penalty]);
        w.Node("Unsqueeze", [logits2, w.ConstantInt64([1], [1])], "logits");
        return w.ToBytes();
    }

    /// <summary>The five files under <paramref name="dir"/> with the export's names.</summary>
    public static void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "vision_encoder.onnx"), VisionEncoder());
        File.WriteAllBytes(Path.Combine(dir, "embed_tokens.onnx"), EmbedTokens());
        File.WriteAllBytes(Path.Combine(dir, "encoder_model.onnx"), Encoder());
        File.WriteAllBytes(Path.Combine(dir, "decoder_model_merged.onnx"), Decoder());
        File.WriteAllBytes(Path.Combine(dir, "tokenizer.json"), TokenizerJson());
    }

    /// <summary>The normalised channel values of one 8-bit colour with ImageNet's mean and std.</summary>
    public static double[] NormalisedColour(byte r, byte g, byte b) =>
        [(r / 255.0 - 0.485) / 0.229, (g / 255.0 - 0.456) / 0.224, (b / 255.0 - 0.406) / 0.225];

    /// <summary>A location bin's centre in pixels, as Florence's post-processing computes it.</summary>
    public static double Px(int bin, int size) => (bin + 0.5) * size / 1000.0;

    public static string Utf8(string s) => Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(s));
}
