using System.Net;
using System.Text.Json;
using Hailo.Ocr.Tests.EndToEnd;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Ocr.Tests.Process;

/// <summary>
/// The hailo-ocr executable itself: systemd notify datagrams, watchdog, signals, exit codes and commands.
/// Runs the JIT build by default, the Native AOT binary when AOT_BINARY_HAILO_OCR names it (CI does both).
/// </summary>
public sealed class ServiceProcessTests
{
    private static string Binary => ServiceProcess.Binary("hailo-ocr", "AOT_BINARY_HAILO_OCR");
    private const int SigTerm = 15;

    private static string[] Args(params string[] extra) =>
        ["--port", "{port}", "--models-dir", Repo.ModelsDir, "--models.search_paths", "", "--config", "/dev/null", .. extra];

    [Fact]
    public async Task Notifies_loading_ready_watchdog_and_stopping_then_exits_cleanly()
    {
        OcrServiceFixture.RequireModels();
        await using var p = ServiceProcess.Start(Binary, Args(), new Dictionary<string, string?> { ["WATCHDOG_USEC"] = "400000" });
        await p.WaitForDatagram("STATUS=loading model paddleocr-v4", TimeSpan.FromSeconds(30));
        var ready = await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(60));
        var health = await p.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=ready (cpu; device: auto;", StringComparison.Ordinal)
                                           && d.Message.EndsWith("): paddleocr-v4", StringComparison.Ordinal));

        // Watchdog pings arrive at about half of WATCHDOG_USEC.
        await Task.Delay(1200);
        var pings = p.Datagrams.Where(d => d.Message == "WATCHDOG=1").ToList();
        Assert.True(pings.Count >= 3, $"only {pings.Count} watchdog pings in 1.2 s");
        Assert.True(pings[0].At >= ready, "watchdog pings start only after READY");

        // One real request through the binary.
        var (png, _) = new TextScene { FontFile = TextScene.FontFiles[0], Width = 500, Height = 150 }.Render(["Native 2026"]);
        var r = await p.Client.PostAsync("/v1/ocr/extract", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("Native 2026", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("text").GetString());

        p.Signal(SigTerm);
        Assert.Equal(0, await p.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains(p.Datagrams, d => d.Message.StartsWith("STOPPING=1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_says_how_to_fix_it()
    {
        var empty = Directory.CreateTempSubdirectory("no-models").FullName;
        try
        {
            await using var p = ServiceProcess.Start(Binary, ["--port", "{port}", "--models-dir", empty, "--models.search_paths", "", "--config", "/dev/null"]);
            await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(30));
            Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=degraded: model paddleocr-v4 is missing", StringComparison.Ordinal)
                                               && d.Message.Contains($"hailo-ocr pull paddleocr-v4 --models-dir {empty}", StringComparison.Ordinal));
            var health = await p.Client.GetAsync("/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("missing", body.GetProperty("models")[0].GetProperty("state").GetString());
            var r = await p.Client.PostAsync("/v1/ocr/extract", new ByteArrayContent([1, 2, 3]) { Headers = { ContentType = new("image/png") } });
            // Bad bytes are refused before the model is needed; a valid image gets 503 with the fix.
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var (png, _) = new TextScene { FontFile = TextScene.FontFiles[0], Width = 200, Height = 80 }.Render(["x"]);
            r = await p.Client.PostAsync("/v1/ocr/extract", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.Contains("pull paddleocr-v4", await r.Content.ReadAsStringAsync());
        }
        finally { Directory.Delete(empty, true); }
    }

    [Fact]
    public async Task Ready_comes_before_any_model_load_when_preload_is_off()
    {
        OcrServiceFixture.RequireModels();
        await using var p = ServiceProcess.Start(Binary, Args("--models.preload", "false"));
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(p.Datagrams, d => d.Message.Contains("loading", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await p.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Watches_no_directories()
    {
        // A config-reloading host would put a recursive inotify watch on its working directory ("/" under systemd).
        await using var p = ServiceProcess.Start(Binary, Args("--models.preload", "false"));
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(30));
        var links = Directory.GetFiles($"/proc/{p.Pid}/fd").Select(f => new FileInfo(f).LinkTarget ?? "").ToList();
        Assert.NotEmpty(links);
        Assert.DoesNotContain(links, l => l.Contains("inotify", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Journald_format_is_used_under_systemd()
    {
        await using var p = ServiceProcess.Start(Binary, Args("--models.preload", "false"), new Dictionary<string, string?> { ["JOURNAL_STREAM"] = "8:12345" });
        await p.WaitForDatagram("READY=1", TimeSpan.FromSeconds(30));
        await Task.Delay(100);
        Assert.Matches(@"(?m)^<6>", p.Stdout);
        Assert.DoesNotMatch(@"(?m)^\d\d:\d\d:\d\d\.\d{3} info:", p.Stdout);
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem()
    {
        var yaml = Path.GetTempFileName();
        await File.WriteAllTextAsync(yaml, "server:\n  prot: 1\nocr:\n  det_threshold: 3\n  languages: [xx]\n");
        try
        {
            var (code, _, err) = await ServiceProcess.RunToEnd(Binary, ["--config", yaml, "--device", "tpu"]);
            Assert.Equal(2, code);
            Assert.Contains("server.prot: unknown key", err);
            Assert.Contains("did you mean 'port'", err);
            (code, _, err) = await ServiceProcess.RunToEnd(Binary, ["--config", yaml.Replace("tmp", "nope", StringComparison.Ordinal)]);
            Assert.Equal(2, code);
            Assert.Contains("does not exist", err);
            await File.WriteAllTextAsync(yaml, "ocr:\n  det_threshold: 3\n  languages: [xx]\n");
            (code, _, err) = await ServiceProcess.RunToEnd(Binary, ["check-config", "--config", yaml, "--device", "tpu"]);
            Assert.Equal(2, code);
            Assert.Contains("ocr.det_threshold: must be between 0 and 1", err);
            Assert.Contains("ocr.languages: 'xx' is not supported", err);
            Assert.Contains("device: 'tpu' is not one of: auto, npu, cpu", err);
        }
        finally { File.Delete(yaml); }
    }

    [Fact]
    public async Task Commands_version_help_check_and_print_config()
    {
        var (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["--version"]);
        Assert.Equal(0, code);
        Assert.StartsWith("hailo-ocr 1.0.0", stdout);
        (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["--help"]);
        Assert.Equal(0, code);
        Assert.Contains("pull [MODEL...]", stdout);
        (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["print-config", "--config", "/dev/null", "--port", "9123"], new Dictionary<string, string?> { ["HAILO_OCR_OCR__REC_THRESHOLD"] = "0.25" });
        Assert.Equal(0, code);
        Assert.Contains("port: 9123", stdout);
        Assert.Contains("rec_threshold: 0.25", stdout);
        (code, stdout, _) = await ServiceProcess.RunToEnd(Binary, ["models", "--models-dir", Repo.ModelsDir, "--config", "/dev/null"]);
        Assert.Equal(0, code);
        Assert.Contains("paddleocr-v4", stdout);
    }

    [Fact]
    public async Task Port_in_use_is_a_clear_failure()
    {
        using var blocker = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
        var (code, stdout, stderr) = await ServiceProcess.RunToEnd(Binary, ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", "/dev/null", "--models.preload", "false"]);
        Assert.Equal(1, code);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", stdout + stderr);
    }
}
