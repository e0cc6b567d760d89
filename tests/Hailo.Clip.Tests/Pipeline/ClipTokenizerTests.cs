using Hailo.TestSupport;
using HailoClip.Pipeline;
using Xunit;

namespace Hailo.Clip.Tests.Pipeline;

/// <summary>
/// CLIP's tokenizer over the generated merges of <see cref="ClipTestModel"/>, whose ids follow from CLIP's rules by
/// hand: byte symbols in the byte-to-unicode table's order ('!' = 0 … '~' = 93, then '¡'..'¬', '®'..'ÿ', then the
/// other bytes), the same with &lt;/w&gt; at +256, merge n at 512 + n, start 529, end 530. What only the real
/// 49,408-id vocabulary would show (the ids of real words) is in the gated test at the end.
/// </summary>
public sealed class ClipTokenizerTests
{
    private static readonly ClipTokenizer Tok = new(ClipTestModel.Merges);

    // Hand-derived symbol ids: a printable ASCII byte c is c − 33; with </w> it is c − 33 + 256.
    private static int B(char c) => c - 33;
    private static int W(char c) => c - 33 + 256;

    [Fact]
    public void The_vocabulary_is_derived_from_the_merges_as_clip_does()
    {
        Assert.Equal(512 + 17 + 2, Tok.VocabSize);
        Assert.Equal(529, Tok.StartId);
        Assert.Equal(530, Tok.EndId);
        var order = ClipTokenizer.ByteOrder();
        Assert.Equal(256, order.Distinct().Count());
        Assert.Equal('!', order[0]);
        Assert.Equal('~', order[93]);
        Assert.Equal(0xA1, order[94]);   // '¡'
        Assert.Equal(0xAE, order[106]);  // '®' follows '¬' (0xAC); 0xAD (soft hyphen) is not printable
        Assert.Equal(0, order[188]);     // the first non-printable byte
        Assert.Equal(0xAD, order[255]);  // the last one
        Assert.Equal('Ā', ClipTokenizer.ByteSymbol(0));
        Assert.Equal('Ġ', ClipTokenizer.ByteSymbol((byte)' '));  // space: the 33rd non-printable byte → U+0120
        Assert.Equal('a', ClipTokenizer.ByteSymbol((byte)'a'));
    }

    [Fact]
    public void Words_merge_by_rank_and_unmerged_symbols_keep_their_byte_ids()
    {
        // "a photo of a cat": 'a' alone is "a</w>"; "photo" has no merge; "cat" merges c+a (rank 0), then ca+t</w> (rank 1).
        Assert.Equal([320, B('p'), B('h'), B('o'), B('t'), W('o'), B('o'), W('f'), 320, 513], Tok.Encode("a photo of a cat"));
        Assert.Equal([519], Tok.Encode("hello"));                       // h e → l l → he ll → hell o</w>
        Assert.Equal([523, 525, 528], Tok.Encode("green red blue"));    // g r, e e, gr ee, gree n</w>: "r e" ranks later
        // "free": r e merges, but "e e" cannot, because the last e is "e</w>".
        Assert.Equal([B('f'), 524, W('e')], Tok.Encode("free"));
    }

    [Fact]
    public void Text_is_cleaned_lowercased_and_split_as_clip_does()
    {
        // Case, whitespace runs and newlines; punctuation and digits; contractions; HTML entities (twice decoded).
        // (Unicode normalisation is not applied: the service runs with invariant globalization.)
        Assert.Equal([519, W(','), B('w'), B('o'), B('r'), B('l'), W('d'), W('!')], Tok.Encode("  HELLO,\n\t World!  "));
        Assert.Equal([W('4'), W('2'), B('d'), W('o')], Tok.Encode("42do"));            // one digit per piece
        Assert.Equal([B('i'), W('t'), B('\''), W('s')], Tok.Encode("it's"));
        Assert.Equal([W('&')], Tok.Encode("&amp;amp;"));
    }

    [Fact]
    public void Non_ascii_text_is_byte_level()
    {
        // "é" is UTF-8 C3 A9: 'Ã' (0xC3) is printable Latin-1 at 94 + 12 + (0xC3 − 0xAE) = 127; '©' (0xA9) at 94 + 8 = 102, +256 with </w>.
        Assert.Equal([127, 102 + 256], Tok.Encode("é"));
        // A space never survives the split; a control byte would map to U+0100 + n.
        Assert.Empty(Tok.Encode("   "));
    }

    [Fact]
    public void Sequences_have_start_and_end_tokens_padding_and_truncation_to_77()
    {
        var t = Tok.Tokenize("red");
        Assert.Equal(77, t.Ids.Length);
        Assert.Equal([529, 525, 530], t.Ids[..3]);
        Assert.All(t.Ids[3..], id => Assert.Equal(0, id));
        Assert.Equal((3, 2, false), (t.Length, t.EndIndex, t.Truncated));

        var empty = Tok.Tokenize("");
        Assert.Equal([529, 530, 0], empty.Ids[..3]);

        var longText = Tok.Tokenize(string.Join(' ', Enumerable.Repeat("a", 100)));
        Assert.True(longText.Truncated);
        Assert.Equal(77, longText.Length);
        Assert.Equal(529, longText.Ids[0]);
        Assert.All(longText.Ids[1..76], id => Assert.Equal(320, id));
        Assert.Equal(530, longText.Ids[76]);
        Assert.Equal(76, longText.EndIndex);

        var exactly75 = Tok.Tokenize(string.Join(' ', Enumerable.Repeat("a", 75)));
        Assert.False(exactly75.Truncated);
        Assert.Equal(530, exactly75.Ids[76]);
    }

