using System.Diagnostics;
using System.Net;
using Xunit;

namespace Hailo.Wyoming.Tests;

/// <summary>
/// The server's bounds, from a raw TCP client: declared sizes, audio formats, bytes per utterance, idle and slow
/// peers, the connection cap and the client allow-list. Each refusal is an error event, then the server closes.
/// </summary>
public sealed class LimitsTests : IAsyncLifetime
{
    private readonly List<TestServer> _servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var s in _servers) await s.DisposeAsync();
    }

    private async Task<int> Start(WyomingLimits? limits = null)
    {
        var server = await TestServer.StartAsync(limits);
        _servers.Add(server);
        return server.Port;
    }

    private static WyomingLimits Clients(params string[] entries) => new()
    {
        AllowedClients = entries.Select(c => WyomingLimits.TryParseClient(c, out var n) ? n : throw new ArgumentException(c)).ToArray(),
    };

    private static byte[] Pcm(int bytes)
    {
        var pcm = new byte[bytes];
        for (var i = 0; i + 1 < bytes; i += 2) BitConverter.TryWriteBytes(pcm.AsSpan(i), (short)(9000 * Math.Sin(i / 20.0)));
        return pcm;
    }

    [Fact]
    public async Task A_declared_payload_beyond_the_limit_is_refused_before_it_is_read()
    {
        var port = await Start();
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

    [Fact]
    public async Task Sizes_follow_the_limits_given()
    {
        var port = await Start(new WyomingLimits { MaxPayloadBytes = 100, MaxDataBytes = 50, MaxHeaderBytes = 200 });
        using var p = await Peer.Connect(port);
        await p.Send("audio-start");
        await p.Send("audio-chunk", null, new byte[100]);
        await p.Send("audio-stop", new string(' ', 48) + "{}");
        Assert.Equal(100, (await p.Receive())?.Data.GetProperty("bytes").GetInt32());
        await p.Send("audio-chunk", null, new byte[101]);
        Assert.Contains("101", await p.ExpectErrorAndClose("too_large"));

        using var q = await Peer.Connect(port);
        await q.Send("describe", new string(' ', 49) + "{}");
        Assert.Contains("data_length", await q.ExpectErrorAndClose("too_large"));
    }

    [Theory]
    [InlineData(768000, 4, 64)]
    [InlineData(16000, 2, 64)]
    [InlineData(1000, 2, 1)]
    [InlineData(16000, 8, 1)]
    [InlineData(16000, 0, 1)]
    [InlineData(16000, 2, 0)]
    public async Task An_absurd_audio_format_is_refused(int rate, int width, int channels)
    {
        var port = await Start();
        using var p = await Peer.Connect(port);
        await p.Send("audio-start", $"{{\"rate\":{rate},\"width\":{width},\"channels\":{channels}}}");
        Assert.Contains("unsupported audio format", await p.ExpectErrorAndClose("invalid_audio"));

        // The same format on a chunk without audio-start is refused too.
        using var q = await Peer.Connect(port);
        await q.Send("audio-chunk", $"{{\"rate\":{rate},\"width\":{width},\"channels\":{channels}}}", new byte[Math.Max(1, width * channels) * 16]);
        await q.ExpectErrorAndClose("invalid_audio");
    }

    [Fact]
    public async Task An_utterance_beyond_the_byte_cap_is_refused_and_one_within_it_is_served()
    {
        var port = await Start(new WyomingLimits { MaxSessionBytes = 52428 });
        using var p = await Peer.Connect(port);
        // Two utterances of 40000 bytes on one connection: the cap is per utterance.
        for (var i = 0; i < 2; i++)
        {
            await p.Send("audio-start", """{"rate":16000,"width":2,"channels":1}""");
            await p.Send("audio-chunk", """{"rate":16000,"width":2,"channels":1}""", Pcm(20000));
            await p.Send("audio-chunk", """{"rate":16000,"width":2,"channels":1}""", Pcm(20000));
            await p.Send("audio-stop");
            var t = await p.Receive();
            Assert.Equal("heard", t?.Type);
            Assert.Equal(40000, t!.Value.Data.GetProperty("bytes").GetInt32());
            Assert.Equal(1.25, t.Value.Data.GetProperty("seconds").GetDouble(), 9);
        }
        await p.Send("audio-start", """{"rate":16000,"width":2,"channels":1}""");
        for (var i = 0; i < 3; i++) await p.Send("audio-chunk", """{"rate":16000,"width":2,"channels":1}""", Pcm(20000));
        Assert.Contains("max_session_mb", await p.ExpectErrorAndClose("audio_too_large"));
    }

    [Fact]
    public async Task An_idle_or_dribbling_peer_is_disconnected_after_the_timeout()
    {
        var port = await Start(new WyomingLimits { IdleTimeout = TimeSpan.FromSeconds(1), ReadTimeout = TimeSpan.FromSeconds(1) });
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
        var port = await Start(new WyomingLimits { MaxConnections = 2 });
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
        var refusing = await Start(Clients("192.0.2.0/24", "2001:db8::1"));
        using (var p = await Peer.Connect(refusing))
            Assert.Contains("allowed_clients", await p.ExpectErrorAndClose("forbidden"));

        var allowing = await Start(Clients("192.0.2.7", "127.0.0.0/8"));
        using var q = await Peer.Connect(allowing);
        await q.Send("describe");
        Assert.Equal("info", (await q.Receive())?.Type);
    }

    [Theory]
    [InlineData("192.168.1.0/24", true)]
    [InlineData("10.0.0.5", true)]
    [InlineData(" 10.0.0.5 ", true)]
    [InlineData("fd00::/8", true)]
    [InlineData("::ffff:10.0.0.0/104", false)]
    [InlineData("not-an-address", false)]
    [InlineData("192.168.1.5/24", false)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("10.0.0.0/-1", false)]
    [InlineData("10.0.0.0/", false)]
    public void Allow_list_entries_are_addresses_or_networks_without_host_bits(string entry, bool valid) =>
        Assert.Equal(valid, WyomingLimits.TryParseClient(entry, out _));

    [Fact]
    public void The_allow_list_matches_networks_and_ipv4_mapped_peers()
    {
        Assert.True(new WyomingLimits().Allows(IPAddress.Parse("203.0.113.9")));
        var limits = Clients("192.168.1.0/24", "fd00::/8");
        Assert.True(limits.Allows(IPAddress.Parse("192.168.1.77")));
        Assert.True(limits.Allows(IPAddress.Parse("::ffff:192.168.1.77")));
        Assert.True(limits.Allows(IPAddress.Parse("fd12::1")));
        Assert.False(limits.Allows(IPAddress.Parse("192.168.2.1")));
        Assert.False(limits.Allows(IPAddress.Parse("fe80::1")));
    }
}
