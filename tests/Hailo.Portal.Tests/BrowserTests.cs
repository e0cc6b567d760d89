using System.Diagnostics;
using System.Text.Json;
using Hailo.TestSupport;
using HailoPortal;
using Xunit;
using Xunit.Abstractions;

namespace Hailo.Portal.Tests;

/// <summary>Runs only where Debian's chromium and node are installed (apt install chromium nodejs npm).</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public BrowserFactAttribute()
    {
        if (!File.Exists(Chromium)) Skip = $"needs Debian's chromium at {Chromium} (apt install chromium)";
        else if (!File.Exists("/usr/bin/node")) Skip = "needs node (apt install nodejs npm)";
    }
}

/// <summary>
/// The page in a real browser: headless chromium driven by playwright-core (tests/Hailo.Portal.Tests/browser/portal.mjs)
/// against the in-process portal, the fake systemd and the fake service APIs. Proves that the page's script renders
/// the cards, that its stop button reaches systemd as StopUnit, that polkit's refusal shows on the card, that the log tail shows, and that each "try it" panel
/// sends its request through the portal and renders the answer (the skeleton's pixels on the canvas, the OCR text, the
/// depth PNG decoded, the streamed chat, a playable WAV, the transcript). Screenshots: build/portal-*.png.
/// </summary>
public sealed class BrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private Fleet fleet = null!;
    private RunningService portal = null!;

    public async Task InitializeAsync()
    {
        fleet = await Fleet.StartAsync();
        fleet.Systemd.RefuseUnit = "hailo-scrfd.service";
        portal = await RunningService.StartAsync(PortalService.Definition, fleet.Config());
    }

    public async Task DisposeAsync()
    {
        await portal.DisposeAsync();
        await fleet.DisposeAsync();
    }

    private static string BrowserDir => Path.Combine(Repo.Root, "tests", "Hailo.Portal.Tests", "browser");

    private static async Task<(int Code, string Out, string Err)> Run(string file, string[] args, string dir, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not end within {timeout}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    [BrowserFact]
    public async Task The_page_shows_the_cards_stops_a_service_and_runs_every_try_it_panel()
    {
        if (!File.Exists(Path.Combine(BrowserDir, "node_modules", "playwright-core", "package.json")))
        {
            var (code, o, e) = await Run("npm", ["install", "--no-audit", "--no-fund"], BrowserDir, TimeSpan.FromMinutes(3));
            Assert.True(code == 0, $"npm install in {BrowserDir} failed: {o}\n{e}");
        }
        var shots = Path.Combine(Repo.Root, "build");
        Directory.CreateDirectory(shots);
        var image = Path.Combine(fleet.Dir, "people.bmp");
        var rgba = new byte[32 * 32 * 4];
        for (var i = 0; i < rgba.Length; i += 4) (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = (128, 128, 128, 255);
        await File.WriteAllBytesAsync(image, ImageFiles.Bmp(rgba, 32, 32));
        var audio = Path.Combine(fleet.Dir, "hello.wav");
        await File.WriteAllBytesAsync(audio, FakeApis.Wav());

        var (exit, stdout, stderr) = await Run("node", ["portal.mjs", portal.BaseAddress.ToString(), shots, image, audio, BrowserFactAttribute.Chromium],
            BrowserDir, TimeSpan.FromMinutes(2));
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        Assert.Equal(0, exit);
        var r = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.False(r.TryGetProperty("error", out var error), error.ToString());
        // The failed loads: polkit's refusal (403, shown on the card) and the transcription tried while hailo-whisper
        // was stopped (503, shown in its panel).
        Assert.Equal(["Failed to load resource: the server responded with a status of 403 (Forbidden)",
                "Failed to load resource: the server responded with a status of 503 (Service Unavailable)"],
            r.GetProperty("console").EnumerateArray().Select(c => c.GetString()));

        var cards = r.GetProperty("cards").EnumerateArray().Select(c => c.GetProperty("service").GetString()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([.. Fleet.TryServices.Append("hailo-scrfd").Order(StringComparer.Ordinal)], cards);
        // The NPU card: the doctor's checks as the page renders them, with each unit's device access from systemd.
        var npu = r.GetProperty("npu").EnumerateArray().Select(c => c.GetProperty("text").GetString()!).ToList();
        Assert.Contains(npu, t => t.Contains("device node", StringComparison.Ordinal));
        Assert.Contains(npu, t => t.Contains("hailo-whisper device access", StringComparison.Ordinal));
        Assert.Contains("StopUnit hailo-whisper.service replace", fleet.Systemd.Calls);
        Assert.Contains("StartUnit hailo-whisper.service replace", fleet.Systemd.Calls);
        Assert.Equal("hailo-whisper: stop done", r.GetProperty("stopMessage").GetString());
        Assert.StartsWith("inactive", r.GetProperty("whisperStateAfterStop").GetString());
        Assert.Contains("journalctl -u hailo-pose.service", r.GetProperty("log").GetString());
        var refusal = r.GetProperty("refusal").GetString()!;
        Assert.StartsWith("Not allowed: systemd refused", refusal);
        Assert.Contains("hailo-admin", refusal);
        Assert.Contains("StartUnit hailo-scrfd.service replace", fleet.Systemd.Calls);

        Assert.Equal("1", r.GetProperty("poseCount").GetString());
        var pixel = r.GetProperty("posePixel").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var background = r.GetProperty("poseBackground").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal([128, 128, 128, 255], background);
        Assert.True(pixel[1] > 150 && pixel[0] < 100, $"the skeleton's green line is not at (8,8): {string.Join(',', pixel)}");
        Assert.Equal("HELLO", r.GetProperty("ocrText").GetString());
        Assert.Equal(4, r.GetProperty("depthWidth").GetInt32());
        Assert.Equal("Hello from the stand-in", r.GetProperty("chat").GetString());
        Assert.Equal(FakeApis.Wav().Length, r.GetProperty("speechBytes").GetInt32());
        Assert.Equal(0.1, r.GetProperty("speechDuration").GetDouble(), 2);
        Assert.Contains("not running", r.GetProperty("whisperStopped").GetString());
        // The page sent the file as multipart; the WAV's bytes reached the service inside it.
        var sent = fleet.Apis.Requests.Last(q => q.Path == "/v1/audio/transcriptions");
        Assert.True(sent.Body.AsSpan().IndexOf(FakeApis.Wav()) > 0);
        Assert.Equal($"transcribed {sent.Body.Length} bytes", r.GetProperty("transcript").GetString());
        Assert.True(File.Exists(Path.Combine(shots, "portal-cards.png")));
        Assert.True(File.Exists(Path.Combine(shots, "portal-try-it.png")));
    }
}
