using System.Text;

namespace Hailo.TestSupport;

/// <summary>Hyper-parameters of a whisper.cpp ggml model (the header of the file).</summary>
public sealed record WhisperShape(int AudioState, int AudioHeads, int AudioLayers, int TextState, int TextHeads, int TextLayers,
    int Vocab = 51865, int AudioCtx = 1500, int TextCtx = 448, int Mels = 80)
{
    /// <summary>The smallest useful shape: 1 + 1 layers of width 8; about 1.2 MB on disk, loads and decodes in milliseconds.</summary>
    public static readonly WhisperShape Tiny = new(8, 2, 1, 8, 2, 1);

    /// <summary>whisper-base's shapes (74 M parameters, 148 MB F16): its compute cost, with random weights.</summary>
    public static readonly WhisperShape Base = new(512, 8, 6, 512, 8, 6);
}

/// <summary>
/// Writes a whisper.cpp ggml model file (magic "ggml", hyper-parameters, mel filter bank, vocabulary, then every
/// encoder/decoder tensor by name with its dimensions and type) with random weights from a seed: F16 matrices and
/// convolutions, F32 biases, norms and positional embeddings, as whisper.cpp's loader expects for ftype 1.
/// A model written here loads and runs in whisper.cpp exactly like a converted one; its weights are random, so what
/// it "hears" is arbitrary text. It proves the plumbing (audio in, segments, times and formats out), not accuracy.
/// </summary>
public static class GgmlWhisperWriter
{
    private const uint Magic = 0x67676d6c;
    private const int F32 = 0, F16 = 1;

