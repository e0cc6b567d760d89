using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hailo.Wyoming;

/// <summary>
/// A Wyoming server (Home Assistant's voice services) on TCP: it reads and writes the framing, answers describe with
/// the handler's info and ping with pong, and passes every other event to the connection's
/// <see cref="IWyomingSession"/>. A peer that breaks the framing or the <see cref="WyomingLimits"/>, idles, or is not
/// on the allow-list is answered an error event and disconnected; connections beyond the cap likewise.
/// </summary>
public sealed class WyomingServer(string host, int port, WyomingLimits limits, IWyomingHandler handler, ILogger<WyomingServer> log)
    : BackgroundService
{
    private TcpListener? _listener;
    private int _connections;
    private readonly TaskCompletionSource<int> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The port actually listened on (useful with port 0 in tests).</summary>
    public Task<int> Port => _bound.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            _listener = new TcpListener(IPAddress.Parse(host), port);
            _listener.Start();
        }
        catch (SocketException e)
        {
            log.LogError("Wyoming: cannot listen on {Host}:{Port}: {Message}", host, port, e.Message);
            _bound.TrySetException(e);
            return;
        }
        var bound = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _bound.TrySetResult(bound);
        log.LogInformation("Wyoming {Kind} on {Host}:{Port}", handler.Kind, host, bound);
        var running = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(stoppingToken);
                running.RemoveAll(t => t.IsCompleted);
                running.Add(Task.Run(() => AcceptAsync(client, stoppingToken), CancellationToken.None));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _listener.Stop();
            await Task.WhenAll(running);
        }
    }

    /// <summary>Applies the allow-list and the connection cap, then serves the connection.</summary>
    private async Task AcceptAsync(TcpClient client, CancellationToken ct)
    {
        using var _ = client;
        var peer = (client.Client.RemoteEndPoint as IPEndPoint)?.Address;
        if (peer is null || !limits.Allows(peer))
        {
            log.LogWarning("Wyoming: refused a connection from {Peer}: not in wyoming.allowed_clients", peer);
            await Refuse(client, "this address may not use the service (wyoming.allowed_clients)", "forbidden", ct);
            return;
        }
        if (Interlocked.Increment(ref _connections) > limits.MaxConnections)
        {
            Interlocked.Decrement(ref _connections);
            log.LogWarning("Wyoming: refused a connection from {Peer}: {Max} connections are already open", peer, limits.MaxConnections);
            await Refuse(client, $"the server is busy: {limits.MaxConnections} connections are open (wyoming.max_connections); retry shortly", "busy", ct);
            return;
        }
        try
        {
            await ServeAsync(client, ct);
        }
        finally
        {
            Interlocked.Decrement(ref _connections);
        }
    }

    private async Task Refuse(TcpClient client, string text, string code, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await TryWriteError(client.GetStream(), text, code, timeout.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or InvalidOperationException)
        {
        }
    }

    internal async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using var _ = client;
        client.NoDelay = true;
        var stream = client.GetStream();
        var connection = new WyomingConnection(stream, limits);
        using var session = handler.OpenSession(connection);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var e = await WyomingProtocol.ReadAsync(stream, limits, ct);
                if (e is null) return;
                await HandleAsync(connection, session, e, ct);
            }
        }
        catch (WyomingProtocolException ex)
        {
            log.LogWarning("Wyoming: closing a connection: {Message}", ex.Message);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await TryWriteError(stream, ex.Message, ex.Code, timeout.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException or ObjectDisposedException)
        {
            log.LogDebug("Wyoming: connection ended: {Message}", ex.Message);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    internal static async Task TryWriteError(Stream stream, string text, string code, CancellationToken ct)
    {
        try
        {
            await WyomingProtocol.WriteAsync(stream, "error", w => { w.WriteString("text", text); w.WriteString("code", code); }, null, ct);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private async Task HandleAsync(WyomingConnection connection, IWyomingSession session, WyomingEvent e, CancellationToken ct)
    {
        switch (e.Type)
        {
            case "describe":
                await connection.WriteAsync("info", handler.WriteInfo, null, ct);
                break;
            case "ping":
                await connection.WriteAsync("pong", e.String("text") is { } t ? w => w.WriteString("text", t) : null, null, ct);
                break;
            default:
                if (!await session.HandleAsync(e, ct))
                    log.LogDebug("Wyoming: ignoring event {Type}", e.Type);
                break;
        }
    }
}
