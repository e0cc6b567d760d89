using System.Net;
using System.Text;
using Hailo.Audio.Encoding;
using Hailo.TestSupport;
using HailoPiper;
using Xunit;

namespace Hailo.Piper.Tests;

/// <summary>
/// The service with its own voice loader, as shipped: flite's and espeak-ng's built-in voices and a Piper voice
/// found in the models directory (the generated VITS-shaped model: it proves loading, phonemisation and streaming
/// through ONNX Runtime, not how a real voice sounds).
/// </summary>
public sealed class RealVoiceTests(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-piper-real-").FullName;
    private RunningService _service = null!;

    public async Task InitializeAsync()
    {
        PiperTestVoice.Write(Path.Combine(_models, "test_voice"), "test_voice");
        var config = new PiperConfig(); // the shipped defaults: flite:slt speaks when a request names no voice
        config.Models.Dir = _models;
        config.Models.SearchPaths = [];
        config.Cpu.Threads = 1;
        _service = await RunningService.StartAsync(PiperService.Definition, config);
        await _service.StartupCompleted;
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Theory]
    [InlineData(null, "flite:slt", 16000)] // the default
    [InlineData("espeak:en-us", "espeak:en-us", 22050)]
    [InlineData("flite:rms", "flite:rms", 16000)]
    public async Task A_built_in_voice_speaks_a_sentence_of_plausible_length(string? voice, string expected, int rate)
    {
        var field = voice is null ? "" : $",\"voice\":\"{voice}\"";
        var r = await _service.Client.PostAsync("/v1/audio/speech", Json($$"""{"input":"The quick brown fox jumps over the lazy dog.","response_format":"wav"{{field}}}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(expected, r.Headers.GetValues("X-Voice").Single());
        var wav = ProbedAudio.From(await r.Content.ReadAsByteArrayAsync(), AudioFormat.Wav);
        Assert.Equal((rate, 1), (wav.SampleRate, wav.Channels));
        // Nine words: about three seconds at a speaking pace, with the silence after the sentence.
        Assert.InRange(wav.Seconds, 1.5, 5);
        Assert.True(wav.Rms() > 0.02, $"RMS {wav.Rms()}: silent");
    }

    [Fact]
    public async Task The_built_in_voice_answers_openais_default_mp3_and_a_faster_speed_is_shorter()
    {
        const string text = "Speech in the format most clients ask for.";
        var normal = ProbedAudio.From(await (await _service.Client.PostAsync("/v1/audio/speech", Json($$"""{"input":"{{text}}","voice":"alloy"}"""))).Content.ReadAsByteArrayAsync(), AudioFormat.Mp3);
        var fast = ProbedAudio.From(await (await _service.Client.PostAsync("/v1/audio/speech", Json($$"""{"input":"{{text}}","voice":"alloy","speed":2}"""))).Content.ReadAsByteArrayAsync(), AudioFormat.Mp3);
        Assert.Equal(("mp3", ""), (normal.Codec, normal.Errors));
        Assert.InRange(fast.Seconds / normal.Seconds, 0.35, 0.75);
    }

    [Fact]
    public async Task A_piper_voice_in_the_models_directory_speaks_through_onnx_runtime()
    {
        var voices = await _service.Client.GetStringAsync("/v1/voices");
        Assert.Contains("\"test_voice\"", voices);
        var r = await _service.Client.PostAsync("/v1/audio/speech", Json("""{"input":"One sentence. And a second one.","voice":"test_voice","response_format":"flac"}"""));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("test_voice", r.Headers.GetValues("X-Voice").Single());
        var audio = ProbedAudio.From(await r.Content.ReadAsByteArrayAsync(), AudioFormat.Flac);
        Assert.Equal(("flac", 1, ""), (audio.Codec, audio.Channels, audio.Errors));
        // The generated model makes 256 samples per phoneme id: two sentences of ids and the silences after them.
        Assert.InRange(audio.Seconds, 0.3, 10);
        Assert.True(audio.Rms() > 0.01, $"RMS {audio.Rms()}: silent");
    }

    /// <summary>Commands a voice assistant hears, spoken and transcribed back in the word-error-rate test.</summary>
    public static readonly string[] Sentences =
    [
        "turn on the kitchen light",
        "what is the weather today",
        "set a timer for ten minutes",
        "play some music in the living room",
        "the front door is open",
        "good morning how are you",
    ];

    [Fact]
    public async Task Debians_recogniser_understands_the_default_voice_and_better_than_espeak()
    {
        // pocketsphinx (Debian's, with its en-us model) is a weak recogniser: on real read speech about 40 % of words
        // come back wrong. Measured here: see the service README. The bound
        // of 25 % leaves room for another build of either library and still fails for a voice nobody can understand.
        var flite = await WordErrorRate(null);
        var espeak = await WordErrorRate("espeak:en-us");
        output.WriteLine($"word error rate with pocketsphinx: flite:slt {flite:P1}, espeak:en-us {espeak:P1}");
        Assert.True(flite <= 0.25, $"flite:slt word error rate {flite:P0}");
        Assert.True(flite < espeak, $"flite:slt {flite:P0} is not better understood than espeak:en-us {espeak:P0}");
    }

    private async Task<double> WordErrorRate(string? voice)
    {
        int errors = 0, words = 0;
        var dir = Directory.CreateTempSubdirectory("hailo-piper-wer-").FullName;
        try
        {
            foreach (var sentence in Sentences)
            {
                var field = voice is null ? "" : $",\"voice\":\"{voice}\"";
                var r = await _service.Client.PostAsync("/v1/audio/speech", Json($$"""{"input":"{{sentence}}","response_format":"wav"{{field}}}"""));
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                var wav = Path.Combine(dir, "speech.wav");
                var pcm16k = Path.Combine(dir, "speech16k.wav");
                await File.WriteAllBytesAsync(wav, await r.Content.ReadAsByteArrayAsync());
                // The streamed WAV's sizes say "unknown"; sox reads it to the end and writes the recogniser's format.
                Run("sox", "--ignore-length", wav, "-r", "16000", "-c", "1", "-b", "16", pcm16k);
                var heard = Run("pocketsphinx_continuous", "-infile", pcm16k).Trim();
                errors += Distance(sentence.Split(' '), heard.Split(' ', StringSplitOptions.RemoveEmptyEntries));
                words += sentence.Split(' ').Length;
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
        return errors / (double)words;
    }

    /// <summary>Word-level edit distance (substitutions, insertions, deletions).</summary>
    private static int Distance(string[] reference, string[] heard)
    {
        var d = new int[reference.Length + 1, heard.Length + 1];
        for (var i = 0; i <= reference.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= heard.Length; j++) d[0, j] = j;
        for (var i = 1; i <= reference.Length; i++)
            for (var j = 1; j <= heard.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (reference[i - 1] == heard[j - 1] ? 0 : 1));
        return d[reference.Length, heard.Length];
    }

    private static string Run(string tool, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} failed ({p.ExitCode}): {err.Result[^Math.Min(err.Result.Length, 400)..]}");
        return output;
    }
}
