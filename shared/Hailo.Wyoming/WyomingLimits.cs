using System.Net;

namespace Hailo.Wyoming;

/// <summary>
/// What a Wyoming server accepts from a peer. The protocol has no authentication, so these bounds (and the optional
/// client allow-list) are all that stands between the port and whoever can reach it.
/// </summary>
public sealed record WyomingLimits
{
    /// <summary>Longest event header line (JSON); real headers are ~100 bytes.</summary>
    public int MaxHeaderBytes { get; init; } = 8 * 1024;
    /// <summary>Largest data block (JSON) of one event.</summary>
    public int MaxDataBytes { get; init; } = 64 * 1024;
    /// <summary>Largest payload of one event (an audio-chunk's PCM; clients send a few KiB at a time).</summary>
    public int MaxPayloadBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>Audio bytes one session (audio-start … audio-stop) may send in all, buffered until audio-stop.</summary>
    public long MaxSessionBytes { get; init; } = 32L * 1024 * 1024;
    /// <summary>Sample rates accepted (Hz).</summary>
    public int MinRate { get; init; } = 8000;
    public int MaxRate { get; init; } = 48000;
    /// <summary>Bytes per sample accepted (1 = unsigned 8-bit … 4 = signed 32-bit).</summary>
    public int MaxWidth { get; init; } = 4;
    /// <summary>Channels accepted (microphone arrays have up to 8).</summary>
    public int MaxChannels { get; init; } = 8;
    /// <summary>Time a connection may sit between events before it is closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Time one event may take to arrive once its first byte has (header, data and payload).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Connections served at once; more are answered with an error event and closed.</summary>
    public int MaxConnections { get; init; } = 8;
    /// <summary>Peers allowed to connect; empty = everyone who can reach the port.</summary>
    public IReadOnlyList<IPNetwork> AllowedClients { get; init; } = [];

    /// <summary>Whether <paramref name="address"/> may connect.</summary>
    public bool Allows(IPAddress address)
    {
        if (AllowedClients.Count == 0) return true;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var n in AllowedClients)
            if (n.Contains(address)) return true;
        return false;
    }

    /// <summary>Why an audio format is refused, or null when it is accepted.</summary>
    public string? CheckFormat(int rate, int width, int channels) =>
        rate < MinRate || rate > MaxRate ? $"sample rate {rate} Hz is outside {MinRate}-{MaxRate} Hz"
        : width < 1 || width > MaxWidth ? $"sample width {width} bytes is outside 1-{MaxWidth}"
        : channels < 1 || channels > MaxChannels ? $"{channels} channels is outside 1-{MaxChannels}"
        : null;

    /// <summary>
    /// Parses an allow-list entry: an address (192.168.1.20, fd00::5) or a network in CIDR notation (192.168.1.0/24).
    /// A network with bits set after its prefix (192.168.1.5/24) is refused as ambiguous.
    /// </summary>
    public static bool TryParseClient(string text, out IPNetwork network)
    {
        network = default;
        var slash = text.IndexOf('/');
        if (!IPAddress.TryParse(slash < 0 ? text.Trim() : text[..slash].Trim(), out var address)) return false;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var bits = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        var prefix = bits;
        if (slash >= 0 && (!int.TryParse(text[(slash + 1)..].Trim(), System.Globalization.NumberStyles.None,
                System.Globalization.CultureInfo.InvariantCulture, out prefix) || prefix > bits))
            return false;
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - i * 8, 0, 8);
            if ((bytes[i] & (byte)~(0xFF << (8 - keep))) != 0) return false;
        }
        network = new IPNetwork(address, prefix);
        return true;
    }
}
