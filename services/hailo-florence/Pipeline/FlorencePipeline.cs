using System.Diagnostics;
using Hailo.Media;
using Hailo.Runtime.Onnx;

namespace HailoFlorence.Pipeline;

/// <summary>How one generation runs.</summary>
/// <param name="MaxLength">Tokens generated at most (the decoder start token not counted).</param>
/// <param name="MinLength">The end token is held back until this many tokens are generated.</param>
/// <param name="Temperature">0: greedy argmax; above 0: sampling from softmax(logits / temperature).</param>
/// <param name="NoRepeatNgramSize">No n-gram of this size is generated twice; 0 off.</param>
/// <param name="NumBeams">1: greedy or sampling; more: beam search (log-probabilities summed, finished hypotheses scored by
/// their mean, stopping once as many have finished as there are beams: Florence-2's generation config, early_stopping).</param>
public sealed record GenerationOptions(int MaxLength, int MinLength, double Temperature, int NoRepeatNgramSize, int? Seed = null, int NumBeams = 1);

/// <summary>What one generation did: the prompt's ids, the generated ids, their text, and where the time went.</summary>
/// <param name="PastLengths">The decoder's past length (its key/value cache's sequence length) at each step: 0, 1, 2, …</param>
public sealed record Generation(int[] PromptIds, int[] Generated, string Text, bool Truncated, IReadOnlyList<int> PastLengths,
    double PreprocessMs, double VisionMs, double EncoderMs, double DecoderMs, int Steps);

/// <summary>
/// Florence-2 on ONNX Runtime in the four-part export: the vision encoder turns the 768×768 image into features, the
/// prompt's token embeddings are appended after them, the encoder reads both (attention mask all ones), and the merged
/// decoder generates token by token from the decoder start token (&lt;/s&gt;), reusing its key/value cache: the first
/// step runs with empty past tensors and <c>use_cache_branch</c> false (which computes the cross-attention keys and
/// values from the encoder's output), every later step feeds back the step's present.* outputs with
/// <c>use_cache_branch</c> true. The first generated token is forced to &lt;s&gt; (Florence's forced_bos_token_id).
/// Not thread-safe: the engine runs one request at a time.
/// </summary>
public sealed class FlorencePipeline : IDisposable
{
    private readonly OnnxModel _vision, _embed, _encoder, _decoder;
    private readonly int _layers, _heads, _headDim;
    private readonly string[] _pastNames, _presentNames;
    private readonly string _logitsName;
    private readonly int _imageSize;

    public BartTokenizer Tokenizer { get; }
    public string ModelName { get; }
    /// <summary>BART's decoder start token (&lt;/s&gt;, id 2 in Florence-2).</summary>
    public int DecoderStartId => Tokenizer.EosId;

    public FlorencePipeline(OnnxModel vision, OnnxModel embed, OnnxModel encoder, OnnxModel decoder, BartTokenizer tokenizer, string modelName)
    {
        (_vision, _embed, _encoder, _decoder, Tokenizer, ModelName) = (vision, embed, encoder, decoder, tokenizer, modelName);
        Require(vision, "vision_encoder", ["pixel_values"]);
        Require(embed, "embed_tokens", ["input_ids"]);
        Require(encoder, "encoder_model", ["inputs_embeds", "attention_mask"]);
        Require(decoder, "decoder_model_merged", ["inputs_embeds", "encoder_hidden_states", "encoder_attention_mask", "use_cache_branch"]);
        var shape = vision.InputShape(0);
        _imageSize = shape.Length == 4 && shape[2] > 0 ? (int)shape[2] : 768;
        _layers = 0;
        while (decoder.InputNames.Contains($"past_key_values.{_layers}.decoder.key")) _layers++;
        if (_layers == 0) throw new InvalidDataException("decoder_model_merged.onnx has no past_key_values.0.decoder.key input");
        var kv = decoder.InputShape(IndexOf(decoder.InputNames, "past_key_values.0.decoder.key"));
        if (kv.Length != 4 || kv[1] <= 0 || kv[3] <= 0) throw new InvalidDataException("decoder_model_merged.onnx: past key values are not [batch, heads, sequence, head_dim]");
        (_heads, _headDim) = ((int)kv[1], (int)kv[3]);
        var past = new List<string>();
        for (var l = 0; l < _layers; l++)
            foreach (var part in new[] { "decoder", "encoder" })
                foreach (var kind in new[] { "key", "value" })
                    past.Add($"past_key_values.{l}.{part}.{kind}");
        _pastNames = [.. past];
        _presentNames = [.. past.Select(p => p.Replace("past_key_values.", "present.", StringComparison.Ordinal))];
        foreach (var n in _pastNames) if (!decoder.InputNames.Contains(n)) throw new InvalidDataException($"decoder_model_merged.onnx has no input {n}");
        foreach (var n in _presentNames) if (!decoder.OutputNames.Contains(n)) throw new InvalidDataException($"decoder_model_merged.onnx has no output {n}");
        _logitsName = decoder.OutputNames.Contains("logits") ? "logits" : throw new InvalidDataException("decoder_model_merged.onnx has no output logits");
    }

