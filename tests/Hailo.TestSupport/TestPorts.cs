using System.Net;
using System.Net.Sockets;

namespace Hailo.TestSupport;

/// <summary>
/// Ports for services a test starts. They come from below the kernel's ephemeral range, so no outgoing connection
/// (a test client's, a service's own) and no other bind to port 0 can take one between its pick and the service's
/// bind; a port is handed out once per test process and checked free before it is.
/// </summary>
public static class TestPorts
{
    private static readonly HashSet<int> Given = [];
    private static readonly Random Pick = new(Environment.ProcessId ^ Environment.TickCount);

    public static int Next()
    {
        var (low, _) = EphemeralRange();
        var first = Math.Max(1024, low - 12000);
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            int port;
            lock (Given)
            {
                port = Pick.Next(first, low);
                if (!Given.Add(port)) continue;
            }
            if (IsFree(port)) return port;
        }
        // Everything below the range looked busy: let the kernel choose as before.
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException) { return false; }
    }

    private static (int Low, int High) EphemeralRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return (32768, 60999);
        }
    }
}
