using System.Diagnostics;
using System.Text;
using Hailo.TestSupport;
using HailoPiper.Engine;
using Xunit;

namespace Hailo.Piper.Tests.Engine;

/// <summary>Phonemisation through libespeak-ng against the espeak-ng command's own output, and Piper's id mapping.</summary>
public sealed class PhonemizerTests
{
    /// <summary>What <c>espeak-ng -q --ipa -v VOICE TEXT</c> prints: one line of IPA per clause.</summary>
    internal static string[] EspeakCli(string voice, string text)
    {
        var psi = new ProcessStartInfo("espeak-ng") { RedirectStandardOutput = true, UseShellExecute = false, StandardOutputEncoding = Encoding.UTF8 };
        foreach (var a in new[] { "-q", "--ipa", "-v", voice, text }) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
    }

    private static PiperPhonemizer Phonemizer(string voice = "en-us", string omit = "") =>
        new(PiperVoiceConfig.Parse(PiperTestVoice.Config(voice, 0.667f, 1f, 0.8f, PiperTestVoice.PhonemeIdMap(omit), null)));

    public static TheoryData<string> Sentences => new()
    {
        "Hello world, this is a test.",
        "How are you? I am fine!",
        "The quick brown fox jumps over the lazy dog.",
        "Numbers like 42 and 3.5 are read out; so are dates: 12 May 2024.",
        "Mr. Smith's café serves naïve crème brûlée... Really?",
    };

    [Theory]
    [MemberData(nameof(Sentences))]
    public void Clause_phonemes_equal_the_espeak_ng_commands_ipa(string text)
    {
        var clauses = Espeak.Clauses("en-us", text).Where(c => c.Phonemes.Length > 0).Select(c => c.Phonemes).ToArray();
        Assert.Equal(EspeakCli("en-us", text), clauses);
    }

    [Fact]
    public void Clause_phonemes_equal_the_commands_for_another_language()
    {
        const string text = "Ich möchte ein Brötchen, bitte. Danke!";
        Assert.Equal(EspeakCli("de", text), Espeak.Clauses("de", text).Select(c => c.Phonemes).Where(p => p.Length > 0).ToArray());
    }

    [Fact]
    public void Sentences_keep_their_punctuation_and_a_space_after_commas_as_piper_does()
    {
        const string text = "Hello world, this is a test. How are you? Fine!";
        var cli = EspeakCli("en-us", text);
        Assert.Equal(4, cli.Length);
        var expected = new[] { $"{cli[0]}, {cli[1]}.", $"{cli[2]}?", $"{cli[3]}!" };

        var sentences = Phonemizer().Phonemize(text);

        Assert.Equal(expected, sentences.Select(s => string.Concat(s)).ToArray());
        Assert.All(sentences, s => Assert.All(s, p => Assert.Single(p.EnumerateRunes())));
    }

    [Fact]
    public void Sentences_split_where_espeak_ng_ends_them_and_only_there()
    {
        var p = Phonemizer();
        Assert.Single(p.Phonemize("One, two; three: four... five"));
        Assert.Equal(3, p.Phonemize("One. Two? Three!").Count);
        Assert.Single(p.Phonemize("Version 3.5 is out."));
        Assert.Equal(2, p.Phonemize("First paragraph\n\nSecond paragraph").Count);
        Assert.Empty(p.Phonemize(""));
        Assert.Empty(p.Phonemize("   \n "));
    }

    [Fact]
    public void Run_on_text_is_cut_at_clause_boundaries_once_a_sentence_is_long()
    {
        var p = Phonemizer();
        var commas = string.Join(", ", Enumerable.Repeat("one more little clause", 60)) + ".";
        var sentences = p.Phonemize(commas);
        Assert.True(sentences.Count > 1);
        Assert.All(sentences, s => Assert.InRange(s.Count, 1, PiperPhonemizer.MaxSentencePhonemes + 40));
        Assert.All(sentences.SkipLast(1), s => Assert.Equal(" ", s[^1])); // cut after a comma (and its space)

        // No punctuation at all: espeak-ng ends a clause every ~150 words.
        var words = p.Phonemize(string.Concat(Enumerable.Repeat("word ", 2000)));
        Assert.True(words.Count >= 10, $"{words.Count} sentences");
        Assert.All(words, s => Assert.True(s.Count < 1200, $"{s.Count} phonemes"));

        var texts = EspeakVoice.Sentences("en-us", commas);
        Assert.True(texts.Count > 1);
        Assert.All(texts, t => Assert.InRange(t.Length, 1, EspeakVoice.MaxSentenceChars + 40));
        Assert.Equal(commas, string.Join(" ", texts));
    }

