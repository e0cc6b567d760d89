using Hailo.TestSupport;
using Hailo.Wyoming;
using HailoPiper;
using HailoPiper.Engine;
using HailoPiper.Voices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Hailo.Piper.Tests;

/// <summary>
/// Wyoming text to speech with a client written from the protocol description (Hailo.TestSupport's WyomingPeer):
/// describe → info with the voices, synthesize → audio-start/chunks/audio-stop, and the streaming
/// synthesize-start/-chunk/-stop → audio per sentence, then synthesize-stopped.
/// </summary>
public sealed class WyomingTests : IAsyncLifetime
{
    private readonly string _models = Directory.CreateTempSubdirectory("hailo-piper-wyoming-").FullName;
    private readonly FakeVoiceLoader _loader = new();
    private RunningService? _service;
    private int _port;

    public async Task InitializeAsync()
    {
        TestVoices.WritePiperVoice(_models, "en_US-lessac-medium", 22050, "en_US");
        TestVoices.WritePiperVoice(_models, "xx_XX-multi-low", 16000, "xx_XX", "alice", "bob");
        var config = PiperFixture.Config(_models);
        config.Wyoming.Enabled = true;
        config.Wyoming.Port = 0;
        _service = await RunningService.StartAsync(PiperService.Definition, config, b => b.Services.AddSingleton<IVoiceLoader>(_loader));
        await _service.StartupCompleted;
        _port = await _service.App.Services.GetServices<IHostedService>().OfType<WyomingServer>().Single().Port;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    /// <summary>Events up to and including <paramref name="last"/>.</summary>
    private static async Task<List<(string Type, System.Text.Json.JsonElement Data, byte[]? Payload)>> Until(WyomingPeer peer, string last)
    {
        var events = new List<(string, System.Text.Json.JsonElement, byte[]?)>();
        while (true)
        {
            var e = await peer.Receive() ?? throw new InvalidOperationException($"closed before {last}");
            events.Add(e);
            if (e.Type == last || e.Type == "error") return events;
        }
    }

    [Fact]
    public async Task Describe_lists_the_installed_voices_with_languages_speakers_and_streaming()
    {
        using var peer = await WyomingPeer.Connect(_port);
        await peer.Send("describe");
        var info = (await peer.Receive())!.Value;
        Assert.Equal("info", info.Type);
        var tts = Assert.Single(info.Data.GetProperty("tts").EnumerateArray());
        Assert.Equal("hailo-piper", tts.GetProperty("name").GetString());
        Assert.True(tts.GetProperty("supports_synthesize_streaming").GetBoolean());
        var voices = tts.GetProperty("voices").EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!);
        Assert.Contains("espeak:en-us", voices.Keys);
        Assert.Contains("en_US-lessac-medium", voices.Keys);
        Assert.DoesNotContain("en_US-amy-low", voices.Keys); // not installed
        Assert.Equal(["alice", "bob"], voices["xx_XX-multi-low"].GetProperty("speakers").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(["en_US"], voices["en_US-lessac-medium"].GetProperty("languages").EnumerateArray().Select(s => s.GetString()));
        Assert.True(voices["espeak:en-us"].GetProperty("installed").GetBoolean());
        Assert.Equal("espeak-ng", voices["espeak:en-us"].GetProperty("attribution").GetProperty("name").GetString());
        Assert.Empty(info.Data.GetProperty("asr").EnumerateArray());
    }

    [Fact]
    public async Task Synthesize_answers_audio_start_second_long_chunks_and_audio_stop()
    {
        using var peer = await WyomingPeer.Connect(_port);
        const string text = "A first sentence that is long enough to fill more than one second of audio at two hundred samples a character. Short.";
        await peer.Send("synthesize", "{\"text\":\"" + text + "\",\"voice\":{\"name\":\"en_US-lessac-medium\"}}");
        var events = await Until(peer, "audio-stop");
        Assert.Equal("audio-start", events[0].Type);
        Assert.Equal(22050, events[0].Data.GetProperty("rate").GetInt32());
        Assert.Equal(2, events[0].Data.GetProperty("width").GetInt32());
        Assert.Equal(1, events[0].Data.GetProperty("channels").GetInt32());
        var chunks = events.Where(e => e.Type == "audio-chunk").ToList();
        Assert.True(chunks.Count >= 3);
        Assert.All(chunks, c => Assert.InRange(c.Payload!.Length, 2, 2 * 22050));
        Assert.Equal("audio-stop", events[^1].Type);
        var expected = SineVoice.Sentences(text).Sum(s => SineVoice.Length(s, 22050, new SynthesisOptions()));
        Assert.Equal(2 * expected, chunks.Sum(c => c.Payload!.Length));
    }

    [Fact]
    public async Task Synthesize_picks_the_speaker_by_name_and_defaults_the_voice()
    {
        using var peer = await WyomingPeer.Connect(_port);
        await peer.Send("synthesize", """{"text":"Hi there.","voice":{"name":"xx_XX-multi-low","speaker":"bob"}}""");
        var events = await Until(peer, "audio-stop");
        Assert.Equal(16000, events[0].Data.GetProperty("rate").GetInt32());
        Assert.Equal(1, _loader.Options.Last().SpeakerId);
        await peer.Send("synthesize", """{"text":"Default voice."}""");
        events = await Until(peer, "audio-stop");
        Assert.Equal(22050, events[0].Data.GetProperty("rate").GetInt32());
        Assert.True(_loader.Voices.ContainsKey("espeak:en-us"));
    }

    [Fact]
    public async Task Streaming_speaks_each_sentence_as_it_completes_then_stops()
    {
        using var peer = await WyomingPeer.Connect(_port);
        await peer.Send("synthesize-start", """{"voice":{"name":"en_US-lessac-medium"}}""");
        await peer.Send("synthesize-chunk", """{"text":"The first sen"}""");
        await peer.Send("synthesize-chunk", """{"text":"tence ends here. The sec"}""");
        // The first sentence is spoken before the stream ends.
        var first = await Until(peer, "audio-chunk");
        Assert.Equal(["audio-start", "audio-chunk"], first.Select(e => e.Type));
        var firstBytes = first[1].Payload!.Length;
        while (firstBytes < 2 * SineVoice.Length("The first sentence ends here", 22050, new SynthesisOptions()))
            firstBytes += (await peer.Receive())!.Value.Payload!.Length;
        await peer.Send("synthesize-chunk", """{"text":"ond one is the rest."}""");
        await peer.Send("synthesize", """{"text":"The first sentence ends here. The second one is the rest."}"""); // compatibility copy: ignored
        await peer.Send("synthesize-stop");
        var rest = await Until(peer, "synthesize-stopped");
        Assert.Equal("audio-stop", rest[^2].Type);
        Assert.Equal("synthesize-stopped", rest[^1].Type);
        Assert.DoesNotContain(rest, e => e.Type == "audio-start");
        Assert.Equal(2 * SineVoice.Length("The second one is the rest", 22050, new SynthesisOptions()), rest.Where(e => e.Type == "audio-chunk").Sum(e => e.Payload!.Length));
        // The connection goes on.
        await peer.Send("synthesize", """{"text":"Again."}""");
        Assert.Equal("audio-stop", (await Until(peer, "audio-stop"))[^1].Type);
    }

    [Fact]
    public async Task Bad_requests_answer_an_error_event_and_the_connection_stays()
    {
        using var peer = await WyomingPeer.Connect(_port);
        await peer.Send("synthesize", """{"text":"hi","voice":{"name":"nobody"}}""");
        var e = (await peer.Receive())!.Value;
        Assert.Equal("error", e.Type);
        Assert.Equal("invalid_voice", e.Data.GetProperty("code").GetString());
        await peer.Send("synthesize", """{"text":"  "}""");
        Assert.Equal("invalid_input", (await peer.Receive())!.Value.Data.GetProperty("code").GetString());
        await peer.Send("synthesize", """{"voice":{"name":"en_US-amy-low"},"text":"hi"}""");
        Assert.Equal("voice_not_installed", (await peer.Receive())!.Value.Data.GetProperty("code").GetString());
        await peer.Send("synthesize", $$"""{"text":"{{new string('a', 5000)}}"}""");
        Assert.Equal("input_too_long", (await peer.Receive())!.Value.Data.GetProperty("code").GetString());
        await peer.Send("synthesize", """{"text":"ctrl \u0001 char"}""");
        Assert.Equal("invalid_input", (await peer.Receive())!.Value.Data.GetProperty("code").GetString());
        await peer.Send("synthesize", """{"text":"Fine."}""");
        Assert.Equal("audio-stop", (await Until(peer, "audio-stop"))[^1].Type);
    }
}
