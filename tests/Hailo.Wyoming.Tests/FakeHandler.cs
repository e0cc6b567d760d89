using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hailo.Wyoming.Tests;

/// <summary>
/// A handler of both directions, so the server is tested without a model: audio-start, audio-chunk…, audio-stop →
/// "heard" {bytes, seconds, format, chunks} (through <see cref="AudioInput"/>); say {text} → audio-start, one
/// audio-chunk per character, audio-stop; fail {code} → an error event that leaves the connection open.
/// </summary>
internal sealed class FakeHandler : IWyomingHandler
{
    public string Kind => "test";

    public int OpenSessions;

    public void WriteInfo(Utf8JsonWriter w)
    {
        w.WriteStartArray("tts");
        w.WriteStartObject();
        w.WriteString("name", "fake");
        WyomingInfo.WriteAttribution(w, "Tests", "https://example.org/");
        w.WriteBoolean("installed", true);
        w.WriteEndObject();
        w.WriteEndArray();
        WyomingInfo.WriteEmptyServices(w, "tts");
    }

    public IWyomingSession OpenSession(WyomingConnection connection)
    {
        Interlocked.Increment(ref OpenSessions);
        return new Session(this, connection);
    }

    private sealed class Session(FakeHandler handler, WyomingConnection connection) : IWyomingSession
    {
        private readonly AudioInput _audio = new(connection.Limits);
        private readonly List<string> _formats = [];
        private int _chunks;

        public async Task<bool> HandleAsync(WyomingEvent e, CancellationToken ct)
        {
            switch (e.Type)
            {
                case "audio-start":
                    _audio.Start(e);
                    _formats.Clear();
                    _chunks = 0;
                    return true;
                case "audio-chunk":
                    var (format, pcm) = _audio.Chunk(e);
                    if (pcm is not null) _chunks++;
                    _formats.Add($"{format.Rate}/{format.Width}/{format.Channels}");
                    return true;
                case "audio-stop":
                    var (bytes, seconds, chunks, formats) = (_audio.Bytes, _audio.Seconds, _chunks, _formats.Distinct().ToArray());
                    _audio.Stop();
                    await connection.WriteAsync("heard", w =>
                    {
                        w.WriteNumber("bytes", bytes);
                        w.WriteNumber("seconds", seconds);
                        w.WriteNumber("chunks", chunks);
                        w.WriteStartArray("formats");
                        foreach (var f in formats) w.WriteStringValue(f);
                        w.WriteEndArray();
                    }, null, ct);
                    return true;
                case "say":
                    var text = e.String("text") ?? "";
                    void Format(Utf8JsonWriter w)
                    {
                        w.WriteNumber("rate", 22050);
                        w.WriteNumber("width", 2);
                        w.WriteNumber("channels", 1);
                    }
                    await connection.WriteAsync("audio-start", Format, null, ct);
                    foreach (var c in text) await connection.WriteAsync("audio-chunk", Format, [(byte)c, 0], ct);
                    await connection.WriteAsync("audio-stop", null, null, ct);
                    return true;
                case "fail":
                    await connection.WriteErrorAsync("failed as asked", e.String("code") ?? "failed", ct);
                    return true;
                default:
                    return false;
            }
        }

        public void Dispose() => Interlocked.Decrement(ref handler.OpenSessions);
    }
}

/// <summary>A server on a free loopback port with <see cref="FakeHandler"/>; stopped on dispose.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    public required WyomingServer Server { get; init; }
    public required FakeHandler Handler { get; init; }
    public required int Port { get; init; }

    public static async Task<TestServer> StartAsync(WyomingLimits? limits = null)
    {
        var handler = new FakeHandler();
        var server = new WyomingServer("127.0.0.1", 0, limits ?? new WyomingLimits(), handler, NullLogger<WyomingServer>.Instance);
        await server.StartAsync(CancellationToken.None);
        return new TestServer { Server = server, Handler = handler, Port = await server.Port };
    }

    public async ValueTask DisposeAsync()
    {
        await Server.StopAsync(CancellationToken.None);
        Server.Dispose();
    }
}
