using Hailo.TestSupport;
using HailoPiper.Engine;
using Xunit;

namespace Hailo.Piper.Tests.Engine;

/// <summary>Piper VITS voices on ONNX Runtime, with a generated model of a real voice's signature.</summary>
public sealed class VitsVoiceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hailo-piper-vits-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<List<float[]>> Chunks(IVoice voice, string text, SynthesisOptions options, CancellationToken ct = default) =>
        EspeakVoiceTests.Chunks(voice, text, options, ct);

    /// <summary>What the generated model outputs for these ids, normalised to a peak of 1 as the voice does.</summary>
    private static float[] Expected(long[] ids, int perId, long speaker = 0, double noiseScale = 0.667, double noiseW = 0.8)
    {
        var audio = new double[ids.Length * perId];
        var offset = PiperTestVoice.Offset(noiseScale, noiseW);
        for (var t = 0; t < audio.Length; t++)
            audio[t] = 0.5 * Math.Sin(t * (float)PiperTestVoice.Frequency(ids[t / perId], speaker)) + offset;
        var peak = audio.Max(Math.Abs);
        return audio.Select(x => (float)(x / peak)).ToArray();
    }

    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        // float32 phases of up to ~10^4 radians in the model: allow for their rounding.
        var worst = 0.0;
        for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst < 0.02, $"largest difference {worst}");
    }

    [Fact]
    public void Loads_name_rate_languages_and_no_speakers()
    {
        using var voice = new VitsVoice(PiperTestVoice.Write(_dir, "en_US-test-medium"));
        Assert.Equal("en_US-test-medium", voice.Name);
        Assert.Equal(22050, voice.SampleRate);
        Assert.Equal(["en_US"], voice.Languages);
        Assert.Empty(voice.Speakers);
    }

    [Fact]
    public async Task Phoneme_ids_reach_the_model_and_its_audio_comes_back_one_chunk_per_sentence()
    {
        using var voice = new VitsVoice(PiperTestVoice.Write(_dir));
        const string text = "Hello world, this is a test. How are you?";
        var sentences = voice.Phonemizer.Phonemize(text);
        Assert.Equal(2, sentences.Count);

        var chunks = await Chunks(voice, text, new SynthesisOptions(SentenceSilenceSeconds: 0.25f));

        Assert.Equal(2, chunks.Count);
        var silence = (int)(0.25f * 22050);
        for (var i = 0; i < 2; i++)
        {
            var ids = voice.Phonemizer.ToIds(sentences[i]);
            AssertClose(Expected(ids, PiperTestVoice.SamplesPerId), chunks[i].AsSpan(0, chunks[i].Length - silence));
            Assert.All(chunks[i][^silence..], s => Assert.Equal(0f, s));
        }
        Assert.Equal(0, voice.Phonemizer.MissingPhonemes);
    }

    [Fact]
    public async Task Length_scale_of_the_config_and_speed_set_the_duration()
    {
        const string text = "The quick brown fox.";
        var options = new SynthesisOptions(SentenceSilenceSeconds: 0);
        using var normal = new VitsVoice(PiperTestVoice.Write(_dir, "normal"));
        using var slow = new VitsVoice(PiperTestVoice.Write(_dir, "slow", lengthScale: 2f));
        var n = voice_ids(normal).Length;

        Assert.Equal(n * 256, Assert.Single(await Chunks(normal, text, options)).Length);
        Assert.Equal(n * 512, Assert.Single(await Chunks(slow, text, options)).Length);
        Assert.Equal(n * 128, Assert.Single(await Chunks(normal, text, options with { Speed = 2f })).Length);
        Assert.Equal(n * 256, Assert.Single(await Chunks(slow, text, options with { Speed = 2f })).Length);
        var fast = Assert.Single(await Chunks(normal, text, options with { Speed = 4f }));
        AssertClose(Expected(voice_ids(normal), 64), fast);

        long[] voice_ids(VitsVoice v) => v.Phonemizer.ToIds(v.Phonemizer.Phonemize(text).Single());
    }

    [Fact]
    public async Task Multi_speaker_voices_feed_the_speaker_id()
    {
        using var voice = new VitsVoice(PiperTestVoice.Write(_dir, "multi", speakers: ["alice", "bob", "carol"]));
        Assert.Equal(["alice", "bob", "carol"], voice.Speakers);
        const string text = "Good morning.";
        var ids = voice.Phonemizer.ToIds(voice.Phonemizer.Phonemize(text).Single());
        var options = new SynthesisOptions(SentenceSilenceSeconds: 0);

        AssertClose(Expected(ids, 256, 0), Assert.Single(await Chunks(voice, text, options)));
        AssertClose(Expected(ids, 256, 2), Assert.Single(await Chunks(voice, text, options with { SpeakerId = 2 })));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Chunks(voice, text, options with { SpeakerId = 3 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Chunks(voice, text, options with { SpeakerId = -1 }));
    }

    [Fact]
    public async Task Noise_scales_come_from_the_config_unless_the_options_set_them()
    {
        using var voice = new VitsVoice(PiperTestVoice.Write(_dir, "noisy", noiseScale: 0.5f, noiseW: 1.2f));
        const string text = "Noise.";
        var ids = voice.Phonemizer.ToIds(voice.Phonemizer.Phonemize(text).Single());
        var options = new SynthesisOptions(SentenceSilenceSeconds: 0);

        AssertClose(Expected(ids, 256, noiseScale: 0.5, noiseW: 1.2), Assert.Single(await Chunks(voice, text, options)));
        AssertClose(Expected(ids, 256, noiseScale: 2, noiseW: 0), Assert.Single(await Chunks(voice, text, options with { NoiseScale = 2f, NoiseW = 0f })));
    }

    [Fact]
    public async Task Single_speaker_voices_take_no_speaker_but_zero()
    {
        using var voice = new VitsVoice(PiperTestVoice.Write(_dir));
        Assert.Single(await Chunks(voice, "Hi.", new SynthesisOptions(SpeakerId: 0)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Chunks(voice, "Hi.", new SynthesisOptions(SpeakerId: 1)));
    }

    [Fact]
    public async Task Cancellation_stops_between_sentences()
    {
        using var voice = new VitsVoice(PiperTestVoice.Write(_dir));
        using var cts = new CancellationTokenSource();
        await using var e = voice.SynthesizeAsync("One. Two. Three.", new SynthesisOptions(), cts.Token).GetAsyncEnumerator();
        Assert.True(await e.MoveNextAsync());
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await e.MoveNextAsync());
    }

    [Fact]
    public async Task Raw_phonemes_speak_as_the_text_they_spell_does()
    {
        using var voice = new VitsVoice(PiperTestVoice.Write(_dir));
        // espeak-ng's own phonemes for the text, given as [[ … ]], reach the model as the same ids: the same audio.
        var ipa = PhonemizerTests.EspeakCli("en-us", "Turn on the light");
        var fromText = await Chunks(voice, "Turn on the light", new SynthesisOptions(SentenceSilenceSeconds: 0));
        var fromPhonemes = await Chunks(voice, $"[[{string.Join(" ", ipa)}]]", new SynthesisOptions(SentenceSilenceSeconds: 0));
        Assert.Equal(fromText.Select(c => c.Length), fromPhonemes.Select(c => c.Length));
        Assert.Equal(fromText.Single(), fromPhonemes.Single());
        // And made-up phonemes are what the model gets: one id per symbol, as the generated model shows in its audio.
        var chunk = Assert.Single(await Chunks(voice, "[[ɑːɑː]]", new SynthesisOptions(SentenceSilenceSeconds: 0)));
        var ids = voice.Phonemizer.ToIds(["ɑ", "ː", "ɑ", "ː"]);
        AssertClose(Expected(ids, PiperTestVoice.SamplesPerId), chunk);
        Assert.Equal(0, voice.Phonemizer.MissingPhonemes);
    }

    [Fact]
    public async Task Missing_phonemes_are_skipped_and_counted()
    {
        using var voice = new VitsVoice(PiperTestVoice.Write(_dir, omit: "ə"));
        const string text = "Hello, the sofa is a comma.";
        var chunk = Assert.Single(await Chunks(voice, text, new SynthesisOptions(SentenceSilenceSeconds: 0)));
        var phonemes = voice.Phonemizer.Phonemize(text).Single();
        var schwas = phonemes.Count(p => p == "ə");
        Assert.True(schwas >= 2, string.Concat(phonemes));
        Assert.Equal(schwas, voice.Phonemizer.MissingPhonemes);
        Assert.Equal((2 + 2 * phonemes.Count(p => p != "ə") + 1) * 256, chunk.Length);
    }

    [Fact]
    public async Task Empty_text_gives_no_chunks()
    {
        using var voice = new VitsVoice(PiperTestVoice.Write(_dir));
        Assert.Empty(await Chunks(voice, "", new SynthesisOptions()));
        Assert.Empty(await Chunks(voice, " \t\n", new SynthesisOptions()));
    }

    [Fact]
    public void Generated_model_can_have_a_real_voices_size()
    {
        var path = PiperTestVoice.Write(_dir, "big", extraWeightBytes: 8 << 20);
        Assert.True(new FileInfo(path).Length > 8 << 20);
        using var voice = new VitsVoice(path);
        Assert.Equal("big", voice.Name);
    }

    private string Config(string json)
    {
        var model = PiperTestVoice.Write(_dir);
        File.WriteAllText(model + ".json", json);
        return model;
    }

    private const string Minimal = """{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"phoneme_id_map":{"_":[0],"^":[1],"$":[2]}}""";

    public static TheoryData<string, string> BadConfigs => new()
    {
        { "not json", "not a Piper voice config" },
        { "[]", "not a Piper voice config" },
        { "null", "empty" },
        { """{"espeak":{"voice":"en-us"},"phoneme_id_map":{"_":[0],"^":[1],"$":[2]}}""", "sample_rate" },
        { """{"audio":{"sample_rate":22050},"phoneme_id_map":{"_":[0],"^":[1],"$":[2]}}""", "espeak.voice" },
        { """{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"}}""", "phoneme_id_map" },
        { """{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"phoneme_id_map":{"^":[1],"$":[2]}}""", "'_'" },
        { """{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"phoneme_id_map":{"_":[0],"^":[1],"$":[2],"a":"x"}}""", "not a Piper voice config" },
        { """{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"phoneme_id_map":{"_":[0],"^":[1],"$":[2]},"num_speakers":0}""", "num_speakers" },
        { """{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"phoneme_id_map":{"_":[0],"^":[1],"$":[2]},"inference":{"length_scale":0}}""", "scales" },
        { """{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"phoneme_id_map":{"_":[0],"^":[1],"$":[2]},"phoneme_type":"pinyin"}""", "pinyin" },
        { """{"audio":{"sample_rate":22050},"espeak":{"voice":"xx-nope"},"phoneme_id_map":{"_":[0],"^":[1],"$":[2]}}""", "xx-nope" },
        { """{"audio":{"sample_rate":22050},"espeak":{"voice":"en-us"},"phoneme_id_map":{"_":[0],"^":[1],"$":[2]},"num_speakers":2}""", "sid" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void A_bad_voice_config_is_a_voice_load_error(string json, string mentions)
    {
        var e = Assert.Throws<VoiceLoadException>(() => new VitsVoice(Config(json)));
        Assert.Contains(mentions, e.Message);
    }

    [Fact]
    public void Unknown_config_fields_are_ignored()
    {
        var model = Config(Minimal[..^1] + ""","piper_version":"1.0.0","extra":{"deep":[1,{"x":null}]},"num_symbols":256}""");
        using var voice = new VitsVoice(model);
        Assert.Equal(22050, voice.SampleRate);
    }

    [Fact]
    public void Missing_or_broken_model_files_are_voice_load_errors()
    {
        var model = PiperTestVoice.Write(_dir);
        File.Delete(model + ".json");
        Assert.Contains(".json", Assert.Throws<VoiceLoadException>(() => new VitsVoice(model)).Message);

        model = Config(Minimal);
        File.Delete(model);
        Assert.Contains("does not exist", Assert.Throws<VoiceLoadException>(() => new VitsVoice(model)).Message);

        model = Config(Minimal);
        File.WriteAllText(model, "not a model");
        Assert.Throws<VoiceLoadException>(() => new VitsVoice(model));

        // A valid ONNX model without Piper's inputs.
        var w = new OnnxWriter();
        w.Input("x", [1], OnnxWriter.Float);
        w.Output("y", [1], OnnxWriter.Float);
        w.Node("Identity", ["x"], "y");
        model = Config(Minimal);
        w.Save(model);
        Assert.Contains("'input'", Assert.Throws<VoiceLoadException>(() => new VitsVoice(model)).Message);
    }
}