    [Fact]
    public void Espeak_voice_cuts_text_into_sentences_too()
    {
        Assert.Equal(["Hello there.", "How are you?", "Fine, thanks!"],
            EspeakVoice.Sentences("en-us", "Hello there.  How are you? Fine, thanks!"));
    }

    [Fact]
    public void Text_in_double_brackets_is_raw_phonemes_that_join_the_sentence_around_them()
    {
        var p = Phonemizer();
        // Alone: the phonemes as written, each code point one phoneme, nothing from espeak-ng.
        Assert.Equal(["h", "ə", "l", "ˈ", "o", "ʊ", " ", "w", "ˈ", "ɜ", "ː", "l", "d"], p.Phonemize("[[ həlˈoʊ wˈɜːld ]]").Single().ToArray());
        // Inside text: one sentence, espeak-ng's phonemes either side, a space where the text has one.
        var say = EspeakCli("en-us", "Say").Single();
        var again = EspeakCli("en-us", "again").Single();
        Assert.Equal($"{say} wˈɜːld {again}.", string.Concat(p.Phonemize("Say [[wˈɜːld]] again.").Single()));
        Assert.Equal($"{say}wˈɜːld{again}.", string.Concat(p.Phonemize("Say[[wˈɜːld]]again.").Single()));
        // After a sentence's end they begin the next sentence.
        var hello = EspeakCli("en-us", "Hello").Single();
        Assert.Equal([$"{hello}.", "wˈɜːld"], p.Phonemize("Hello. [[wˈɜːld]]").Select(s => string.Concat(s)).ToArray());
        // Decomposed as espeak-ng's are (NFD): ç is c and a combining cedilla.
        Assert.Equal(["ɪ", "c", "\u0327"], p.Phonemize("[[ɪç]]").Single().ToArray());
        // An empty block is nothing; an unclosed one is text.
        Assert.Empty(p.Phonemize("[[ ]]"));
        Assert.Contains(hello, string.Concat(p.Phonemize("[[ Hello").SelectMany(x => x)));
        // Phoneme input is mapped like espeak-ng's: the ids of the symbols as written.
        var map = PiperTestVoice.PhonemeIdMap();
        Assert.Equal([1, 0, map["w"][0], 0, map["ˈ"][0], 0, map["ɜ"][0], 0, map["ː"][0], 0, map["l"][0], 0, map["d"][0], 0, 2],
            p.ToIds(p.Phonemize("[[wˈɜːld]]").Single()));
        Assert.Equal(0, p.MissingPhonemes);
    }

    [Fact]
    public void Phonemes_are_decomposed_into_code_points_nfd_as_piper_does()
    {
        // German "ich" is ɪç in espeak-ng; Piper's NFD turns ç into c and a combining cedilla.
        Assert.Contains("ɪç", EspeakCli("de", "ich")[0]);
        var phonemes = Phonemizer("de").Phonemize("ich").Single();
        Assert.Equal(["ɪ", "c", "\u0327"], phonemes.Take(3).ToArray());

        var text = PiperVoiceConfig.Parse("""{"audio":{"sample_rate":16000},"phoneme_type":"text","phoneme_id_map":{"_":[0],"^":[1],"$":[2]}}""");
        Assert.Equal(["e", "\u0301", "a", "\u0323", "\u0302"], new PiperPhonemizer(text).Phonemize("éậ").Single().ToArray());
        // Canonical order: a dot below (class 220) goes before a circumflex (230) whatever order they came in; Hangul
        // syllables split into their jamo.
        Assert.Equal(["o", "\u0323", "\u0302", "\u1112", "\u1161", "\u11AB"], new PiperPhonemizer(text).Phonemize("o\u0302\u0323한").Single().ToArray());
    }

    [Fact]
    public void Language_switch_markers_are_dropped()
    {
        // espeak-ng reads a Korean syllable with its Korean rules and marks the switch: (ko)…(en-us).
        Assert.Contains("(ko)", Espeak.Clauses("en-us", "한").Single().Phonemes);
        var phonemes = string.Concat(Phonemizer().Phonemize("한").Single());
        Assert.DoesNotContain("(", phonemes);
        Assert.DoesNotContain("ko", phonemes);
    }

