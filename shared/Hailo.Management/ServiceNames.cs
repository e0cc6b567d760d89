using System.Text.RegularExpressions;

namespace Hailo.Management;

/// <summary>What a Hailo service is called: hailo-NAME, its unit hailo-NAME.service.</summary>
public static partial class ServiceNames
{
    /// <summary>The unit files of the Hailo services.</summary>
    public const string UnitPattern = "hailo-*.service";

    /// <summary>The group polkit lets start, stop and restart the Hailo units.</summary>
    public const string AdminGroup = "hailo-admin";

    [GeneratedRegex("^hailo-[a-z0-9][a-z0-9-]{0,60}$")]
    private static partial Regex UnitName();

    /// <summary>Whether the name (without .service) can be a Hailo service.</summary>
    public static bool IsServiceName(string name) => UnitName().IsMatch(name);

    /// <summary>pose, hailo-pose, hailo-pose.service → hailo-pose; null when it cannot be a service's name.</summary>
    public static string? Normalise(string name)
    {
        var n = name.Trim();
        if (n.EndsWith(".service", StringComparison.Ordinal)) n = n[..^".service".Length];
        if (!n.StartsWith("hailo-", StringComparison.Ordinal)) n = "hailo-" + n;
        return UnitName().IsMatch(n) ? n : null;
    }

    /// <summary>The installed services (hailo-*.service unit files), without the .service suffix.</summary>
    public static async Task<List<string>> InstalledAsync(SystemdClient systemd) =>
        (await systemd.ListUnitFilesAsync(UnitPattern))
        .Select(u => u.Name[..^".service".Length])
        .Where(n => UnitName().IsMatch(n))
        .ToList();
}
