using System.Net.Sockets;
using System.Text;

namespace Hailo.Hosting.Systemd;

/// <summary>
/// Sends sd_notify datagrams (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1) to $NOTIFY_SOCKET, as
/// libsystemd's sd_notify does: whenever the variable is set, whoever the parent is.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly Lock _lock = new();

    public SystemdNotifier() : this(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")) { }

    public SystemdNotifier(string? socketPath)
    {
        if (string.IsNullOrEmpty(socketPath)) return;
        // "@name" is the abstract namespace, which the endpoint spells with a leading NUL.
        var path = socketPath[0] == '@' ? "\0" + socketPath[1..] : socketPath;
        _endpoint = new UnixDomainSocketEndPoint(path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public bool IsEnabled => _socket is not null;

    /// <summary>Sends one datagram; failures are swallowed because notification is best effort.</summary>
    public void Notify(string state)
    {
        if (_socket is null) return;
        var bytes = Encoding.UTF8.GetBytes(state);
        lock (_lock)
        {
            try { _socket.SendTo(bytes, SocketFlags.None, _endpoint!); }
            catch (SocketException) { }
            catch (ObjectDisposedException) { }
        }
    }

    public void Dispose() => _socket?.Dispose();
}
