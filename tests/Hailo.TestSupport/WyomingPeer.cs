using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Hailo.TestSupport;

/// <summary>
/// A Wyoming client written from the protocol description (a JSON header line, then data_length bytes of JSON,
/// then payload_length bytes of payload), raw enough to send what a well-behaved client never would.
/// </summary>
public sealed class WyomingPeer(TcpClient tcp) : IDisposable
{
    public NetworkStream Stream { get; } = tcp.GetStream();

    public static async Task<WyomingPeer> Connect(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        return new WyomingPeer(tcp);
    }

    public Task Raw(string text) => Stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

    /// <summary>Sends an event, its data in the data block or (<paramref name="inline"/>) in the header.</summary>
    public async Task Send(string type, string? data = null, byte[]? payload = null, bool inline = false)
    {
        var dataBytes = data is null || inline ? [] : Encoding.UTF8.GetBytes(data);
        var header = new StringBuilder($"{{\"type\":\"{type}\"");
        if (inline && data is not null) header.Append($",\"data\":{data}");
        if (dataBytes.Length > 0) header.Append($",\"data_length\":{dataBytes.Length}");
        if (payload is not null) header.Append($",\"payload_length\":{payload.Length}");
        header.Append("}\n");
        await Raw(header.ToString());
        await Stream.WriteAsync(dataBytes);
        if (payload is not null) await Stream.WriteAsync(payload);
    }

    /// <summary>The next event (type, data, payload), or null when the server closed the connection.</summary>
    public async Task<(string Type, JsonElement Data, byte[]? Payload)?> Receive(TimeSpan? within = null)
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
        byte[]? payload = null;
        if (header.TryGetProperty("payload_length", out var pl))
        {
            payload = new byte[pl.GetInt32()];
            await Stream.ReadExactlyAsync(payload, cts.Token);
        }
        return (header.GetProperty("type").GetString()!, data, payload);
    }

    /// <summary>Asserts an error event with <paramref name="code"/>, then the end of the connection; the error's text.</summary>
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