    [Fact]
    public void Special_token_text_becomes_the_special_token_and_moves_the_end_position_as_in_clip()
    {
        var t = Tok.Tokenize("red <|endoftext|> blue");
        Assert.Equal([529, 525, 530, 528, 530], t.Ids[..5]);
        Assert.Equal(2, t.EndIndex);   // CLIP reads the feature at the first (argmax) end token
    }

    [Fact]
    public void Unicode_nfc_composes_a_decomposed_accent_even_with_invariant_globalization()
    {
        // The service (and this test project) run with InvariantGlobalization, where .NET's Normalize leaves the text
        // as it is (checked here, so the day it composes the hand-written table can go); the tokenizer composes itself.
        Assert.True(AppContext.TryGetSwitch("System.Globalization.Invariant", out var invariant) && invariant);
        Assert.Equal("cafe\u0301", "cafe\u0301".Normalize());
        Assert.Equal("caf\u00e9", ClipTokenizer.Clean("Cafe\u0301"));
        // "café" as one é (C3 A9): c a → "ca" (512), then f, then the two bytes of é, the last with </w>.
        var expected = new List<int> { 512, B('f'), 0xC3 - 0xAE + 106, 0xA9 - 0xA1 + 94 + 256 };
        Assert.Equal(expected, Tok.Encode("cafe\u0301"));
        Assert.Equal(expected, Tok.Encode("caf\u00e9"));
    }

    [Theory]
    [InlineData("e\u0302\u0301", "\u1EBF")]              // two marks compose in turn: ê, then ế
    [InlineData("a\u0323\u0302", "\u1EAD")]              // ạ, then ậ
    [InlineData("\u212B", "\u00E5")]                      // the Ångström sign is Å (then lower case)
    [InlineData("\u0418\u0306", "\u0439")]               // Cyrillic И + breve = й
    [InlineData("n\u0303o\u0308", "\u00F1\u00F6")]
    [InlineData("q\u0301", "q\u0301")]                    // no precomposed q-acute: left as it is
    public void Decomposed_letters_are_composed_as_nfc_does(string input, string cleaned)
    {
        Assert.Equal(cleaned, ClipTokenizer.Clean(input));
        Assert.True(UnicodeCompose.PairCount > 700);
    }

    [Theory]
    [InlineData("\uFF32\uFF25\uFF24", "red")]                       // full-width letters
    [InlineData("\uFB01sh \uFB02ag", "fish flag")]                  // Latin ligatures
    [InlineData("\u201Cred\u201D \u2018s", "\"red\" 's")]           // curly quotes straightened
    [InlineData("re\u0000d\u007F\uFEFF", "red")]                     // control characters and BOM removed
    [InlineData("a\u3000b", "a b")]                                  // ideographic space
    [InlineData("&amp;lt;b&amp;gt; &quot;x&quot;", "<b> \"x\"")]      // HTML entities decoded twice
    [InlineData("  A \t\n\r B  ", "a b")]                           // whitespace runs collapsed, trimmed
    public void Cleaning_does_what_clip_and_ftfy_do_for_common_text(string input, string cleaned) =>
        Assert.Equal(cleaned, ClipTokenizer.Clean(input));

    [Fact]
    public void Full_width_and_curly_prompts_tokenize_like_their_plain_forms()
    {
        Assert.Equal(Tok.Tokenize("red").Ids, Tok.Tokenize("\uFF32\uFF25\uFF24").Ids);
        Assert.Equal(Tok.Tokenize("'red'").Ids, Tok.Tokenize("\u2018red\u2019").Ids);
    }

    [Fact]
    public void A_broken_merges_file_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => new ClipTokenizer(["#version: 0.2"]));
        Assert.Throws<InvalidDataException>(() => new ClipTokenizer(["#version: 0.2", "a b c"]));
        Assert.Throws<InvalidDataException>(() => new ClipTokenizer(["#version: 0.2", "a b", "a b"]));
    }

    [Fact]
    public void A_gzipped_merges_file_loads()
    {
        var path = Path.Combine(Path.GetTempPath(), $"clip-merges-{Guid.NewGuid():N}.txt.gz");
        try
        {
            using (var f = File.Create(path))
            using (var gz = new System.IO.Compression.GZipStream(f, System.IO.Compression.CompressionLevel.Fastest))
                gz.Write(System.Text.Encoding.UTF8.GetBytes(ClipTestModel.MergesText));
            Assert.Equal([529, 513, 530], ClipTokenizer.Load(path).Tokenize("cat").Ids[..3]);
        }
        finally { File.Delete(path); }
    }

    /// <summary>
    /// Only with OpenAI's real bpe_simple_vocab_16e6.txt.gz (set HAILO_CLIP_MERGES to its path): 49,408 ids and the
    /// published ids of a common prompt. Reported as skipped when the file is not supplied (no network here).
    /// </summary>
    [RealMergesFact]
    public void Real_vocabulary_when_supplied()
    {
        var path = Environment.GetEnvironmentVariable(RealMergesFactAttribute.Variable)!;
        var tok = ClipTokenizer.Load(path);
        Assert.Equal(49408, tok.VocabSize);
        Assert.Equal((49406, 49407), (tok.StartId, tok.EndId));
        Assert.Equal([49406, 320, 1125, 539, 320, 2368, 49407], tok.Tokenize("a photo of a cat").Ids[..7]);
    }
}

/// <summary>A test that needs OpenAI's real merges file: skipped, and shown as skipped, unless HAILO_CLIP_MERGES names it.</summary>
public sealed class RealMergesFactAttribute : FactAttribute
{
    public const string Variable = "HAILO_CLIP_MERGES";

    public RealMergesFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } path || !File.Exists(path))
            Skip = $"needs CLIP's real merges file (bpe_simple_vocab_16e6.txt.gz); set {Variable} to its path";
    }
}
