using System.Text;
using System.Text.Json;
using Xunit;

namespace Hailo.Wyoming.Tests;

/// <summary>
/// The framing, from a raw TCP client and on a stream: data inline, in the block or both (the block wins), payloads
/// both ways, blank lines between events, describe answered with the handler's info, ping, unknown events ignored,
/// a broken header answered with an error event and the end of the connection.
/// </summary>
public sealed class ProtocolTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Describe_answers_the_handlers_info_with_every_other_service_empty()
    {
        using var p = await Peer.Connect(_server.Port);
        await p.Send("describe");
        var e = await p.Receive();
        Assert.Equal("info", e?.Type);
        var data = e!.Value.Data;
        var tts = data.GetProperty("tts")[0];
        Assert.Equal("fake", tts.GetProperty("name").GetString());
        Assert.Equal("https://example.org/", tts.GetProperty("attribution").GetProperty("url").GetString());
        foreach (var empty in new[] { "asr", "handle", "intent", "wake", "mic", "snd" })
            Assert.Equal(0, data.GetProperty(empty).GetArrayLength());
    }

    [Fact]
    public async Task Ping_answers_pong_with_its_text()
    {
        using var p = await Peer.Connect(_server.Port);
        await p.Send("ping", """{"text":"hello"}""");
        var e = await p.Receive();
        Assert.Equal("pong", e?.Type);
        Assert.Equal("hello", e!.Value.Data.GetProperty("text").GetString());
        await p.Send("ping");
        e = await p.Receive();
        Assert.Equal("pong", e?.Type);
        Assert.Equal(JsonValueKind.Undefined, e!.Value.Data.ValueKind);
    }

    [Fact]
    public async Task Data_is_read_inline_from_the_block_or_both_with_the_block_winning()
    {
        using var p = await Peer.Connect(_server.Port);
        await p.Send("audio-start", """{"rate":22050,"width":2,"channels":2}""", inline: true);
        await p.Send("audio-chunk", """{"rate":22050,"width":2,"channels":2}""", new byte[400]);
        // Both: the header says 8 kHz mono, the block overrides rate and channels.
        await p.Raw("{\"type\":\"audio-chunk\",\"data\":{\"rate\":8000,\"width\":2,\"channels\":1},\"data_length\":29,\"payload_length\":8}\n");
        await p.Raw("{\"rate\":22050,\"channels\":2}  ");
        await p.Stream.WriteAsync(new byte[8]);
        await p.Raw("\n\n"); // blank lines between events are tolerated
        await p.Send("audio-stop");
        var e = await p.Receive();
        Assert.Equal("heard", e?.Type);
        Assert.Equal(408, e!.Value.Data.GetProperty("bytes").GetInt32());
        Assert.Equal(2, e.Value.Data.GetProperty("chunks").GetInt32());
        Assert.Equal(["22050/2/2"], e.Value.Data.GetProperty("formats").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(408 / 4.0 / 22050, e.Value.Data.GetProperty("seconds").GetDouble(), 9);
    }

    [Fact]
    public async Task A_handler_sends_events_with_payloads_and_answers_errors_that_keep_the_connection()
    {
        using var p = await Peer.Connect(_server.Port);
        await p.Send("say", """{"text":"abc"}""");
        Assert.Equal("audio-start", (await p.Receive())?.Type);
        var received = new List<byte>();
        for (var i = 0; i < 3; i++)
        {
            var chunk = await p.Receive();
            Assert.Equal("audio-chunk", chunk?.Type);
            Assert.Equal(22050, chunk!.Value.Data.GetProperty("rate").GetInt32());
            received.AddRange(chunk.Value.Payload!);
        }
        Assert.Equal("a\0b\0c\0"u8.ToArray(), received);
        var stop = await p.Receive();
        Assert.Equal("audio-stop", stop?.Type);
        Assert.Null(stop!.Value.Payload);

        await p.Send("fail", """{"code":"model_failed"}""");
        var error = await p.Receive();
        Assert.Equal("error", error?.Type);
        Assert.Equal("model_failed", error!.Value.Data.GetProperty("code").GetString());
        // An unknown event is ignored; the connection still serves.
        await p.Send("something-new", """{"x":1}""", [1, 2, 3]);
        await p.Send("describe");
        Assert.Equal("info", (await p.Receive())?.Type);
    }

    [Theory]
    [InlineData("this is not json\n", "not JSON")]
    [InlineData("[1,2]\n", "no \"type\"")]
    [InlineData("{\"type\":7}\n", "no \"type\"")]
    [InlineData("{\"type\":\"describe\",\"data_length\":-1}\n", "non-negative")]
    [InlineData("{\"type\":\"describe\",\"payload_length\":\"8\"}\n", "non-negative")]
    [InlineData("{\"type\":\"describe\",\"data_length\":3}\n[1]", "not a JSON object")]
    [InlineData("{\"type\":\"describe\",\"data_length\":3}\n{{{", "not JSON")]
    public async Task A_broken_event_gets_an_error_event_and_the_connection_closes(string raw, string message)
    {
        using var p = await Peer.Connect(_server.Port);
        await p.Raw(raw);
        Assert.Contains(message, await p.ExpectErrorAndClose("protocol_error"));
    }

    [Fact]
    public async Task The_session_is_disposed_when_the_connection_ends()
    {
        using (var p = await Peer.Connect(_server.Port))
        {
            await p.Send("describe");
            Assert.Equal("info", (await p.Receive())?.Type);
            Assert.Equal(1, _server.Handler.OpenSessions);
        }
        for (var i = 0; i < 100 && _server.Handler.OpenSessions > 0; i++) await Task.Delay(20);
        Assert.Equal(0, _server.Handler.OpenSessions);
    }

    [Fact]
    public async Task What_the_writer_writes_the_reader_reads_back()
    {
        var stream = new MemoryStream();
        await WyomingProtocol.WriteAsync(stream, "audio-chunk", w => { w.WriteNumber("rate", 16000); w.WriteString("note", "é\n"); }, [1, 2, 3], default);
        await WyomingProtocol.WriteAsync(stream, "audio-stop", null, null, default);
        var text = Encoding.UTF8.GetString(stream.ToArray());
        Assert.StartsWith("{\"type\":\"audio-chunk\",\"version\":\"" + WyomingProtocol.Version + "\",\"data_length\":", text);
        stream.Position = 0;
        var first = await WyomingProtocol.ReadAsync(stream, new WyomingLimits(), default);
        Assert.Equal("audio-chunk", first!.Type);
        Assert.Equal(16000, first.Int("rate"));
        Assert.Equal("é\n", first.String("note"));
        Assert.Null(first.Int("note"));
        Assert.Equal([1, 2, 3], first.Payload);
        var second = await WyomingProtocol.ReadAsync(stream, new WyomingLimits(), default);
        Assert.Equal("audio-stop", second!.Type);
        Assert.Null(second.Payload);
        Assert.Null(await WyomingProtocol.ReadAsync(stream, new WyomingLimits(), default));
    }
}
