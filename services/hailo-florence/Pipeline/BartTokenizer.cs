using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HailoFlorence.Pipeline;

/// <summary>
/// The byte-level BPE tokenizer of BART (GPT-2's scheme), read from a Hugging Face tokenizer.json as Florence-2's
/// exports ship it: the `model` (type BPE: `vocab` and `merges`, as "a b" strings or [a, b] pairs), the
/// `added_tokens` (&lt;s&gt;, &lt;pad&gt;, &lt;/s&gt;, &lt;unk&gt;, the task tokens, &lt;loc_0&gt;…&lt;loc_999&gt;, …) and
/// the `post_processor` (RobertaProcessing: &lt;s&gt; … &lt;/s&gt; around the ids). Text is split on added tokens
/// first, then by GPT-2's pre-tokenisation pattern; each piece's UTF-8 bytes are mapped to GPT-2's printable
/// characters and merged by rank.
/// </summary>
public sealed partial class BartTokenizer
{
    private readonly Dictionary<string, int> _vocab;
    private readonly string[] _idToToken;
    private readonly Dictionary<(string, string), int> _ranks;
    private readonly Dictionary<string, int> _added;
    private readonly HashSet<int> _special;
    private readonly string[] _addedByLength;
    private readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly Lock _cacheLock = new();