    private static void Require(OnnxModel m, string part, string[] inputs)
    {
        foreach (var i in inputs)
            if (!m.InputNames.Contains(i)) throw new InvalidDataException($"{part}.onnx has no input '{i}' (inputs: {string.Join(", ", m.InputNames)})");
    }

    private static int IndexOf(IReadOnlyList<string> names, string n)
    {
        for (var i = 0; i < names.Count; i++) if (names[i] == n) return i;
        return -1;
    }

    /// <summary>Decoder layers, attention heads and head size read from the merged decoder's inputs.</summary>
    public (int Layers, int Heads, int HeadDim) DecoderShape => (_layers, _heads, _headDim);
    public int ImageSize => _imageSize;

    private float[]? _pixels;

    /// <summary>
    /// The image as the vision encoder takes it: resized to the square input, (x/255 − mean) / std with ImageNet's mean
    /// and std, CHW. The 7 MB buffer is kept for the next request (the engine runs one at a time): fresh pages of a new
    /// one cost ~30 ms of page faults per request.
    /// </summary>
    public float[] Preprocess(RgbaImage image)
    {
        var chw = _pixels ??= new float[3 * _imageSize * _imageSize];
        using var resized = image.Resize(_imageSize, _imageSize);
        TensorPrep.ToChw(resized, chw, _imageSize, _imageSize, Normalization.ImageNet);
        return chw;
    }

    public FloatTensor EncodeImage(float[] pixels) => _vision.Run(pixels, [1, 3, _imageSize, _imageSize]);

    public FloatTensor Embed(int[] ids)
    {
        var l = ids.Select(i => (long)i).ToArray();
        return _embed.Run([OnnxInput.Int64("input_ids", l, [1, l.Length])], ["inputs_embeds"])[0];
    }

    /// <summary>Runs <paramref name="prompt"/> (already expanded from its task token) on the image.</summary>
    public Generation Generate(RgbaImage image, string prompt, GenerationOptions o, CancellationToken ct = default)
    {
        var t0 = Stopwatch.GetTimestamp();
        var pixels = Preprocess(image);
        var preMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        var t1 = Stopwatch.GetTimestamp();
        var features = EncodeImage(pixels);
        var visionMs = Stopwatch.GetElapsedTime(t1).TotalMilliseconds;
        return Generate(features, prompt, o, preMs, visionMs, ct);
    }

    /// <summary>Runs <paramref name="prompt"/> on image features the vision encoder made.</summary>
    public Generation Generate(FloatTensor features, string prompt, GenerationOptions o, double preMs = 0, double visionMs = 0, CancellationToken ct = default)
    {
        if (features.Shape.Length != 3) throw new InvalidDataException("vision_encoder.onnx: image_features is not [batch, tokens, hidden]");
        var t2 = Stopwatch.GetTimestamp();
        var promptIds = Tokenizer.Encode(prompt);
        var text = Embed(promptIds);
        var hidden = features.Dim(2);
        if (text.Dim(2) != hidden) throw new InvalidDataException($"image features have {hidden} channels, token embeddings {text.Dim(2)}");
        var n = features.Dim(1) + text.Dim(1);
        var embeds = new float[n * hidden];
        features.Data.AsSpan(0, features.Dim(1) * hidden).CopyTo(embeds);
        text.Data.AsSpan(0, text.Dim(1) * hidden).CopyTo(embeds.AsSpan(features.Dim(1) * hidden));
        var mask = new long[n];
        Array.Fill(mask, 1L);
        var encoded = _encoder.Run([OnnxInput.Float("inputs_embeds", embeds, [1, n, hidden]), OnnxInput.Int64("attention_mask", mask, [1, n])], ["last_hidden_state"])[0];
        var encoderMs = Stopwatch.GetElapsedTime(t2).TotalMilliseconds;

        var t3 = Stopwatch.GetTimestamp();
        var state = new DecoderState(encoded, mask, n, hidden);
        var (generated, truncated, pastLengths, steps) = o.NumBeams > 1 ? BeamSearch(state, o, ct) : Greedy(state, o, ct);
        var decoderMs = Stopwatch.GetElapsedTime(t3).TotalMilliseconds;
        return new Generation(promptIds, [.. generated], Tokenizer.Decode(generated), truncated, pastLengths, preMs, visionMs, encoderMs, decoderMs, steps);
    }

    /// <summary>The encoder's output a generation decodes against.</summary>
    private sealed record DecoderState(FloatTensor Encoded, long[] Mask, int Length, int Hidden);

