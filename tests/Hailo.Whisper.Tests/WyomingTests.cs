using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using Hailo.Hosting.Config;
using Hailo.Wyoming;
using HailoWhisper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>
/// The shared Wyoming client (<see cref="WyomingPeer"/>) against the service on the NPU fake, so the transcript is
/// known. The server's framing and limits are tested in Hailo.Wyoming.Tests; these are the speech-to-text handler
/// and its config.
/// </summary>
[Collection("fake-shim")]
public sealed class WyomingTests : IAsyncLifetime
{
    private string _models = "";
    private RunningService? _service;
    private int _port;

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        _models = Path.Combine(FakeShim.StateDir, "wyoming-models-" + Guid.NewGuid().ToString("N"));
        NpuTests.WriteFakeModel(_models);
        var config = new WhisperConfig { Device = Backend.Npu };
        config.Models.Dir = _models;
        config.Models.SearchPaths = [];
        config.Wyoming.Enabled = true;
        config.Wyoming.Port = 0;
        _service = await RunningService.StartAsync(WhisperService.Definition, config);
        await _service.StartupCompleted;
        _port = await _service.App.Services.GetServices<IHostedService>().OfType<WyomingServer>().Single().Port;
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
        Directory.Delete(_models, true);
    }

    private Task<WyomingPeer> Connect() => WyomingPeer.Connect(_port);

    /// <summary>The next event, which must come (the server does not close) and carry no payload.</summary>
    private static async Task<(string Type, JsonElement Data)> Next(WyomingPeer peer)
    {
        var e = await peer.Receive(TimeSpan.FromSeconds(60));
        Assert.NotNull(e);
        Assert.Null(e.Value.Payload);
        return (e.Value.Type, e.Value.Data);
    }

    private static byte[] Pcm(double seconds, int rate, int channels)
    {
        var n = (int)(seconds * rate);
        var pcm = new byte[n * 2 * channels];
        for (var i = 0; i < n; i++)
            for (var c = 0; c < channels; c++)
                BitConverter.TryWriteBytes(pcm.AsSpan((i * channels + c) * 2), (short)(9000 * Math.Sin(2 * Math.PI * 440 * i / rate)));
        return pcm;
    }

    [Fact]
    public async Task Describe_answers_info_with_the_asr_model_and_its_languages()
    {
        using var c = await Connect();
        await c.Send("describe");
        var (type, data) = await Next(c);
        Assert.Equal("info", type);
        var asr = data.GetProperty("asr")[0];
        Assert.Equal("hailo-whisper", asr.GetProperty("name").GetString());
        Assert.True(asr.GetProperty("installed").GetBoolean());
        var model = asr.GetProperty("models")[0];
        Assert.Equal(WhisperModels.NpuDefault, model.GetProperty("name").GetString());
        Assert.Contains("en", model.GetProperty("languages").EnumerateArray().Select(l => l.GetString()));
    }

    [Fact]
    public async Task Transcribe_then_audio_in_chunks_gives_the_transcript_whatever_the_audio_format()
    {
        using var c = await Connect();
        await c.Send("transcribe", """{"language":"en"}""");
        await c.Send("audio-start", """{"rate":22050,"width":2,"channels":2}""");
        var pcm = Pcm(7, 22050, 2);
        for (var off = 0; off < pcm.Length; off += 4096)
            await c.Send("audio-chunk", """{"rate":22050,"width":2,"channels":2}""", pcm[off..Math.Min(pcm.Length, off + 4096)]);
        await c.Send("audio-stop", "{}", inline: true);
        var (type, data) = await Next(c);
        Assert.Equal("transcript", type);
        Assert.Equal("alpha bravo", data.GetProperty("text").GetString());

        // The same connection serves the next utterance; audio-stop without audio is an empty transcript.
        await c.Send("audio-start", """{"rate":16000,"width":2,"channels":1}""", inline: true);
        await c.Send("audio-stop");
        (type, data) = await Next(c);
        Assert.Equal("transcript", type);
        Assert.Equal("", data.GetProperty("text").GetString());

        await c.Send("transcribe", """{"language":"de"}""");
        await c.Send("audio-start", """{"rate":16000,"width":2,"channels":1}""");
        await c.Send("audio-chunk", """{"rate":16000,"width":2,"channels":1}""", Pcm(2, 16000, 1));
        await c.Send("audio-stop");
        (_, data) = await Next(c);
        Assert.Equal("[de] alpha", data.GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_broken_header_gets_an_error_event()
    {
        using var c = await Connect();
        await c.Raw("this is not json\n");
        var (type, data) = await Next(c);
        Assert.Equal("error", type);
        Assert.Equal("protocol_error", data.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Audio_over_max_audio_seconds_is_an_error_event_and_the_connection_serves_on()
    {
        var models = Path.Combine(FakeShim.StateDir, "wyoming-long-" + Guid.NewGuid().ToString("N"));
        NpuTests.WriteFakeModel(models);
        try
        {
            var config = new WhisperConfig { Device = Backend.Npu };
            config.Models.Dir = models;
            config.Models.SearchPaths = [];
            config.Wyoming.Enabled = true;
            config.Wyoming.Port = 0;
            config.Whisper.MaxAudioSeconds = 1;
            await using var service = await RunningService.StartAsync(WhisperService.Definition, config);
            await service.StartupCompleted;
            var port = await service.App.Services.GetServices<IHostedService>().OfType<WyomingServer>().Single().Port;
            using var c = await WyomingPeer.Connect(port);

            await c.Send("audio-start", """{"rate":16000,"width":2,"channels":1}""");
            await c.Send("audio-chunk", """{"rate":16000,"width":2,"channels":1}""", Pcm(2, 16000, 1));
            await c.Send("audio-stop");
            var (type, data) = await Next(c);
            Assert.Equal("error", type);
            Assert.Equal("audio_too_long", data.GetProperty("code").GetString());
            Assert.Contains("at most 1 s", data.GetProperty("text").GetString());

            await c.Send("audio-start", """{"rate":16000,"width":2,"channels":1}""");
            await c.Send("audio-chunk", """{"rate":16000,"width":2,"channels":1}""", Pcm(0.5, 16000, 1));
            await c.Send("audio-stop");
            (type, _) = await Next(c);
            Assert.Equal("transcript", type);
        }
        finally
        {
            Directory.Delete(models, true);
        }
    }

    [Fact]
    public void Config_refuses_bad_allow_list_entries_and_limits()
    {
        var w = new WyomingSection
        {
            AllowedClients = ["192.168.1.0/24", "10.0.0.5", "fd00::/8", "not-an-address", "192.168.1.5/24", "10.0.0.0/33"],
            MaxSessionMb = 0,
            IdleTimeoutSeconds = 0,
            ReadTimeoutSeconds = 100_000,
        };
        var config = new WhisperConfig { Wyoming = w };
        var errors = new ConfigErrors();
        config.Validate(errors);
        var messages = string.Join("\n", errors.Messages);
        Assert.Contains("'not-an-address'", messages);
        Assert.Contains("'192.168.1.5/24'", messages);
        Assert.Contains("'10.0.0.0/33'", messages);
        Assert.DoesNotContain("'192.168.1.0/24'", messages);
        Assert.DoesNotContain("'10.0.0.5'", messages);
        Assert.DoesNotContain("'fd00::/8'", messages);
        Assert.Contains("wyoming.max_session_mb", messages);
        Assert.Contains("wyoming.idle_timeout_seconds", messages);
        Assert.Contains("wyoming.read_timeout_seconds", messages);
    }

    [Fact]
    public void Config_keys_become_the_servers_limits()
    {
        var limits = new WyomingSection
        {
            MaxConnections = 3,
            MaxSessionMb = 0.5,
            IdleTimeoutSeconds = 7,
            ReadTimeoutSeconds = 2,
            AllowedClients = ["192.168.1.0/24"],
        }.Limits();
        Assert.Equal(3, limits.MaxConnections);
        Assert.Equal(512 * 1024, limits.MaxSessionBytes);
        Assert.Equal(TimeSpan.FromSeconds(7), limits.IdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), limits.ReadTimeout);
        Assert.True(limits.Allows(System.Net.IPAddress.Parse("192.168.1.9")));
        Assert.False(limits.Allows(System.Net.IPAddress.Parse("192.168.2.9")));
    }
}
