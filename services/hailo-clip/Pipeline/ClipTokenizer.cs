using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace HailoClip.Pipeline;

/// <summary>
/// CLIP's byte-level BPE tokenizer, built from a merges file (OpenAI's <c>bpe_simple_vocab_16e6.txt[.gz]</c> or a
/// Hugging Face export's <c>merges.txt</c>; the first line is a header). The vocabulary is derived from the merges the
/// way CLIP does it: the 256 byte symbols in the byte-to-unicode table's order, the same 256 with the end-of-word
/// marker <c>&lt;/w&gt;</c>, one symbol per merge (at most 48,894 merges are read), then <c>&lt;|startoftext|&gt;</c>
/// and <c>&lt;|endoftext|&gt;</c>: 49,408 ids with the real file. Text is cleaned (see <see cref="Clean"/>) and lower-cased, split by CLIP's pattern, and every piece's UTF-8 bytes
/// are merged by rank. A sequence is start token, tokens, end token, cut to the context length (the end token then
/// last) and padded with id 0.
/// </summary>
internal sealed partial class ClipTokenizer
{
    public const int ContextLength = 77;
    /// <summary>CLIP reads this many merges from its file (49152 − 256 − 2).</summary>
    public const int MaxMerges = 49152 - 256 - 2;
    public const string EndOfWord = "</w>";
    public const string StartText = "<|startoftext|>", EndText = "<|endoftext|>";

    private static readonly char[] ByteToChar = BuildByteTable();
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<(string, string), int> _ranks;

    public ClipTokenizer(IEnumerable<string> mergeLines)
    {
        _ranks = [];
        var vocab = new List<string>(ContextLength);
        var order = ByteOrder();
        foreach (var b in order) vocab.Add(ByteToChar[b].ToString());
        foreach (var b in order) vocab.Add(ByteToChar[b] + EndOfWord);
        var first = true;
        foreach (var raw in mergeLines)
        {
            if (first) { first = false; continue; } // the header ("#version: 0.2")
            if (_ranks.Count == MaxMerges) break;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new InvalidDataException($"merges line {_ranks.Count + 2}: expected two symbols separated by one space, got '{line}'");
            if (!_ranks.TryAdd((parts[0], parts[1]), _ranks.Count))
                throw new InvalidDataException($"merges line {_ranks.Count + 2}: the merge '{line}' appears twice");
            vocab.Add(parts[0] + parts[1]);
        }
        if (_ranks.Count == 0) throw new InvalidDataException("the merges file has no merges");
        vocab.Add(StartText);
        vocab.Add(EndText);
        _ids = new Dictionary<string, int>(vocab.Count, StringComparer.Ordinal);
        for (var i = 0; i < vocab.Count; i++) _ids.TryAdd(vocab[i], i);
        VocabSize = vocab.Count;
        StartId = _ids[StartText];
        EndId = _ids[EndText];
    }

    /// <summary>Reads a merges file; a name ending in .gz is gunzipped.</summary>
    public static ClipTokenizer Load(string path)
    {
        using var file = File.OpenRead(path);
        using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(s, Encoding.UTF8);
        return new ClipTokenizer(Lines(reader));
    }

    private static IEnumerable<string> Lines(TextReader reader)
    {
        while (reader.ReadLine() is { } line) yield return line;
    }

    public int VocabSize { get; }
    public int StartId { get; }
    public int EndId { get; }
    public int MergeCount => _ranks.Count;

    /// <summary>The byte symbols' order in the vocabulary: printable Latin-1 first ('!'..'~', '¡'..'¬', '®'..'ÿ'), then the rest.</summary>
    internal static int[] ByteOrder()
    {
        var order = new List<int>(256);
        for (var b = '!'; b <= '~'; b++) order.Add(b);
        for (var b = '¡'; b <= '¬'; b++) order.Add(b);
        for (var b = '®'; b <= 'ÿ'; b++) order.Add(b);
        for (var b = 0; b < 256; b++) if (!order.Contains(b)) order.Add(b);
        return [.. order];
    }

    /// <summary>CLIP's byte-to-unicode table: printable bytes map to themselves, the others to U+0100 onwards in byte order.</summary>
    private static char[] BuildByteTable()
    {
        var table = new char[256];
        var printable = new bool[256];
        for (var b = '!'; b <= '~'; b++) printable[b] = true;
        for (var b = '¡'; b <= '¬'; b++) printable[b] = true;
        for (var b = '®'; b <= 'ÿ'; b++) printable[b] = true;
        var n = 0;
        for (var b = 0; b < 256; b++) table[b] = printable[b] ? (char)b : (char)(256 + n++);
        return table;
    }

    internal static char ByteSymbol(byte b) => ByteToChar[b];

