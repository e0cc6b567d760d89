using System.Diagnostics;
using Hailo.Hosting.Metrics;
using Hailo.Media;

namespace HailoClip.Pipeline;

/// <summary>
/// One CLIP model on one backend: the tokenizer and the towers. Every embedding it gives is L2-normalised, so the
/// dot product of two is their cosine similarity.
/// </summary>
internal sealed class ClipPipeline : IDisposable, Hailo.Hosting.IWarmUp
{
    private readonly IClipTowers _towers;
    private readonly ServiceMetrics? _metrics;

    public ClipPipeline(IClipTowers towers, ClipTokenizer tokenizer, string name, ServiceMetrics? metrics = null)
    {
        _towers = towers;
        _metrics = metrics;
        Tokenizer = tokenizer;
        Name = name;
        if (towers.VocabSize is { } vocab && vocab != tokenizer.VocabSize)
        {
            towers.Dispose();
            throw new InvalidDataException($"the merges file gives {tokenizer.VocabSize} token ids, the token-embedding table has {vocab} rows");
        }
    }

    public string Name { get; }
    public ClipTokenizer Tokenizer { get; }
    public string ImageFile => _towers.ImageFile;
    public string TextFile => _towers.TextFile;
    public int Dimension => _towers.Dimension;

    /// <summary>Resize, crop, image tower, L2 normalisation.</summary>
    public float[] EmbedImage(RgbaImage image, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        const int bytes = ClipPreprocess.Size * ClipPreprocess.Size * 3;
        var rgb = System.Buffers.ArrayPool<byte>.Shared.Rent(bytes);
        try
        {
            ClipPreprocess.ResizeCrop(image, rgb);
            timer.AddSince(StageTimer.Preprocess, start);
            return EmbedCropped(rgb.AsSpan(0, bytes), timer);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rgb);
        }
    }

    /// <summary>Image tower and L2 normalisation of an image already resized and cropped (<see cref="ClipPreprocess.ResizeCrop(RgbaImage, int)"/>).</summary>
    public float[] EmbedCropped(ReadOnlySpan<byte> rgb, StageTimer timer)
    {
        var embedding = _towers.EmbedImage(rgb, timer);
        var start = Stopwatch.GetTimestamp();
        Normalize(embedding);
        timer.AddSince(StageTimer.Postprocess, start);
        return embedding;
    }

    /// <summary>Tokenize, text tower, L2 normalisation.</summary>
    public float[] EmbedText(string text, StageTimer timer)
    {
        var start = Stopwatch.GetTimestamp();
        var tokens = Tokenizer.Tokenize(text);
        timer.AddSince(StageTimer.Preprocess, start);
        var embedding = _towers.EmbedText(tokens, timer);
        start = Stopwatch.GetTimestamp();
        Normalize(embedding);
        timer.AddSince(StageTimer.Postprocess, start);
        return embedding;
    }

    /// <summary>Reports a finished request's stages to /metrics.</summary>
    public void Report(StageTimer timer) => timer.Report(_metrics, Name);

    /// <summary>x / ‖x‖ in place (a zero vector stays zero).</summary>
    public static void Normalize(Span<float> v)
    {
        double sum = 0;
        foreach (var x in v) sum += (double)x * x;
        if (sum <= 0 || !double.IsFinite(sum)) return;
        var inv = (float)(1 / Math.Sqrt(sum));
        for (var i = 0; i < v.Length; i++) v[i] *= inv;
    }

    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("embeddings of different sizes");
        double sum = 0;
        for (var i = 0; i < a.Length; i++) sum += (double)a[i] * b[i];
        return (float)sum;
    }

    /// <summary>One run of each tower (a grey image, an empty text), not counted in /metrics.</summary>
    public void WarmUp()
    {
        using var grey = RgbaImage.Filled(ClipPreprocess.Size, ClipPreprocess.Size, 128, 128, 128);
        EmbedImage(grey, new StageTimer());
        EmbedText("", new StageTimer());
    }

    public void Dispose() => _towers.Dispose();
}

/// <summary>
/// Text embeddings by model and text, least recently used dropped first, at most <c>capacity</c> of them (0: off).
/// A text is held by its SHA-256, not as itself: an entry costs the embedding and 32 bytes whatever the text's length
/// (up to <see cref="ClipLimits.MaxTextChars"/>), so unique long prompts cannot make the cache large. Safe for
/// concurrent requests.
/// </summary>
internal sealed class TextEmbeddingCache(int capacity)
{
    private readonly record struct Key(string Model, UInt128 High, UInt128 Low);

    private readonly Dictionary<Key, LinkedListNode<(Key Key, float[] Value)>> _map = [];
    private readonly LinkedList<(Key Key, float[] Value)> _order = new();
    private readonly Lock _lock = new();
    private long _hits, _misses;

    public int Capacity => capacity;
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    public int Count { get { lock (_lock) return _map.Count; } }

    private static Key KeyOf(string model, string text)
    {
        Span<byte> digest = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(text.AsSpan()), digest);
        return new Key(model, System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(digest), System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(digest[16..]));
    }

    public bool TryGet(string model, string text, out float[] embedding)
    {
        var key = KeyOf(model, text);
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                embedding = node.Value.Value;
                _hits++;
                return true;
            }
            _misses++;
        }
        embedding = [];
        return false;
    }

    public void Put(string model, string text, float[] embedding)
    {
        if (capacity == 0) return;
        var key = KeyOf(model, text);
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var old)) _order.Remove(old);
            var node = _order.AddFirst((key, embedding));
            _map[key] = node;
            while (_map.Count > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
            }
        }
    }
}
