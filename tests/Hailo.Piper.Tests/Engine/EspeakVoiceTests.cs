using HailoPiper.Engine;
using Xunit;

namespace Hailo.Piper.Tests.Engine;

/// <summary>espeak-ng's own voice through libespeak-ng: real speech-length audio, one chunk per sentence.</summary>
public sealed class EspeakVoiceTests
{
    internal static async Task<List<float[]>> Chunks(IVoice voice, string text, SynthesisOptions options, CancellationToken ct = default)
    {
        var chunks = new List<float[]>();
        await foreach (var chunk in voice.SynthesizeAsync(text, options, ct)) chunks.Add(chunk);
        return chunks;
    }

    private static double Rms(ReadOnlySpan<float> s)
    {
        double sum = 0;
        foreach (var x in s) sum += x * x;
        return s.Length == 0 ? 0 : Math.Sqrt(sum / s.Length);
    }

    [Fact]
    public void Names_rate_and_language()
    {
        using var voice = new EspeakVoice("en-us");
        Assert.Equal("espeak:en-us", voice.Name);
        Assert.Equal(22050, voice.SampleRate);
        Assert.Equal(["en_US"], voice.Languages);
        Assert.Empty(voice.Speakers);
        Assert.Equal("espeak:en-us", new EspeakVoice("espeak:en-us").Name);
    }

    [Fact]
    public async Task Speaks_a_sentence_as_non_silent_audio_of_speech_length()
    {
        using var voice = new EspeakVoice("en-us");
        var chunk = Assert.Single(await Chunks(voice, "The quick brown fox jumps over the lazy dog.", new SynthesisOptions(SentenceSilenceSeconds: 0)));

        var seconds = chunk.Length / (double)voice.SampleRate;
        Assert.InRange(seconds, 1.5, 5.0); // nine words at 175 words a minute: about 3 s
        Assert.True(Rms(chunk) > 0.02, $"rms {Rms(chunk)}");
        Assert.All(chunk, s => Assert.InRange(s, -1f, 1f));
    }

    [Fact]
    public async Task One_chunk_per_sentence_each_followed_by_the_silence_asked_for()
    {
        using var voice = new EspeakVoice("en-us");
        var chunks = await Chunks(voice, "Hello there. How are you? Fine, thanks!", new SynthesisOptions(SentenceSilenceSeconds: 0.5f));

        Assert.Equal(3, chunks.Count);
        var silence = voice.SampleRate / 2;
        Assert.All(chunks, c =>
        {
            Assert.True(c.Length > silence + voice.SampleRate / 4);
            Assert.All(c[^silence..], s => Assert.Equal(0f, s));
            Assert.True(Rms(c.AsSpan(0, c.Length - silence)) > 0.02);
        });
    }

    [Fact]
    public async Task Speed_changes_duration()
    {
        using var voice = new EspeakVoice("en-us");
        const string text = "The quick brown fox jumps over the lazy dog.";
        var options = new SynthesisOptions(SentenceSilenceSeconds: 0);
        var normal = (await Chunks(voice, text, options)).Sum(c => c.Length);
        var fast = (await Chunks(voice, text, options with { Speed = 2f })).Sum(c => c.Length);
        var slow = (await Chunks(voice, text, options with { Speed = 0.6f })).Sum(c => c.Length);
        var fastest = (await Chunks(voice, text, options with { Speed = 4f })).Sum(c => c.Length);

        Assert.InRange(fast / (double)normal, 0.4, 0.7);
        Assert.InRange(fastest / (double)normal, 0.15, 0.35);
        Assert.InRange(slow / (double)normal, 1.3, 2.0);
        Assert.Equal(Espeak.MinRate, EspeakVoice.RateFor(0.25f));
        Assert.Equal(Espeak.MaxRate, EspeakVoice.RateFor(4f));
    }

    [Fact]
    public async Task Cancellation_stops_between_sentences()
    {
        using var voice = new EspeakVoice("en-us");
        using var cts = new CancellationTokenSource();
        await using var e = voice.SynthesizeAsync("One sentence. Another sentence. A third.", new SynthesisOptions(), cts.Token).GetAsyncEnumerator();
        Assert.True(await e.MoveNextAsync());
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await e.MoveNextAsync());
    }

    [Fact]
    public void An_unknown_espeak_voice_is_a_voice_load_error()
    {
        var e = Assert.Throws<VoiceLoadException>(() => new EspeakVoice("no-such-voice"));
        Assert.Contains("no-such-voice", e.Message);
    }

    [Fact]
    public async Task Bad_speed_is_an_argument_error()
    {
        using var voice = new EspeakVoice("en-us");
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Chunks(voice, "Hi.", new SynthesisOptions(Speed: 0)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Chunks(voice, "Hi.", new SynthesisOptions(Speed: float.NaN)));
    }

    [Fact]
    public async Task Text_with_nothing_to_say_gives_no_chunks()
    {
        using var voice = new EspeakVoice("en-us");
        Assert.Empty(await Chunks(voice, "", new SynthesisOptions()));
        Assert.Empty(await Chunks(voice, "  \n ", new SynthesisOptions()));
    }
}
