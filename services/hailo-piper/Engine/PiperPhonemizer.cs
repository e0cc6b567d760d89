using System.Text;

namespace HailoPiper.Engine;

/// <summary>
/// Text to a Piper voice's phoneme ids, the way Piper prepares its input: espeak-ng splits the text into clauses and
/// phonemises each in IPA; "(lang)" switch markers are dropped; the clause's punctuation is kept as a phoneme (a
/// space after , : ;); clauses are grouped into sentences at . ? ! and the phonemes decomposed (Unicode NFD) into
/// single code points. Each sentence then maps to ids: BOS, pad, then every phoneme's ids each followed by the pad,
/// then EOS; phonemes the voice has no id for are skipped and counted. One departure from Piper: a run-on sentence
/// is cut at the first clause boundary after <see cref="MaxSentencePhonemes"/> phonemes (espeak-ng itself ends a
/// clause after about 150 words), so no single model run grows without bound.
/// </summary>
public sealed class PiperPhonemizer
{
    public const string Pad = "_", Bos = "^", Eos = "$";

    /// <summary>A sentence longer than this many phoneme characters ends at its next clause boundary.</summary>
    public const int MaxSentencePhonemes = 400;

    private readonly PiperVoiceConfig _config;
    private readonly IReadOnlyDictionary<string, long[]> _idMap;
    private long _missing;

    public PiperPhonemizer(PiperVoiceConfig config)
    {
        _config = config;
        _idMap = config.PhonemeIdMap ?? throw new VoiceLoadException("voice config has no phoneme_id_map");
    }

    /// <summary>Phonemes the voice's id map lacked, skipped since this phonemiser was made.</summary>
    public long MissingPhonemes => Interlocked.Read(ref _missing);

    /// <summary>Opens and closes Piper's raw phoneme input: "[[ həlˈoʊ ]]" goes to the id map as it is written.</summary>
    public const string PhonemesOpen = "[[", PhonemesClose = "]]";

    /// <summary>
    /// The text's phonemes, one list per sentence (empty sentences left out). Text inside "[[ … ]]" is taken as
    /// phonemes (IPA, as espeak-ng writes them) and passed to the id map as they are, each code point one phoneme
    /// after Unicode NFD, as Piper does: it joins the sentence around it, with a space on either side where the text
    /// has one. An unclosed "[[" is text.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>> Phonemize(string text)
    {
        var sentences = new List<IReadOnlyList<string>>();
        var current = new StringBuilder();
        var at = 0;
        while (at < text.Length)
        {
            var open = text.IndexOf(PhonemesOpen, at, StringComparison.Ordinal);
            var close = open < 0 ? -1 : text.IndexOf(PhonemesClose, open + PhonemesOpen.Length, StringComparison.Ordinal);
            if (close < 0)
            {
                Text(text[at..]);
                break;
            }
            Text(text[at..open]);
            var raw = text[(open + PhonemesOpen.Length)..close].Trim();
            if (raw.Length > 0)
            {
                if (open > at && char.IsWhiteSpace(text[open - 1]) && current.Length > 0 && current[^1] != ' ') current.Append(' ');
                current.Append(raw);
                var next = close + PhonemesClose.Length;
                if (next < text.Length && char.IsWhiteSpace(text[next])) current.Append(' ');
                if (current.Length >= MaxSentencePhonemes) Flush();
            }
            at = close + PhonemesClose.Length;
        }
        Flush();
        return sentences;

        // Text between phoneme blocks: espeak-ng's clauses, grouped into sentences (or the text itself for a voice
        // whose phoneme_type is text). A sentence left open continues into the next block.
        void Text(string part)
        {
            if (part.Length == 0) return;
            if (_config.EffectivePhonemeType == "text")
            {
                current.Append(part);
                return;
            }
            var clauses = Espeak.Clauses(_config.EspeakVoice, part);
            for (var i = 0; i < clauses.Count; i++)
            {
                var clause = clauses[i];
                current.Append(WithoutLanguageSwitches(clause.Phonemes));
                if (clause.Terminator is { } t)
                {
                    current.Append(t);
                    if (t is ',' or ':' or ';') current.Append(' ');
                }
                // espeak-ng ends a sentence at the end of its text; where a phoneme block follows, only the text's own
                // end of sentence (. ? ! or a blank line) does.
                var ends = i < clauses.Count - 1 || part.Length == text.Length ? clause.EndsSentence
                    : clause.Terminator is '.' or '?' or '!' || part.AsSpan(part.AsSpan().TrimEnd().Length).Count('\n') >= 2;
                if (ends || current.Length >= MaxSentencePhonemes) Flush();
            }
        }

        void Flush()
        {
            var phonemes = CodePoints(UnicodeNfd.Decompose(current.ToString()));
            if (phonemes.Exists(p => p != " ")) sentences.Add(phonemes);
            current.Clear();
        }
    }

    /// <summary>One sentence's phonemes to the model's input ids.</summary>
    public long[] ToIds(IReadOnlyList<string> phonemes)
    {
        var pad = _idMap[Pad];
        var ids = new List<long>(phonemes.Count * 2 + 4);
        ids.AddRange(_idMap[Bos]);
        ids.AddRange(pad);
        foreach (var phoneme in phonemes)
        {
            if (!_idMap.TryGetValue(phoneme, out var mapped))
            {
                Interlocked.Increment(ref _missing);
                continue;
            }
            ids.AddRange(mapped);
            ids.AddRange(pad);
        }
        ids.AddRange(_idMap[Eos]);
        return ids.ToArray();
    }

    // espeak-ng marks words it speaks with another language's rules as "(fr)bonjour(en)"; the markers go.
    private static string WithoutLanguageSwitches(string phonemes)
    {
        if (!phonemes.Contains('(')) return phonemes;
        var sb = new StringBuilder(phonemes.Length);
        var inFlag = false;
        foreach (var c in phonemes)
        {
            if (inFlag) inFlag = c != ')';
            else if (c == '(') inFlag = true;
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static List<string> CodePoints(string s)
    {
        var list = new List<string>(s.Length);
        foreach (var rune in s.EnumerateRunes()) list.Add(rune.ToString());
        return list;
    }
}