    /// <summary>One hypothesis' key/value cache: a tensor per past input (never written in place, so beams can share them).</summary>
    private sealed class Cache(float[][] data, long[][] shapes)
    {
        public float[][] Data { get; } = data;
        public long[][] Shapes { get; } = shapes;
        public int PastLength => (int)Shapes[0][2];
    }

    private Cache EmptyCache()
    {
        var data = new float[_pastNames.Length][];
        var shapes = new long[_pastNames.Length][];
        for (var i = 0; i < _pastNames.Length; i++) { data[i] = []; shapes[i] = [1, _heads, 0, _headDim]; }
        return new Cache(data, shapes);
    }

    /// <summary>One decoder step for one hypothesis: the logits of its next token and its grown cache.</summary>
    private (float[] Logits, Cache Next) Step(DecoderState s, Cache cache, int last, bool first)
    {
        var tokenEmbed = Embed([last]);
        var inputs = new List<OnnxInput>(_pastNames.Length + 4)
        {
            OnnxInput.Float("inputs_embeds", tokenEmbed.Data, [1, 1, s.Hidden]),
            OnnxInput.Float("encoder_hidden_states", s.Encoded.Data, s.Encoded.Shape),
            OnnxInput.Int64("encoder_attention_mask", s.Mask, [1, s.Length]),
            OnnxInput.Bool("use_cache_branch", [!first], [1]),
        };
        for (var i = 0; i < _pastNames.Length; i++) inputs.Add(OnnxInput.Float(_pastNames[i], cache.Data[i], cache.Shapes[i]));
        var outputs = _decoder.Run(inputs, [_logitsName, .. _presentNames]);
        var data = new float[_pastNames.Length][];
        var shapes = new long[_pastNames.Length][];
        for (var i = 0; i < _pastNames.Length; i++)
        {
            // The cross-attention keys and values are computed once, on the first step, and kept.
            var keep = !first && _pastNames[i].Contains(".encoder.", StringComparison.Ordinal);
            data[i] = keep ? cache.Data[i] : outputs[i + 1].Data;
            shapes[i] = keep ? cache.Shapes[i] : outputs[i + 1].Shape;
        }
        var logits = outputs[0];
        var vocab = logits.Dim(logits.Shape.Length - 1);
        return (logits.Data.AsSpan(logits.Data.Length - vocab, vocab).ToArray(), new Cache(data, shapes));
    }

    private (List<int>, bool, List<int>, int) Greedy(DecoderState s, GenerationOptions o, CancellationToken ct)
    {
        var generated = new List<int>();
        var pastLengths = new List<int>();
        var rng = o.Seed is { } seed ? new Random(seed) : Random.Shared;
        var cache = EmptyCache();
        var last = DecoderStartId;
        for (var step = 0; step < o.MaxLength; step++)
        {
            ct.ThrowIfCancellationRequested();
            pastLengths.Add(cache.PastLength);
            (var row, cache) = Step(s, cache, last, step == 0);
            var next = step == 0 ? Tokenizer.BosId : Choose(row, generated, o, rng);
            generated.Add(next);
            last = next;
            if (next == Tokenizer.EosId) return (generated, false, pastLengths, step + 1);
        }
        return (generated, true, pastLengths, o.MaxLength);
    }

    private sealed record Hypothesis(List<int> Tokens, double Score, Cache Cache);