    public int BosId { get; }
    public int EosId { get; }
    public int PadId { get; }
    public int UnkId { get; }
    public int VocabSize => _idToToken.Length;
    /// <summary>The id of &lt;loc_0&gt; (the 1000 location tokens are consecutive), or -1 when the vocabulary has none.</summary>
    public int LocBase { get; }
    public const int LocBins = 1000;

    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, (byte)b)).ToDictionary(x => x.c, x => x.Item2);

    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Pretokenize();

    private BartTokenizer(Dictionary<string, int> vocab, List<(string, string)> merges, List<(int Id, string Content, bool Special)> added)
    {
        _vocab = vocab;
        _ranks = new Dictionary<(string, string), int>(merges.Count);
        for (var i = 0; i < merges.Count; i++) _ranks.TryAdd(merges[i], i);
        _added = new Dictionary<string, int>(StringComparer.Ordinal);
        _special = [];
        foreach (var (id, content, special) in added)
        {
            _added[content] = id;
            if (special) _special.Add(id);
        }
        var size = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(a => a.Id) + 1);
        _idToToken = new string[size];
        foreach (var (t, id) in vocab) _idToToken[id] = t;
        foreach (var (id, content, _) in added) _idToToken[id] = content;
        _addedByLength = [.. _added.Keys.OrderByDescending(k => k.Length)];
        BosId = Id("<s>");
        EosId = Id("</s>");
        PadId = Id("<pad>");
        UnkId = Id("<unk>");
        LocBase = TokenId("<loc_0>") ?? -1;
        if (LocBase >= 0)
            for (var k = 1; k < LocBins; k++)
                if (TokenId($"<loc_{k}>") != LocBase + k)
                    throw new InvalidDataException("tokenizer.json: <loc_0>…<loc_999> are not consecutive ids");
    }

    private int Id(string token) => TokenId(token) ?? throw new InvalidDataException($"tokenizer.json has no {token} token");

    /// <summary>The id of a token (added or in the vocabulary), or null.</summary>
    public int? TokenId(string token) => _added.TryGetValue(token, out var a) ? a : _vocab.TryGetValue(token, out var v) ? v : null;

    /// <summary>Reads a tokenizer.json (model type BPE).</summary>
    public static BartTokenizer Load(string path) => Parse(File.ReadAllBytes(path));

    public static BartTokenizer Parse(ReadOnlySpan<byte> json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"tokenizer.json is not JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException("tokenizer.json has no model");
            if (model.TryGetProperty("type", out var type) && type.GetString() is { } t && t != "BPE")
                throw new InvalidDataException($"tokenizer.json: model type {t}, expected BPE");
            var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Name] = p.Value.GetInt32();
            var merges = new List<(string, string)>();
            foreach (var m in model.GetProperty("merges").EnumerateArray())
            {
                if (m.ValueKind == JsonValueKind.String)
                {
                    var s = m.GetString()!;
                    var sp = s.IndexOf(' ', 1);
                    if (sp < 0) throw new InvalidDataException($"tokenizer.json: bad merge '{s}'");
                    merges.Add((s[..sp], s[(sp + 1)..]));
                }
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
                    merges.Add((m[0].GetString()!, m[1].GetString()!));
                else throw new InvalidDataException("tokenizer.json: a merge is neither \"a b\" nor [a, b]");
            }
            var added = new List<(int, string, bool)>();
            if (root.TryGetProperty("added_tokens", out var at) && at.ValueKind == JsonValueKind.Array)
                foreach (var a in at.EnumerateArray())
                    added.Add((a.GetProperty("id").GetInt32(), a.GetProperty("content").GetString()!,
                        a.TryGetProperty("special", out var sp) && sp.ValueKind == JsonValueKind.True));
            return new BartTokenizer(vocab, merges, added);
        }
    }

    /// <summary>The ids of <paramref name="text"/> with &lt;s&gt; before and &lt;/s&gt; after (RobertaProcessing).</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int> { BosId };
        var rest = text.AsSpan();
        var start = 0;
        var i = 0;
        while (i < rest.Length)
        {
            string? match = null;
            if (rest[i] == '<')
                foreach (var a in _addedByLength)
                    if (rest[i..].StartsWith(a, StringComparison.Ordinal)) { match = a; break; }
            if (match is null) { i++; continue; }
            EncodePlain(text[start..i], ids);
            ids.Add(_added[match]);
            i += match.Length;
            start = i;
        }
        EncodePlain(text[start..], ids);
        ids.Add(EosId);
        return [.. ids];
    }

    private void EncodePlain(string text, List<int> ids)
    {
        if (text.Length == 0) return;
        foreach (Match m in Pretokenize().Matches(text))
        {
            var piece = m.Value;
            int[]? cached;
            lock (_cacheLock) _cache.TryGetValue(piece, out cached);
            if (cached is null)
            {
                cached = Bpe(piece);
                lock (_cacheLock) if (_cache.Count < 100_000) _cache[piece] = cached;
            }
            ids.AddRange(cached);
        }
    }

    private int[] Bpe(string piece)
    {
        var bytes = Encoding.UTF8.GetBytes(piece);
        var symbols = new List<string>(bytes.Length);
        foreach (var b in bytes) symbols.Add(ByteToChar[b].ToString());
        while (symbols.Count > 1)
        {
            var best = int.MaxValue;
            var at = -1;
            for (var k = 0; k + 1 < symbols.Count; k++)
                if (_ranks.TryGetValue((symbols[k], symbols[k + 1]), out var r) && r < best) { best = r; at = k; }
            if (at < 0) break;
            var (left, right) = (symbols[at], symbols[at + 1]);
            var merged = new List<string>(symbols.Count);
            for (var k = 0; k < symbols.Count; k++)
            {
                if (k + 1 < symbols.Count && symbols[k] == left && symbols[k + 1] == right)
                {
                    merged.Add(left + right);
                    k++;
                }
                else merged.Add(symbols[k]);
            }
            symbols = merged;
        }
        var result = new int[symbols.Count];
        for (var k = 0; k < symbols.Count; k++) result[k] = _vocab.TryGetValue(symbols[k], out var id) ? id : UnkId;
        return result;
    }

    /// <summary>The token string of an id (GPT-2 characters for vocabulary tokens), or null outside the vocabulary.</summary>
    public string? Token(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    public bool IsSpecial(int id) => _special.Contains(id);

    /// <summary>
    /// Text of <paramref name="ids"/>: vocabulary tokens back to their UTF-8 bytes, added tokens as written (special
    /// ones left out with <paramref name="skipSpecial"/>).
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecial = false)
    {
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        void Flush()
        {
            if (bytes.Count == 0) return;
            sb.Append(Encoding.UTF8.GetString(bytes.ToArray()));
            bytes.Clear();
        }
        foreach (var id in ids)
        {
            var tok = Token(id);
            if (tok is null) continue;
            if (_added.ContainsKey(tok) && _added[tok] == id)
            {
                Flush();
                if (!(skipSpecial && _special.Contains(id))) sb.Append(tok);
                continue;
            }
            foreach (var c in tok)
                if (CharToByte.TryGetValue(c, out var b)) bytes.Add(b);
        }
        Flush();
        return sb.ToString();
    }

    /// <summary>GPT-2's reversible map of the 256 bytes to printable characters.</summary>
    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var n = 0;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }

    /// <summary>The GPT-2 character of a byte (for writing vocabularies in tests).</summary>
    public static char CharOf(byte b) => ByteToChar[b];
}