    [Fact]
    public async Task Concurrent_phonemisation_and_synthesis_in_two_languages_give_the_serial_results()
    {
        // libespeak-ng holds one voice and one text position for the whole process: the engine's lock must keep
        // callers on different voices from mixing them up.
        const string en = "The quick brown fox jumps over the lazy dog. How are you?";
        const string de = "Ich möchte ein Brötchen, bitte. Danke schön!";
        var english = Phonemizer("en-us");
        var german = Phonemizer("de");
        var expectedEn = Flat(english.Phonemize(en));
        var expectedDe = Flat(german.Phonemize(de));
        using var voice = new EspeakVoice("en-us");
        var expectedAudio = (await EspeakVoiceTests.Chunks(voice, en, new SynthesisOptions())).Sum(c => c.Length);

        var tasks = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            for (var k = 0; k < 10; k++)
            {
                if (i % 4 == 3)
                {
                    using var v = new EspeakVoice("de");
                    Assert.NotEmpty(await EspeakVoiceTests.Chunks(v, de, new SynthesisOptions()));
                    // espeak-ng's length varies by a few samples from call to call, and by 1-2 % once another voice
                    // has been used in the process (state the library keeps across voices); a rate mixed up with
                    // another caller's would change it by far more (tests run speeds 0.6 to 4 alongside).
                    var length = (await EspeakVoiceTests.Chunks(voice, en, new SynthesisOptions())).Sum(c => c.Length);
                    Assert.InRange(length, expectedAudio * 0.96, expectedAudio * 1.04);
                }
                else if (i % 2 == 0) Assert.Equal(expectedEn, Flat(english.Phonemize(en)));
                else Assert.Equal(expectedDe, Flat(german.Phonemize(de)));
            }
        })).ToArray();
        await Task.WhenAll(tasks);

        static string Flat(IReadOnlyList<IReadOnlyList<string>> sentences) => string.Join("|", sentences.Select(s => string.Concat(s)));
    }

    [Fact]
    public void Ids_are_bos_pad_then_each_phoneme_followed_by_pad_then_eos()
    {
        var p = Phonemizer();
        var map = PiperTestVoice.PhonemeIdMap();
        var ids = p.ToIds(["h", "ə", "l", "ˈ", "o", "ʊ", "."]);
        long Id(string s) => map[s][0];
        Assert.Equal(new long[] { 1, 0, Id("h"), 0, Id("ə"), 0, Id("l"), 0, Id("ˈ"), 0, Id("o"), 0, Id("ʊ"), 0, Id("."), 0, 2 }, ids);
        Assert.Equal(0, p.MissingPhonemes);
    }

    [Fact]
    public void Multi_id_phonemes_map_to_all_their_ids()
    {
        var config = PiperVoiceConfig.Parse("""{"audio":{"sample_rate":16000},"espeak":{"voice":"en-us"},"phoneme_id_map":{"_":[0],"^":[1],"$":[2],"a":[7,8]}}""");
        Assert.Equal(new long[] { 1, 0, 7, 8, 0, 2 }, new PiperPhonemizer(config).ToIds(["a"]));
    }

    [Fact]
    public void Phonemes_missing_from_the_map_are_skipped_and_counted()
    {
        var p = Phonemizer(omit: "ə");
        var phonemes = p.Phonemize("Hello world, hello again.").Single();
        var schwas = phonemes.Count(x => x == "ə");
        Assert.True(schwas >= 2, string.Concat(phonemes));

        var ids = p.ToIds(phonemes);

        Assert.Equal(2 + 2 * (phonemes.Count - schwas) + 1, ids.Length);
        Assert.Equal(schwas, p.MissingPhonemes);
    }

    [Fact]
    public void Whole_text_maps_to_the_ids_of_the_commands_phonemes()
    {
        const string text = "The quick brown fox jumps over the lazy dog.";
        var map = PiperTestVoice.PhonemeIdMap();
        var expected = new List<long> { 1, 0 };
        foreach (var rune in (EspeakCli("en-us", text).Single() + ".").EnumerateRunes())
        {
            expected.AddRange(map[rune.ToString()]);
            expected.Add(0);
        }
        expected.Add(2);

        var p = Phonemizer();
        Assert.Equal(expected, p.ToIds(p.Phonemize(text).Single()));
    }
}