    /// <summary>
    /// Beam search (Hugging Face's, as Florence-2's generation config runs it): every live hypothesis proposes its
    /// 2 × beams best next tokens by summed log-probability; an end token finishes a hypothesis (scored by its mean
    /// log-probability); the best beams non-ending candidates live on; the search stops once beams hypotheses finished
    /// or max_length is reached. Each hypothesis runs the decoder with its own cache (batch 1).
    /// </summary>
    private (List<int>, bool, List<int>, int) BeamSearch(DecoderState s, GenerationOptions o, CancellationToken ct)
    {
        var beams = o.NumBeams;
        var pastLengths = new List<int>();
        var (_, cache0) = Step(s, EmptyCache(), DecoderStartId, first: true);
        pastLengths.Add(0);
        var steps = 1;
        var alive = new List<Hypothesis> { new([Tokenizer.BosId], 0, cache0) };   // the forced <s>
        var finished = new List<(double Score, List<int> Tokens)>();
        for (var step = 1; step < o.MaxLength && alive.Count > 0; step++)
        {
            ct.ThrowIfCancellationRequested();
            pastLengths.Add(alive[0].Cache.PastLength);
            var candidates = new List<(double Score, int Beam, int Token, Cache Cache)>();
            for (var b = 0; b < alive.Count; b++)
            {
                var h = alive[b];
                var (row, next) = Step(s, h.Cache, h.Tokens[^1], first: false);
                steps++;
                if (h.Tokens.Count < o.MinLength && Tokenizer.EosId < row.Length) row[Tokenizer.EosId] = float.NegativeInfinity;
                foreach (var banned in BannedNgramTokens(h.Tokens, o.NoRepeatNgramSize))
                    if (banned >= 0 && banned < row.Length) row[banned] = float.NegativeInfinity;
                var logp = LogSoftmax(row);
                foreach (var t in TopK(logp, 2 * beams))
                    if (!double.IsNegativeInfinity(logp[t])) candidates.Add((h.Score + logp[t], b, t, next));
            }
            candidates.Sort((x, y) => y.Score.CompareTo(x.Score));
            var nextAlive = new List<Hypothesis>();
            for (var rank = 0; rank < candidates.Count && nextAlive.Count < beams; rank++)
            {
                var c = candidates[rank];
                var tokens = new List<int>(alive[c.Beam].Tokens) { c.Token };
                if (c.Token == Tokenizer.EosId)
                {
                    if (rank < beams) finished.Add((c.Score / tokens.Count, tokens));
                    continue;
                }
                nextAlive.Add(new Hypothesis(tokens, c.Score, c.Cache));
            }
            alive = nextAlive;
            if (finished.Count >= beams) break;
        }
        var truncated = finished.Count == 0;
        foreach (var h in alive) if (finished.Count < beams || truncated) finished.Add((h.Score / h.Tokens.Count, h.Tokens));
        var best = finished.MaxBy(f => f.Score).Tokens;
        return (best, best[^1] != Tokenizer.EosId, pastLengths, steps);
    }

    private static double[] LogSoftmax(float[] row)
    {
        var max = double.NegativeInfinity;
        foreach (var v in row) if (v > max) max = v;
        var result = new double[row.Length];
        if (double.IsNegativeInfinity(max)) { Array.Fill(result, double.NegativeInfinity); return result; }
        double sum = 0;
        foreach (var v in row) sum += Math.Exp(v - max);
        var log = Math.Log(sum) + max;
        for (var i = 0; i < row.Length; i++) result[i] = row[i] - log;
        return result;
    }

    private static int[] TopK(double[] v, int k)
    {
        k = Math.Min(k, v.Length);
        var idx = new List<int>(k + 1);
        foreach (var i in Enumerable.Range(0, v.Length))
        {
            if (idx.Count == k && v[i] <= v[idx[^1]]) continue;
            var at = idx.FindIndex(j => v[i] > v[j]);
            if (at < 0) idx.Add(i); else idx.Insert(at, i);
            if (idx.Count > k) idx.RemoveAt(k);
        }
        return [.. idx];
    }

    /// <summary>The next token from a row of logits: end held back before min_length, repeated n-grams banned, then argmax or sampling.</summary>
    internal int Choose(float[] row, List<int> generated, GenerationOptions o, Random rng)
    {
        // generated holds the forced <s>; min_length counts every generated token.
        if (generated.Count < o.MinLength && Tokenizer.EosId < row.Length) row[Tokenizer.EosId] = float.NegativeInfinity;
        foreach (var banned in BannedNgramTokens(generated, o.NoRepeatNgramSize))
            if (banned >= 0 && banned < row.Length) row[banned] = float.NegativeInfinity;
        if (o.Temperature <= 0) return ArgMax(row);
        var max = row.Max();
        if (float.IsNegativeInfinity(max)) return Tokenizer.EosId;
        var p = new double[row.Length];
        double sum = 0;
        for (var i = 0; i < row.Length; i++) sum += p[i] = Math.Exp((row[i] - max) / o.Temperature);
        var r = rng.NextDouble() * sum;
        for (var i = 0; i < p.Length; i++)
        {
            r -= p[i];
            if (r <= 0) return i;
        }
        return ArgMax(row);
    }

    private static int ArgMax(float[] row)
    {
        var best = 0;
        for (var i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    /// <summary>Tokens that would repeat an n-gram already generated (Hugging Face's no_repeat_ngram_size).</summary>
    internal static IEnumerable<int> BannedNgramTokens(List<int> tokens, int n)
    {
        if (n <= 0 || tokens.Count + 1 < n) yield break;
        if (n == 1)
        {
            foreach (var t in tokens.Distinct()) yield return t;
            yield break;
        }
        var start = tokens.Count - (n - 1);
        for (var j = 0; j + n <= tokens.Count; j++)
        {
            var same = true;
            for (var k = 0; k < n - 1 && same; k++) same = tokens[j + k] == tokens[start + k];
            if (same) yield return tokens[j + n - 1];
        }
    }

    public void Dispose()
    {
        _vision.Dispose();
        _embed.Dispose();
        _encoder.Dispose();
        _decoder.Dispose();
    }
}
