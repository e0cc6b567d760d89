using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.Hosting.Config;
using Hailo.TestSupport;
using HailoWhisper;
using HailoWhisper.Wyoming;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>
/// The Wyoming server's bounds, from a raw TCP client: declared sizes, audio formats, bytes per utterance, idle and
/// slow peers, the connection cap and the client allow-list. Each refusal is an error event, then the server closes.
/// </summary>
[Collection("fake-shim")]
public sealed class WyomingLimitsTests : IAsyncLifetime
{
    private readonly List<(RunningService Service, string Models)> _services = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (service, models) in _services)
        {
            await service.DisposeAsync();
            Directory.Delete(models, true);
        }
    }

    private async Task<int> Start(Action<WyomingSection> edit)
    {
        _ = FakeShim.Runtime;
        var models = Path.Combine(FakeShim.StateDir, "wyoming-limits-" + Guid.NewGuid().ToString("N"));
        NpuTests.WriteFakeModel(models);
        var config = new WhisperConfig { Device = Backend.Npu };
        config.Models.Dir = models;
        config.Models.SearchPaths = [];
        config.Wyoming.Enabled = true;
        config.Wyoming.Port = 0;
        edit(config.Wyoming);
        var service = await RunningService.StartAsync(WhisperService.Definition, config);
        _services.Add((service, models));
        await service.StartupCompleted;
        return await service.App.Services.GetServices<IHostedService>().OfType<WyomingServer>().Single().Port;
    }

    private sealed class Peer(TcpClient tcp) : IDisposable
    {
        public NetworkStream Stream { get; } = tcp.GetStream();

        public static async Task<Peer> Connect(int port)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", port);
            return new Peer(tcp);
        }

        public Task Raw(string text) => Stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

        public async Task Send(string type, string? data = null, byte[]? payload = null)
        {
            var dataBytes = data is null ? [] : Encoding.UTF8.GetBytes(data);
            var header = $"{{\"type\":\"{type}\"" + (dataBytes.Length > 0 ? $",\"data_length\":{dataBytes.Length}" : "")
                + (payload is not null ? $",\"payload_length\":{payload.Length}" : "") + "}\n";
            await Raw(header);
            await Stream.WriteAsync(dataBytes);
            if (payload is not null) await Stream.WriteAsync(payload);
        }

        /// <summary>The next event (type and data), or null when the server closed the connection.</summary>
        public async Task<(string Type, JsonElement Data)?> Receive(TimeSpan? within = null)
        {
            using var cts = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(15));
            var line = new List<byte>();
            var b = new byte[1];
            while (true)
            {
                if (await Stream.ReadAsync(b, cts.Token) == 0) return null;
                if (b[0] == '\n') break;
                line.Add(b[0]);
            }
            var header = JsonDocument.Parse(line.ToArray()).RootElement;
            var data = default(JsonElement);
            if (header.TryGetProperty("data_length", out var dl))
            {
                var buf = new byte[dl.GetInt32()];
                await Stream.ReadExactlyAsync(buf, cts.Token);
                data = JsonDocument.Parse(buf).RootElement.Clone();
            }
            return (header.GetProperty("type").GetString()!, data);
        }

        /// <summary>Asserts an error event with <paramref name="code"/>, then the end of the connection.</summary>
        public async Task<string> ExpectErrorAndClose(string code, TimeSpan? within = null)
        {
            var e = await Receive(within);
            Assert.NotNull(e);
            Assert.Equal("error", e.Value.Type);
            Assert.Equal(code, e.Value.Data.GetProperty("code").GetString());
            Assert.Null(await Receive());
            return e.Value.Data.GetProperty("text").GetString()!;
        }

        public void Dispose() => tcp.Dispose();
    }

    private static byte[] Pcm(int bytes)
    {
        var pcm = new byte[bytes];
        for (var i = 0; i + 1 < bytes; i += 2) BitConverter.TryWriteBytes(pcm.AsSpan(i), (short)(9000 * Math.Sin(i / 20.0)));
        return pcm;
    }

    [Fact]
    public async Task A_declared_payload_beyond_the_limit_is_refused_before_it_is_read()
    {
        var port = await Start(_ => { });
        using var p = await Peer.Connect(port);
        // 8 MiB declared, nothing sent: the server answers at once instead of waiting to allocate and read it.
        await p.Raw("{\"type\":\"audio-chunk\",\"data\":{\"rate\":16000,\"width\":2,\"channels\":1},\"payload_length\":8388608}\n");
        Assert.Contains("payload_length", await p.ExpectErrorAndClose("too_large"));

        using var q = await Peer.Connect(port);
        await q.Raw("{\"type\":\"describe\",\"data_length\":1048576}\n");
        Assert.Contains("data_length", await q.ExpectErrorAndClose("too_large"));

        using var r = await Peer.Connect(port);
        await r.Raw("{\"type\":\"describe\",\"pad\":\"" + new string('x', 9000) + "\"}\n");
        Assert.Contains("header", await r.ExpectErrorAndClose("too_large"));
    }

    [Theory]
    [InlineData(768000, 4, 64)]
    [InlineData(16000, 2, 64)]
    [InlineData(1000, 2, 1)]
    [InlineData(16000, 8, 1)]
    public async Task An_absurd_audio_format_is_refused(int rate, int width, int channels)
    {
        var port = await Start(_ => { });
        using var p = await Peer.Connect(port);
        await p.Send("audio-start", $"{{\"rate\":{rate},\"width\":{width},\"channels\":{channels}}}");
        Assert.Contains("unsupported audio format", await p.ExpectErrorAndClose("invalid_audio"));

        // The same format on a chunk without audio-start is refused too.
        using var q = await Peer.Connect(port);
        await q.Send("audio-chunk", $"{{\"rate\":{rate},\"width\":{width},\"channels\":{channels}}}", new byte[width * channels * 16]);
        await q.ExpectErrorAndClose("invalid_audio");
    }

    [Fact]
    public async Task An_utterance_beyond_the_byte_cap_is_refused_and_one_within_it_is_transcribed()
    {
        var port = await Start(w => w.MaxSessionMb = 0.05); // 52428 bytes
        using var p = await Peer.Connect(port);
        // Two utterances of 40000 bytes on one connection: the cap is per utterance.
        for (var i = 0; i < 2; i++)
        {
            await p.Send("audio-start", """{"rate":16000,"width":2,"channels":1}""");
            await p.Send("audio-chunk", """{"rate":16000,"width":2,"channels":1}""", Pcm(20000));
            await p.Send("audio-chunk", """{"rate":16000,"width":2,"channels":1}""", Pcm(20000));
            await p.Send("audio-stop");
            var t = await p.Receive();
            Assert.Equal("transcript", t?.Type);
        }
        await p.Send("audio-start", """{"rate":16000,"width":2,"channels":1}""");
        for (var i = 0; i < 3; i++) await p.Send("audio-chunk", """{"rate":16000,"width":2,"channels":1}""", Pcm(20000));
        Assert.Contains("max_session_mb", await p.ExpectErrorAndClose("audio_too_large"));
    }

    [Fact]
    public async Task An_idle_or_dribbling_peer_is_disconnected_after_the_timeout()
    {
        var port = await Start(w =>
        {
            w.IdleTimeoutSeconds = 1;
            w.ReadTimeoutSeconds = 1;
        });
        // Connects and says nothing.
        using var idle = await Peer.Connect(port);
        var clock = Stopwatch.StartNew();
        await idle.ExpectErrorAndClose("timeout", TimeSpan.FromSeconds(10));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.8, 5);

        // Slowloris: a header one byte every 300 ms, each within the idle time, the event never complete.
        using var slow = await Peer.Connect(port);
        clock.Restart();
        var dribble = Task.Run(async () =>
        {
            try
            {
                foreach (var ch in "{\"type\":\"describe\"")
                {
                    await slow.Raw(ch.ToString());
                    await Task.Delay(300);
                }
            }
            catch (IOException) { } // the server hung up
        });
        await slow.ExpectErrorAndClose("timeout", TimeSpan.FromSeconds(10));
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.8, 5);
        await dribble;
    }

    [Fact]
    public async Task Connections_beyond_the_cap_are_refused_until_one_closes()
    {
        var port = await Start(w => w.MaxConnections = 2);
        using var a = await Peer.Connect(port);
        using var b = await Peer.Connect(port);
        foreach (var p in new[] { a, b })
        {
            await p.Send("describe");
            Assert.Equal("info", (await p.Receive())?.Type);
        }
        using (var c = await Peer.Connect(port))
            Assert.Contains("max_connections", await c.ExpectErrorAndClose("busy"));

        a.Dispose();
        var served = false;
        for (var i = 0; i < 50 && !served; i++)
        {
            using var d = await Peer.Connect(port);
            await d.Send("describe");
            served = (await d.Receive())?.Type == "info";
            if (!served) await Task.Delay(100);
        }
        Assert.True(served);
    }

    [Fact]
    public async Task A_client_not_on_the_allow_list_is_refused()
    {
        var refusing = await Start(w => w.AllowedClients = ["192.0.2.0/24", "2001:db8::1"]);
        using (var p = await Peer.Connect(refusing))
            Assert.Contains("allowed_clients", await p.ExpectErrorAndClose("forbidden"));

        var allowing = await Start(w => w.AllowedClients = ["192.0.2.7", "127.0.0.0/8"]);
        using var q = await Peer.Connect(allowing);
        await q.Send("describe");
        Assert.Equal("info", (await q.Receive())?.Type);
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
}
