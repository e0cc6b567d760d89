using System.Diagnostics;
using System.Globalization;

namespace Hailo.Management;

/// <summary>A unit's journal read through journalctl (the journal's file format is journalctl's to read).</summary>
public static class Journal
{
    /// <summary>The arguments for `journalctl -u UNIT --no-pager [-f] [-n N]`.</summary>
    public static ProcessStartInfo Command(string journalctl, string unit, int? lines, bool follow, string? output = null)
    {
        var psi = new ProcessStartInfo(journalctl) { UseShellExecute = false };
        psi.ArgumentList.Add("-u");
        psi.ArgumentList.Add(unit);
        psi.ArgumentList.Add("--no-pager");
        if (output is not null)
        {
            psi.ArgumentList.Add("-o");
            psi.ArgumentList.Add(output);
        }
        if (follow) psi.ArgumentList.Add("-f");
        if (lines is { } n)
        {
            psi.ArgumentList.Add("-n");
            psi.ArgumentList.Add(n.ToString(CultureInfo.InvariantCulture));
        }
        return psi;
    }

    /// <summary>
    /// The last lines of the unit's journal, at most maxBytes of output; the exit code and standard error say whether
    /// the journal was readable (it needs the group systemd-journal or adm).
    /// </summary>
    public static async Task<(int ExitCode, IReadOnlyList<string> Lines, string Error)> TailAsync(string journalctl, string unit, int lines,
        int maxBytes, TimeSpan timeout, CancellationToken ct)
    {
        var psi = Command(journalctl, unit, lines, false, "short-iso");
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + journalctl);
        p.StandardInput.Close();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var errTask = ReadBoundedAsync(p.StandardError, 4096, cts.Token);
        var outText = await ReadBoundedAsync(p.StandardOutput, maxBytes, cts.Token);
        var errText = await errTask;
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { p.Kill(true); } catch (InvalidOperationException) { }
            throw;
        }
        var all = outText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (p.ExitCode, all, errText.Trim());
    }

    private static async Task<string> ReadBoundedAsync(StreamReader reader, int maxChars, CancellationToken ct)
    {
        var buffer = new char[Math.Min(maxChars, 64 * 1024)];
        var sb = new System.Text.StringBuilder();
        int n;
        while ((n = await reader.ReadAsync(buffer.AsMemory(), ct)) > 0)
        {
            var keep = Math.Min(n, maxChars - sb.Length);
            if (keep > 0) sb.Append(buffer, 0, keep);
        }
        return sb.ToString();
    }
}
