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
public sealed class RealVoiceTests : IAsyncLifetime
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
}
