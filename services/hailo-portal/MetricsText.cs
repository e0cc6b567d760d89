using System.Globalization;

namespace HailoPortal;

/// <summary>
/// The few series the cards draw, read from a service's Prometheus text: HTTP requests (all, and answered with 5xx) and
/// the request-duration histogram's sum and count, leaving out the routes the portal's own polling hits.
/// </summary>
public static class MetricsText
{
    private static readonly string[] PollRoutes = ["/health", "/health/ready", "/metrics", "health", "metrics"];

    public static (double Requests, double Errors, double LatencySum, double LatencyCount, double? Resident) Summarise(string text)
    {
        double requests = 0, errors = 0, sum = 0, count = 0;
        double? resident = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var space = line.LastIndexOf(' ');
            if (space <= 0 || !double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) continue;
            var series = line[..space];
            var brace = series.IndexOf('{');
            var name = brace < 0 ? series : series[..brace];
            var labels = brace < 0 ? "" : series[brace..];
            switch (name)
            {
                case "hailo_http_requests_total" when !IsPoll(labels):
                    requests += value;
                    if (Label(labels, "status") is { Length: 3 } s && s[0] == '5') errors += value;
                    break;
                case "hailo_http_request_duration_seconds_sum" when !IsPoll(labels):
                    sum += value;
                    break;
                case "hailo_http_request_duration_seconds_count" when !IsPoll(labels):
                    count += value;
                    break;
                case "process_resident_memory_bytes":
                    resident = value;
                    break;
            }
        }
        return (requests, errors, sum, count, resident);
    }

    private static bool IsPoll(string labels) => Label(labels, "route") is { } r && PollRoutes.Contains(r);

    /// <summary>A label's value from {a="x",b="y"} (escapes kept as written; the routes compared have none).</summary>
    internal static string? Label(string labels, string key)
    {
        var at = labels.IndexOf(key + "=\"", StringComparison.Ordinal);
        while (at > 0 && labels[at - 1] is not ('{' or ','))
            at = labels.IndexOf(key + "=\"", at + 1, StringComparison.Ordinal);
        if (at < 0) return null;
        var start = at + key.Length + 2;
        var end = start;
        while (end < labels.Length && labels[end] != '"') end += labels[end] == '\\' ? 2 : 1;
        return end <= labels.Length ? labels[start..Math.Min(end, labels.Length)] : null;
    }
}