    public static void Write(string path, WhisperShape shape, int seed = 1)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new BinaryWriter(file);
        Write(w, shape, seed);
    }

    public static byte[] Bytes(WhisperShape shape, int seed = 1)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true)) Write(w, shape, seed);
        return ms.ToArray();
    }

    private static void Write(BinaryWriter w, WhisperShape s, int seed)
    {
        var rng = new Random(seed);
        w.Write(Magic);
        foreach (var v in new[] { s.Vocab, s.AudioCtx, s.AudioState, s.AudioHeads, s.AudioLayers, s.TextCtx, s.TextState, s.TextHeads, s.TextLayers, s.Mels, F16 })
            w.Write(v);

        // Mel filter bank: n_mel × n_fft (201 bins of a 400-point FFT), triangular filters over the bins.
        const int nFft = 201;
        w.Write(s.Mels);
        w.Write(nFft);
        for (var m = 0; m < s.Mels; m++)
        {
            var centre = (m + 1) * (nFft - 1) / (double)(s.Mels + 1);
            var width = (nFft - 1) / (double)(s.Mels + 1);
            for (var k = 0; k < nFft; k++) w.Write((float)Math.Max(0, 1 - Math.Abs(k - centre) / width));
        }

        // Vocabulary: the text tokens (below end-of-text); whisper.cpp names the special tokens itself.
        var textTokens = s.Vocab >= 51865 ? 50257 : 50256;
        w.Write(textTokens);
        for (var i = 0; i < textTokens; i++)
        {
            // whisper.cpp looks the blank up by name (token 220 in GPT-2's vocabulary) to suppress it at the start.
            var word = Encoding.UTF8.GetBytes(i == 220 ? " " : (i % 3 == 0 ? "" : " ") + Letters(i));
            w.Write((uint)word.Length);
            w.Write(word);
        }

        int a = s.AudioState, t = s.TextState;
        Tensor(w, rng, "encoder.positional_embedding", F32, 0.02f, a, s.AudioCtx);
        Tensor(w, rng, "encoder.conv1.weight", F16, 0.05f, 3, s.Mels, a);
        Tensor(w, rng, "encoder.conv1.bias", F32, 0.01f, 1, a);
        Tensor(w, rng, "encoder.conv2.weight", F16, 0.05f, 3, a, a);
        Tensor(w, rng, "encoder.conv2.bias", F32, 0.01f, 1, a);
        Ones(w, "encoder.ln_post.weight", a);
        Tensor(w, rng, "encoder.ln_post.bias", F32, 0, a);
        for (var l = 0; l < s.AudioLayers; l++)
            Block(w, rng, $"encoder.blocks.{l}.", a, cross: false);

        Tensor(w, rng, "decoder.positional_embedding", F32, 0.02f, t, s.TextCtx);
        Tensor(w, rng, "decoder.token_embedding.weight", F16, 0.05f, t, s.Vocab);
        Ones(w, "decoder.ln.weight", t);
        Tensor(w, rng, "decoder.ln.bias", F32, 0, t);
        for (var l = 0; l < s.TextLayers; l++)
            Block(w, rng, $"decoder.blocks.{l}.", t, cross: true);
    }

    private static void Block(BinaryWriter w, Random rng, string p, int n, bool cross)
    {
        var scale = 1f / MathF.Sqrt(n);
        Ones(w, p + "mlp_ln.weight", n);
        Tensor(w, rng, p + "mlp_ln.bias", F32, 0, n);
        Tensor(w, rng, p + "mlp.0.weight", F16, scale, n, 4 * n);
        Tensor(w, rng, p + "mlp.0.bias", F32, 0.01f, 4 * n);
        Tensor(w, rng, p + "mlp.2.weight", F16, scale / 2, 4 * n, n);
        Tensor(w, rng, p + "mlp.2.bias", F32, 0.01f, n);
        Attention(w, rng, p + "attn", n, scale);
        if (cross) Attention(w, rng, p + "cross_attn", n, scale);
    }

    private static void Attention(BinaryWriter w, Random rng, string p, int n, float scale)
    {
        Ones(w, p + "_ln.weight", n);
        Tensor(w, rng, p + "_ln.bias", F32, 0, n);
        Tensor(w, rng, p + ".query.weight", F16, scale, n, n);
        Tensor(w, rng, p + ".query.bias", F32, 0.01f, n);
        Tensor(w, rng, p + ".key.weight", F16, scale, n, n);
        Tensor(w, rng, p + ".value.weight", F16, scale, n, n);
        Tensor(w, rng, p + ".value.bias", F32, 0.01f, n);
        Tensor(w, rng, p + ".out.weight", F16, scale, n, n);
        Tensor(w, rng, p + ".out.bias", F32, 0.01f, n);
    }

    private static void Ones(BinaryWriter w, string name, int n)
    {
        Header(w, name, F32, [n]);
        for (var i = 0; i < n; i++) w.Write(1f);
    }

    /// <summary>A tensor with dimensions in ggml order (ne0 first) and uniform random values in ±scale.</summary>
    private static void Tensor(BinaryWriter w, Random rng, string name, int type, float scale, params int[] ne)
    {
        Header(w, name, type, ne);
        long count = 1;
        foreach (var d in ne) count *= d;
        var buffer = new byte[(int)Math.Min(count, 1 << 16) * (type == F16 ? 2 : 4)];
        while (count > 0)
        {
            var n = (int)Math.Min(count, buffer.Length / (type == F16 ? 2 : 4));
            var span = buffer.AsSpan();
            for (var i = 0; i < n; i++)
            {
                var v = scale == 0 ? 0f : (float)(rng.NextDouble() * 2 - 1) * scale;
                if (type == F16) BitConverter.TryWriteBytes(span.Slice(2 * i, 2), (Half)v);
                else BitConverter.TryWriteBytes(span.Slice(4 * i, 4), v);
            }
            w.Write(buffer, 0, n * (type == F16 ? 2 : 4));
            count -= n;
        }
    }

    private static void Header(BinaryWriter w, string name, int type, int[] ne)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        w.Write(ne.Length);
        w.Write(bytes.Length);
        w.Write(type);
        foreach (var d in ne) w.Write(d);
        w.Write(bytes);
    }

    private static string Letters(int i)
    {
        var sb = new StringBuilder();
        do
        {
            sb.Insert(0, (char)('a' + i % 26));
            i /= 26;
        } while (i > 0);
        return sb.ToString();
    }
}