    [GeneratedRegex(@"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    /// <summary>
    /// CLIP's text cleaning (its basic_clean and whitespace_clean, then lower case) with the parts of ftfy's fix_text
    /// that a prompt meets in practice: Unicode NFC (a decomposed "e" + U+0301 becomes "é"), Latin ligatures (ﬁ → fi),
    /// full-width ASCII and the ideographic space to their plain forms, curly quotes to straight ones, control
    /// characters and byte-order marks removed; then HTML entities decoded twice, whitespace runs to one space,
    /// trimmed, lower case. Not done: ftfy's mojibake repair (text that was decoded with the wrong code page).
    /// </summary>
    public static string Clean(string text)
    {
        var t = FixText(text);
        t = WebUtility.HtmlDecode(WebUtility.HtmlDecode(t)).Trim();
        return Whitespace().Replace(t, " ").Trim().ToLowerInvariant();
    }

    /// <summary>The ftfy-style fixes of <see cref="Clean"/> (before the HTML and whitespace steps).</summary>
    internal static string FixText(string text)
    {
        StringBuilder? sb = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            string? replacement = c switch
            {
                >= '\uFF01' and <= '\uFF5E' => ((char)(c - 0xFF01 + 0x21)).ToString(), // full-width ASCII
                '\u3000' => " ",                                                         // ideographic space
                '\u2018' or '\u2019' or '\u201A' or '\u201B' or '\u02BC' => "'",
                '\u201C' or '\u201D' or '\u201E' or '\u201F' => "\"",
                '\uFB00' => "ff", '\uFB01' => "fi", '\uFB02' => "fl", '\uFB03' => "ffi", '\uFB04' => "ffl", '\uFB05' or '\uFB06' => "st",
                '\u0132' => "IJ", '\u0133' => "ij",
                '\uFEFF' or '\u007F' => "",
                < ' ' when c is not ('\t' or '\n' or '\r' or '\f' or '\v') => "",
                _ => null,
            };
            if (replacement is null) { sb?.Append(c); continue; }
            sb ??= new StringBuilder(text.Length).Append(text, 0, i);
            sb.Append(replacement);
        }
        var fixedText = sb?.ToString() ?? text;
        return UnicodeCompose.Compose(fixedText);
    }

    /// <summary>The BPE ids of a text, without start and end tokens.</summary>
    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        var bytes = new List<char>();
        foreach (Match m in Pattern().Matches(Clean(text)))
        {
            if (m.Value is StartText or EndText) { ids.Add(_ids[m.Value]); continue; }
            bytes.Clear();
            foreach (var b in Encoding.UTF8.GetBytes(m.Value)) bytes.Add(ByteToChar[b]);
            foreach (var symbol in Bpe(bytes))
                ids.Add(_ids.TryGetValue(symbol, out var id) ? id : throw new InvalidDataException($"the merges file makes the symbol '{symbol}', which it does not define"));
        }
        return ids;
    }

    /// <summary>Merges the byte symbols of one piece by rank (lowest first, every occurrence left to right), as CLIP does.</summary>
    private List<string> Bpe(List<char> chars)
    {
        var word = new List<string>(chars.Count);
        for (var i = 0; i < chars.Count; i++) word.Add(i == chars.Count - 1 ? chars[i] + EndOfWord : chars[i].ToString());
        while (word.Count > 1)
        {
            var best = int.MaxValue;
            (string, string) pair = default;
            for (var i = 0; i + 1 < word.Count; i++)
                if (_ranks.TryGetValue((word[i], word[i + 1]), out var r) && r < best) { best = r; pair = (word[i], word[i + 1]); }
            if (best == int.MaxValue) break;
            var merged = new List<string>(word.Count);
            for (var i = 0; i < word.Count;)
            {
                if (i + 1 < word.Count && word[i] == pair.Item1 && word[i + 1] == pair.Item2) { merged.Add(pair.Item1 + pair.Item2); i += 2; }
                else merged.Add(word[i++]);
            }
            word = merged;
        }
        return word;
    }

    /// <summary>
    /// The model input for a text: start token, its tokens, end token, cut to <see cref="ContextLength"/> (the end token
    /// replaces the last one kept) and padded with 0. <c>EndIndex</c> is where the end token is.
    /// </summary>
    public TokenizedText Tokenize(string text)
    {
        var body = Encode(text);
        var ids = new long[ContextLength];
        ids[0] = StartId;
        var n = Math.Min(body.Count, ContextLength - 2);
        for (var i = 0; i < n; i++) ids[1 + i] = body[i];
        ids[1 + n] = EndId;
        return new TokenizedText(ids, 2 + n, Array.IndexOf(ids, (long)EndId), body.Count > n);
    }
}

/// <summary>
/// 77 ids (padded with 0), how many are real (start … end), the first end token's position (where CLIP reads the text
/// feature: the highest id, so its argmax; a prompt that spells out <c>&lt;|endoftext|&gt;</c> moves it forward, as in
/// CLIP) and whether the text was cut.
/// </summary>
internal sealed record TokenizedText(long[] Ids, int Length, int EndIndex, bool Truncated);
