using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace HailoCtl;

/// <summary>The services' own HTTP APIs: /health, /v1/models, hailo-ollama's /api/pull.</summary>
internal static class ServiceApi
{
    public static HttpClient Client(TimeSpan timeout, string? token) => ServiceHttp.Client(timeout, token);

    public static Task<(int? Code, HealthDoc? Health, string? Error)> HealthAsync(HttpClient http, ServiceEndpoint ep) => ServiceHttp.HealthAsync(http, ep);

    public static async Task<int> ModelsAsync(Invocation inv, TextWriter stdout, TextWriter stderr)
    {
        if (inv.Args.Count > 1) throw new CtlException("models takes at most one service");
        await using var systemd = await Cli.ConnectAsync(inv.Settings.BusAddress);
        var installed = await Cli.InstalledAsync(systemd);
        var services = Cli.Select(inv.Args, installed, noneMeansAll: true);
        using var http = Client(TimeSpan.FromSeconds(inv.Timeout ?? 5), inv.Settings.Token);
        var results = await Task.WhenAll(services.Select(async s =>
        {
            var unit = await systemd.GetUnitAsync(s + ".service");
            var ep = Ports.Resolve(s, unit.Environment, inv.Settings.ConfigDir);
            if (unit.ActiveState != "active") return new ServiceModels(s, ep?.Port, [], $"not running ({unit.ActiveState}); hailoctl start {s[6..]}");
            if (ep is null) return new ServiceModels(s, null, [], "no port known");
            try
            {
                using var r = await http.GetAsync(ep.Url("/v1/models"));
                var body = await r.Content.ReadAsStringAsync();
                if (r.StatusCode == System.Net.HttpStatusCode.Unauthorized)
                    return new ServiceModels(s, ep.Port, [], "the service requires its bearer token (server.auth_token): --token or HAILO_TOKEN");
                if (!r.IsSuccessStatusCode) return new ServiceModels(s, ep.Port, [], $"/v1/models answered {(int)r.StatusCode}");
                var doc = JsonSerializer.Deserialize(body, ManagementJson.Default.ModelListDoc);
                return new ServiceModels(s, ep.Port, doc?.Data ?? [], null);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                return new ServiceModels(s, ep.Port, [], $"no model list from {ep.Host}:{ep.Port} ({e.Message})");
            }
        }));
        if (inv.Json) stdout.WriteLine(JsonSerializer.Serialize(new ModelsReport(results), CtlJson.Out.ModelsReport));
        else
        {
            Table.Write(stdout, ["SERVICE", "MODEL", "BACKEND", "STATE"], results.SelectMany(r => r.Models.Count == 0
                ? [[r.Service[6..], "-", "-", r.Error ?? "no models"]]
                : r.Models.Select(m => new[] { r.Service[6..], m.Id, m.Backend ?? "-", m.Status ?? "-" })));
        }
        return results.All(r => r.Error is null) ? ExitCodes.Ok : ExitCodes.Failure;
    }

    public static async Task<int> PullAsync(Invocation inv, TextWriter stdout, TextWriter stderr)
    {
        if (inv.Args.Count is < 1 or > 2) throw new CtlException("pull takes a service and optionally a model: hailoctl pull ollama qwen2.5:1.5b");
        var s = Cli.Normalise(inv.Args[0]) ?? throw new CtlException($"'{Cli.Clean(inv.Args[0])}' is not a service name");
        await using var systemd = await Cli.ConnectAsync(inv.Settings.BusAddress);
        var installed = await Cli.InstalledAsync(systemd);
        Cli.Select([s], installed, false);
        var model = inv.Args.Count > 1 ? inv.Args[1] : null;
        if (!ServiceHttp.PullEndpoints.TryGetValue(s, out var path))
        {
            stderr.WriteLine($"hailoctl: {s} has no pull endpoint; it downloads its models with its own command:");
            stderr.WriteLine($"    sudo -u {s} {s} pull{(model is null ? "" : " " + model)}");
            return ExitCodes.Failure;
        }
        var unit = await systemd.GetUnitAsync(s + ".service");
        var ep = Ports.Resolve(s, unit.Environment, inv.Settings.ConfigDir) ?? throw new CtlException($"no port known for {s}", ExitCodes.Failure);
        if (model is null)
        {
            // The default model: the one /health names first.
            using var h = Client(TimeSpan.FromSeconds(5), null);
            var (_, health, error) = await HealthAsync(h, ep);
            model = health?.Models?.FirstOrDefault()?.Name ?? throw new CtlException($"{s} did not name its default model ({error ?? "no models on /health"}); name one: hailoctl pull {s[6..]} MODEL", ExitCodes.Failure);
        }
        using var http = Client(Timeout.InfiniteTimeSpan, inv.Settings.Token);
        var json = ServiceHttp.PullBody(model);
        using var req = new HttpRequestMessage(HttpMethod.Post, ep.Url(path)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        HttpResponseMessage resp;
        try
        {
            resp = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        }
        catch (HttpRequestException e)
        {
            throw new CtlException($"no answer from {s} on {ep.Host}:{ep.Port}: {e.Message}", ExitCodes.Failure);
        }
        using (resp)
        {
            if (!resp.IsSuccessStatusCode)
            {
                stderr.WriteLine($"hailoctl: {s} refused the pull ({(int)resp.StatusCode}): {Cli.Clean(await resp.Content.ReadAsStringAsync())}");
                return ExitCodes.Failure;
            }
            using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
            var bar = new ProgressBar(stderr);
            string? lastStatus = null;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Length == 0) continue;
                PullLine? p;
                try { p = JsonSerializer.Deserialize(line, ManagementJson.Default.PullLine); }
                catch (JsonException) { continue; }
                if (p is null) continue;
                if (p.Error is not null)
                {
                    bar.Done();
                    stderr.WriteLine($"hailoctl: pulling {model} failed: {p.Error}");
                    return ExitCodes.Failure;
                }
                if (p.Total is > 0 && p.Completed is { } done) bar.Show(p.Status ?? "", done, p.Total.Value);
                else if (p.Status != lastStatus)
                {
                    bar.Done();
                    stderr.WriteLine(p.Status);
                }
                lastStatus = p.Status;
            }
            bar.Done();
            if (lastStatus != "success")
            {
                stderr.WriteLine($"hailoctl: the pull of {model} ended without success");
                return ExitCodes.Failure;
            }
            stdout.WriteLine($"{s}: {model} pulled");
            return ExitCodes.Ok;
        }
    }
}

/// <summary>A one-line progress bar on a terminal; on a pipe, a line per 10 %.</summary>
internal sealed class ProgressBar(TextWriter w)
{
    private readonly bool tty = ReferenceEquals(w, Console.Error) && !Console.IsErrorRedirected;
    private int lastTenth = -1;
    private bool open;

    public void Show(string status, long done, long total)
    {
        var fraction = Math.Clamp((double)done / total, 0, 1);
        if (tty)
        {
            var filled = (int)(fraction * 30);
            w.Write(string.Create(CultureInfo.InvariantCulture, $"\r{status,-24} [{new string('#', filled)}{new string('.', 30 - filled)}] {fraction * 100,5:0.0}% {done / 1048576.0:0.0}/{total / 1048576.0:0.0} MB"));
            open = true;
        }
        else if ((int)(fraction * 10) != lastTenth)
        {
            lastTenth = (int)(fraction * 10);
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{status} {fraction * 100:0}% ({done / 1048576.0:0.0}/{total / 1048576.0:0.0} MB)"));
        }
    }

    public void Done()
    {
        if (open) w.WriteLine();
        open = false;
    }
}
