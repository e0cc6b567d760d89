using System.Net;
using Hailo.Ocr.Tests.EndToEnd;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Ocr.Tests.Process;

/// <summary>
/// The hailo-ocr executable itself: systemd notify datagrams, watchdog, signals, exit codes and commands.
/// Runs the JIT build by default, the Native AOT binary when AOT_BINARY_HAILO_OCR names it (CI does both).
/// The served processes use the models `make models` fetched; the degraded start uses the empty <see cref="ServiceProcessTestBase.Models"/>.
/// </summary>
public sealed class ServiceProcessTests() : ServiceProcessTestBase("hailo-ocr")
{
    protected override string[] Args(params string[] extra) => IsolatedArgs(Repo.ModelsDir, extra);

    private static ByteArrayContent Png(byte[] png) => new(png) { Headers = { ContentType = new("image/png") } };

    [Fact]
    public async Task Notifies_loading_ready_watchdog_and_stopping_then_exits_cleanly()
    {
        OcrServiceFixture.RequireModels();
        await using var p = StartWithWatchdog(Args());
        await p.WaitForDatagram("STATUS=loading model paddleocr-v4", StartTimeout);
        var ready = await p.WaitForDatagram("READY=1", LoadTimeout);
        Assert.Equal(HttpStatusCode.OK, (await p.Client.GetAsync("/health")).StatusCode);
        Assert.Contains(p.Datagrams, d => d.Message.Contains("STATUS=ready (cpu; device: auto;", StringComparison.Ordinal)
                                           && d.Message.EndsWith("): paddleocr-v4", StringComparison.Ordinal));

        // Watchdog pings arrive at about half of WATCHDOG_USEC.
        await Task.Delay(1200);
        var pings = p.Datagrams.Where(d => d.Message == "WATCHDOG=1").ToList();
        Assert.True(pings.Count >= 3, $"only {pings.Count} watchdog pings in 1.2 s");
        Assert.True(pings[0].At >= ready, "watchdog pings start only after READY");

        // One real request through the binary.
        var (png, _) = new TextScene { FontFile = TextScene.FontFiles[0], Width = 500, Height = 150 }.Render(["Native 2026"]);
        var r = await p.Client.PostAsync("/v1/ocr/extract", Png(png));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("Native 2026", (await Json(r)).GetProperty("text").GetString());

        await AssertStopsCleanlyOnSigterm(p);
    }

    [Fact]
    public async Task Without_its_model_the_service_starts_degraded_and_says_how_to_fix_it()
    {
        await using var p = Start(IsolatedArgs(Models));
        await AssertStartsDegraded(p, "STATUS=degraded: model paddleocr-v4 is missing", $"hailo-ocr pull paddleocr-v4 --models-dir {Models}");
        // Bad bytes are refused before the model is needed; a valid image gets 503 with the fix.
        var r = await p.Client.PostAsync("/v1/ocr/extract", Png([1, 2, 3]));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var (png, _) = new TextScene { FontFile = TextScene.FontFiles[0], Width = 200, Height = 80 }.Render(["x"]);
        r = await p.Client.PostAsync("/v1/ocr/extract", Png(png));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("pull paddleocr-v4", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Ready_comes_before_any_model_load_when_preload_is_off()
    {
        OcrServiceFixture.RequireModels();
        await using var p = Start(Args("--models.preload", "false"));
        await p.WaitForDatagram("READY=1", StartTimeout);
        Assert.DoesNotContain(p.Datagrams, d => d.Message.Contains("loading", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await p.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Watches_no_directories()
    {
        // A config-reloading host would put a recursive inotify watch on its working directory ("/" under systemd).
        await using var p = Start(Args("--models.preload", "false"));
        await p.WaitForDatagram("READY=1", StartTimeout);
        var links = Directory.GetFiles($"/proc/{p.Pid}/fd").Select(f => new FileInfo(f).LinkTarget ?? "").ToList();
        Assert.NotEmpty(links);
        Assert.DoesNotContain(links, l => l.Contains("inotify", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Journald_format_is_used_under_systemd()
    {
        await using var p = Start(Args("--models.preload", "false"), new Dictionary<string, string?> { ["JOURNAL_STREAM"] = "8:12345" });
        await p.WaitForDatagram("READY=1", StartTimeout);
        await Task.Delay(100);
        Assert.Matches(@"(?m)^<6>", p.Stdout);
        Assert.DoesNotMatch(@"(?m)^\d\d:\d\d:\d\d\.\d{3} info:", p.Stdout);
    }

    [Fact]
    public async Task Bad_config_exits_2_listing_every_problem()
    {
        // Unknown keys are reported first (the service itself refuses to start); a missing file: Host_config_errors_exit_2_with_the_fix.
        await AssertConfigRefused("server:\n  prot: 1\nocr:\n  det_threshold: 3\n  languages: [xx]\n", ["--device", "tpu"],
            "server.prot: unknown key", "did you mean 'port'");
        await AssertConfigRefused("ocr:\n  det_threshold: 3\n  languages: [xx]\n", ["check-config", "--device", "tpu"],
            "ocr.det_threshold: must be between 0 and 1", "ocr.languages: 'xx' is not supported", "device: 'tpu' is not one of: auto, npu, cpu");
    }

    [Fact]
    public async Task Commands_version_help_check_and_print_config()
    {
        // --version and --help: Version_and_help_name_the_service, as for every service.
        await AssertCommandPrints(["print-config", "--config", "/dev/null", "--port", "9123"], new Dictionary<string, string?> { ["HAILO_OCR_OCR__REC_THRESHOLD"] = "0.25" },
            "port: 9123", "rec_threshold: 0.25");
        await AssertCommandPrints(["models", "--models-dir", Repo.ModelsDir, "--config", "/dev/null"], "paddleocr-v4");
    }

    [Fact]
    public async Task Port_in_use_is_a_clear_failure()
    {
        using var blocker = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
        var (code, stdout, stderr) = await Run(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--config", "/dev/null", "--models.preload", "false"]);
        Assert.Equal(1, code);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", stdout + stderr);
    }
}
