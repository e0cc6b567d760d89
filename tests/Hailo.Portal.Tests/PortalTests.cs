using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hailo.Hosting.Config;
using Hailo.TestSupport;
using HailoPortal;
using Xunit;

namespace Hailo.Portal.Tests;

/// <summary>
/// The portal in-process against the private bus, the fake systemd and the fake service APIs. What this proves: the page
/// and its headers, the cards from systemd's D-Bus properties and /health, start/stop/restart as D-Bus calls and polkit's
/// refusal, the Host/Origin/CSRF/token rules, the log tail through journalctl, the metrics summary, the pull stream and
/// the "try it" proxy (the very bytes reach the service, the answer comes back). What it does not: real systemd and
/// polkit (the package's nspawn test), real models behind the services.
/// </summary>
public sealed class PortalTests : IAsyncLifetime
{
    private Fleet fleet = null!;
    private RunningService portal = null!;
    private string csrf = "";

    public async Task InitializeAsync()
    {
        fleet = await Fleet.StartAsync();
        portal = await RunningService.StartAsync(PortalService.Definition, fleet.Config());
        csrf = (await Json(await portal.Client.GetAsync("/api/session"))).GetProperty("csrf_token").GetString()!;
    }

    public async Task DisposeAsync()
    {
        await portal.DisposeAsync();
        await fleet.DisposeAsync();
    }

    private static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Clone();

    private HttpRequestMessage Post(string path, HttpContent? content = null, bool withCsrf = true)
    {
        var m = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (withCsrf) m.Headers.Add("X-CSRF-Token", csrf);
        return m;
    }

    private static async Task AssertError(HttpResponseMessage r, int status, string code)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode == status, $"{r.RequestMessage?.Method} {r.RequestMessage?.RequestUri}: {(int)r.StatusCode}, not {status}: {text}");
        var e = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(code, e.GetProperty("code").GetString());
        Assert.Equal(status, e.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Page_and_assets_come_from_the_binary_with_hardened_headers_and_no_inline_script()
    {
        var page = await portal.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/assets/app.js\"", html);
        Assert.DoesNotMatch(new Regex("<script(?![^>]*\\bsrc=)[^>]*>", RegexOptions.IgnoreCase), html);
        Assert.DoesNotMatch(new Regex("\\son[a-z]+=", RegexOptions.IgnoreCase), html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", ""));
        Assert.DoesNotContain("https://", html);
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        foreach (var (asset, type) in new[] { ("/assets/app.js", "text/javascript"), ("/assets/app.css", "text/css") })
        {
            var r = await portal.Client.GetAsync(asset);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal(type, r.Content.Headers.ContentType!.MediaType);
            Assert.DoesNotContain("https://", await r.Content.ReadAsStringAsync());
        }
        // Errors carry the headers too, and are JSON.
        var missing = await portal.Client.GetAsync("/assets/evil.js");
        await AssertError(missing, 404, "not_found");
        Assert.Equal("DENY", missing.Headers.GetValues("X-Frame-Options").Single());
    }

    [Fact]
    public async Task Cards_list_every_installed_unit_with_its_state_health_and_panel()
    {
        var body = await Json(await portal.Client.GetAsync("/api/services"));
        var services = body.GetProperty("services").EnumerateArray().ToDictionary(s => s.GetProperty("service").GetString()!);
        Assert.Equal([.. Fleet.TryServices.Append("hailo-scrfd").Order(StringComparer.Ordinal)], services.Keys.Order(StringComparer.Ordinal));
        var pose = services["hailo-pose"];
        Assert.Equal("active", pose.GetProperty("active_state").GetString());
        Assert.Equal("ready (cpu): stand-in-model", pose.GetProperty("status_text").GetString());
        Assert.Equal("cpu", pose.GetProperty("backend").GetString());
        Assert.Equal("stand-in-model", pose.GetProperty("models")[0].GetProperty("name").GetString());
        Assert.Equal(fleet.Apis.Port, pose.GetProperty("port").GetInt32());
        Assert.Equal(2u, pose.GetProperty("restarts").GetUInt32());
        Assert.True(pose.GetProperty("ready").GetBoolean());
        Assert.Equal("pose", pose.GetProperty("try").GetString());
        Assert.InRange(pose.GetProperty("uptime_seconds").GetDouble(), 250, 400);
        Assert.True(services["hailo-ollama"].GetProperty("pull").GetBoolean());
        Assert.False(pose.GetProperty("pull").GetBoolean());
        var scrfd = services["hailo-scrfd"];
        Assert.Equal("inactive", scrfd.GetProperty("active_state").GetString());
        Assert.False(scrfd.GetProperty("ready").GetBoolean());
        Assert.False(scrfd.TryGetProperty("try", out _));
        Assert.Contains("ListUnitFilesByPatterns hailo-*.service", fleet.Systemd.Calls);
    }

    [Fact]
    public async Task The_npu_card_has_the_doctors_checks_and_each_units_device_access()
    {
        var r = await portal.Client.GetAsync("/api/npu");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await Json(r);
        var checks = body.GetProperty("checks").EnumerateArray().ToList();
        var names = checks.Select(c => c.GetProperty("check").GetString()!).ToList();
        foreach (var check in new[] { "device node", "driver", "firmware files", "firmware version", "HailoRT library", "shim" })
            Assert.Contains(check, names);
        // The units' groups come over D-Bus from (here the fake) systemd: one check per installed unit.
        foreach (var service in Fleet.TryServices.Append("hailo-scrfd"))
            Assert.Contains(service + " device access", names);
        Assert.All(checks, c => Assert.Contains(c.GetProperty("result").GetString(), new[] { "ok", "problem", "unknown" }));
        Assert.Equal(checks.All(c => c.GetProperty("result").GetString() != "problem"), body.GetProperty("ok").GetBoolean());
    }

    [Theory]
    [InlineData("stop", "StopUnit", "inactive")]
    [InlineData("start", "StartUnit", "active")]
    [InlineData("restart", "RestartUnit", "active")]
    public async Task Actions_are_systemd_jobs_over_dbus(string action, string method, string state)
    {
        var r = await portal.Client.SendAsync(Post($"/api/services/pose/{action}"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("done", (await Json(r)).GetProperty("result").GetString());
        Assert.Contains($"{method} hailo-pose.service replace", fleet.Systemd.Calls);
        Assert.Equal(state, fleet.Systemd.Units["hailo-pose.service"].ActiveState);
    }

    [Fact]
    public async Task A_failed_job_and_polkit_refusal_are_said_clearly()
    {
        fleet.Systemd.Units["hailo-ocr.service"].JobResult = "failed";
        await AssertError(await portal.Client.SendAsync(Post("/api/services/ocr/restart")), 502, "job_failed");
        fleet.Systemd.Refuse = true;
        var r = await portal.Client.SendAsync(Post("/api/services/hailo-pose/stop"));
        await AssertError(r, 403, "polkit_refused");
        Assert.Contains("hailo-admin", (await Json(r)).GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("active", fleet.Systemd.Units["hailo-pose.service"].ActiveState);
    }

    [Fact]
    public async Task State_changes_need_the_csrf_token_and_the_portals_own_origin()
    {
        await AssertError(await portal.Client.SendAsync(Post("/api/services/pose/stop", withCsrf: false)), 403, "csrf_token_invalid");
        var wrong = Post("/api/services/pose/stop", withCsrf: false);
        wrong.Headers.Add("X-CSRF-Token", new string('0', 64));
        await AssertError(await portal.Client.SendAsync(wrong), 403, "csrf_token_invalid");
        // Another origin, even a local one that server.allowed_origins' defaults let call the other services.
        foreach (var origin in new[] { "http://evil.example", "http://localhost:3000", "null" })
        {
            var m = Post("/api/services/pose/stop");
            m.Headers.Add("Origin", origin);
            await AssertError(await portal.Client.SendAsync(m), 403, "forbidden_origin");
            var read = new HttpRequestMessage(HttpMethod.Get, "/api/session");
            read.Headers.Add("Origin", origin);
            var answer = await portal.Client.SendAsync(read);
            Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
            Assert.DoesNotContain(csrf, await answer.Content.ReadAsStringAsync());
        }
        var crossSite = Post("/api/services/pose/stop");
        crossSite.Headers.Add("Sec-Fetch-Site", "cross-site");
        await AssertError(await portal.Client.SendAsync(crossSite), 403, "forbidden_origin");
        Assert.DoesNotContain(fleet.Systemd.Calls, c => c.StartsWith("StopUnit", StringComparison.Ordinal));
        // The page's own origin with the token passes.
        var own = Post("/api/services/pose/stop");
        own.Headers.Add("Origin", portal.BaseAddress.GetLeftPart(UriPartial.Authority));
        own.Headers.Add("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.OK, (await portal.Client.SendAsync(own)).StatusCode);
    }

    [Fact]
    public async Task A_foreign_host_header_is_refused_dns_rebinding()
    {
        var m = new HttpRequestMessage(HttpMethod.Get, "/api/services");
        m.Headers.Host = "attacker.example";
        await AssertError(await portal.Client.SendAsync(m), 403, "forbidden_host");
        var page = new HttpRequestMessage(HttpMethod.Get, "/");
        page.Headers.Host = "rebind.attacker.example:7860";
        await AssertError(await portal.Client.SendAsync(page), 403, "forbidden_host");
    }

    [Fact]
    public async Task Log_tail_runs_journalctl_for_the_unit()
    {
        var body = await Json(await portal.Client.GetAsync("/api/services/pose/logs?lines=7"));
        var lines = body.GetProperty("lines").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Contains("journalctl -u hailo-pose.service --no-pager -o short-iso -n 7", lines[0]);
        foreach (var bad in new[] { "0", "-1", "abc", "100001", "1e3", "" })
            await AssertError(await portal.Client.GetAsync("/api/services/pose/logs?lines=" + bad), 400, "invalid_lines");
        await File.WriteAllTextAsync(fleet.Journalctl, "#!/bin/sh\necho 'No journal files were opened due to insufficient permissions.' >&2\nexit 1\n");
        await AssertError(await portal.Client.GetAsync("/api/services/pose/logs"), 503, "journal_unreadable");
    }

    [Fact]
    public async Task Metrics_summary_counts_requests_and_latency_without_the_polling_routes()
    {
        await portal.Client.SendAsync(Post("/api/services/pose/try", new ByteArrayContent(FakeApis.Png()) { Headers = { ContentType = new("image/png") } }));
        var m = await Json(await portal.Client.GetAsync("/api/services/pose/metrics"));
        Assert.Equal(1 + 2, m.GetProperty("requests").GetDouble());
        Assert.Equal(2, m.GetProperty("errors").GetDouble());
        Assert.Equal(0.25, m.GetProperty("latency_sum_seconds").GetDouble(), 6);
        Assert.Equal(1, m.GetProperty("latency_count").GetDouble());
        Assert.Equal(41943040, m.GetProperty("resident_bytes").GetDouble());
        await AssertError(await portal.Client.GetAsync("/api/services/scrfd/metrics"), 503, "service_not_running");
    }

    [Fact]
    public async Task Try_it_forwards_the_very_body_and_passes_the_answer_back()
    {
        var png = FakeApis.Png();
        var r = await portal.Client.SendAsync(Post("/api/services/pose/try", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } }));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(png.Length, (await Json(r)).GetProperty("received_bytes").GetInt32());
        var got = fleet.Apis.Requests.Last();
        Assert.Equal("/v1/pose/detect", got.Path);
        Assert.Equal("image/png", got.ContentType);
        Assert.Equal(png, got.Body);

        r = await portal.Client.SendAsync(Post("/api/services/depth/try", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } }));
        Assert.Equal(FakeApis.DepthPng, (await Json(r)).GetProperty("depth_image").GetString());
        Assert.Equal("/v1/depth/estimate?output_format=image&colormap=turbo", fleet.Apis.Requests.Last().Path);

        r = await portal.Client.SendAsync(Post("/api/services/ocr/try", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } }));
        Assert.Equal("HELLO", (await Json(r)).GetProperty("text").GetString());

        var chat = """{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}""";
        r = await portal.Client.SendAsync(Post("/api/services/ollama/try", new StringContent(chat, Encoding.UTF8, "application/json")));
        Assert.Equal("application/x-ndjson", r.Content.Headers.ContentType!.MediaType);
        var lines = (await r.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Hello from the stand-in", string.Concat(lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("message").GetProperty("content").GetString())));
        Assert.Equal(chat, Encoding.UTF8.GetString(fleet.Apis.Requests.Last().Body));

        var wav = FakeApis.Wav();
        var form = new MultipartFormDataContent { { new ByteArrayContent(wav) { Headers = { ContentType = new("audio/wav") } }, "file", "a.wav" } };
        r = await portal.Client.SendAsync(Post("/api/services/whisper/try", form));
        Assert.StartsWith("transcribed ", (await Json(r)).GetProperty("text").GetString());
        Assert.StartsWith("multipart/form-data; boundary=", fleet.Apis.Requests.Last().ContentType);

        r = await portal.Client.SendAsync(Post("/api/services/piper/try", new StringContent("""{"input":"hi","response_format":"wav"}""", Encoding.UTF8, "application/json")));
        Assert.Equal("audio/wav", r.Content.Headers.ContentType!.MediaType);
        Assert.Equal(wav, await r.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Try_it_refuses_what_the_panel_would_not_send()
    {
        var png = FakeApis.Png();
        await AssertError(await portal.Client.SendAsync(Post("/api/services/pose/try", new StringContent("{}", Encoding.UTF8, "application/json"))), 415, "unsupported_media_type");
        await AssertError(await portal.Client.SendAsync(Post("/api/services/pose/try", new ByteArrayContent(png))), 415, "unsupported_media_type");
        await AssertError(await portal.Client.SendAsync(Post("/api/services/pose/try", new ByteArrayContent([]) { Headers = { ContentType = new("image/png") } })), 400, "empty_body");
        await AssertError(await portal.Client.SendAsync(Post("/api/services/scrfd/try", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } })), 404, "no_try_panel");
        await AssertError(await portal.Client.SendAsync(Post("/api/services/clip/try", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } })), 404, "service_not_installed");
        fleet.Systemd.Units["hailo-pose.service"].ActiveState = "inactive";
        await AssertError(await portal.Client.SendAsync(Post("/api/services/pose/try", new ByteArrayContent(png) { Headers = { ContentType = new("image/png") } })), 503, "service_not_running");
        // Beyond portal.proxy_max_body_mb (25 MiB), declared and chunked.
        // Beyond portal.proxy_max_body_mb (25 MiB): refused from the declared length, before the body is sent.
        var big = new byte[26 << 20];
        fleet.Systemd.Units["hailo-pose.service"].ActiveState = "active";
        var m = Post("/api/services/pose/try", new ByteArrayContent(big) { Headers = { ContentType = new("image/png") } });
        m.Headers.ExpectContinue = true;
        await AssertError(await portal.Client.SendAsync(m), 413, "body_too_large");
        Assert.DoesNotContain(fleet.Apis.Requests, q => q.Body.Length > 1 << 20);
    }

    [Fact]
    public async Task Pull_streams_the_services_progress()
    {
        var r = await portal.Client.SendAsync(Post("/api/services/ollama/pull", new StringContent("""{"model":"qwen2.5:0.5b"}""", Encoding.UTF8, "application/json")));
        Assert.True(r.StatusCode == HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
        var lines = (await r.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("success", JsonDocument.Parse(lines[^1]).RootElement.GetProperty("status").GetString());
        Assert.Equal("""{"model":"qwen2.5:0.5b","stream":true}""", Encoding.UTF8.GetString(fleet.Apis.Requests.Last().Body));
        // No model named: the one /health names first.
        r = await portal.Client.SendAsync(Post("/api/services/ollama/pull"));
        Assert.True(r.StatusCode == HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
        Assert.Contains("\"stand-in-model\"", Encoding.UTF8.GetString(fleet.Apis.Requests.Last().Body));
        await AssertError(await portal.Client.SendAsync(Post("/api/services/pose/pull")), 409, "no_pull_endpoint");
        await AssertError(await portal.Client.SendAsync(Post("/api/services/ollama/pull", new StringContent("""{"model":"a b"}""", Encoding.UTF8, "application/json"))), 400, "invalid_model");
    }

    [Fact]
    public async Task Garbage_on_every_endpoint_is_a_4xx_json_error()
    {
        var names = new[] { "..%2F..%2Fetc", "hailo-POSE!", new string('a', 300), "%20pose", "hailo-", "nginx" };
        foreach (var n in names)
        {
            foreach (var (method, path) in new[] { ("GET", "metrics"), ("GET", "logs"), ("POST", "stop"), ("POST", "start"), ("POST", "pull"), ("POST", "try") })
            {
                var m = method == "GET" ? new HttpRequestMessage(HttpMethod.Get, $"/api/services/{n}/{path}") : Post($"/api/services/{n}/{path}");
                var r = await portal.Client.SendAsync(m);
                var status = (int)r.StatusCode;
                var text = await r.Content.ReadAsStringAsync();
                Assert.True(status is >= 400 and < 500, $"{method} {n}/{path}: {status} {text}");
                Assert.True(text.StartsWith("{\"error\":", StringComparison.Ordinal), $"{method} {n}/{path}: {status} '{text}'");
            }
        }
        await AssertError(await portal.Client.SendAsync(Post("/api/services/pose/explode")), 404, "not_found");
        foreach (var body in new[] { "{", "[]", "{\"model\":5}", "\"x\"", "{\"model\":\"" + new string('m', 300) + "\"}" })
        {
            var r = await portal.Client.SendAsync(Post("/api/services/ollama/pull", new StringContent(body, Encoding.UTF8, "application/json")));
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        }
        await AssertError(await portal.Client.SendAsync(Post("/api/services/ollama/pull", new StringContent("{}", Encoding.UTF8, "text/plain"))), 415, "unsupported_media_type");
        foreach (var body in new[] { "{", "[]", "{\"token\":1}" })
        {
            var r = await portal.Client.PostAsync("/api/login", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        }
        await AssertError(await portal.Client.PostAsync("/api/login", new StringContent("token=x", Encoding.UTF8, "application/x-www-form-urlencoded")), 415, "unsupported_media_type");
        await AssertError(await portal.Client.GetAsync("/api/nothing"), 404, "not_found");
        var delete = new HttpRequestMessage(HttpMethod.Delete, "/api/services");
        await AssertError(await portal.Client.SendAsync(delete), 403, "csrf_token_invalid");
        delete = new HttpRequestMessage(HttpMethod.Delete, "/api/services");
        delete.Headers.Add("X-CSRF-Token", csrf);
        await AssertError(await portal.Client.SendAsync(delete), 405, "method_not_allowed");
        Assert.Equal(HttpStatusCode.OK, (await portal.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Openapi_lists_the_portal_api()
    {
        var doc = await OpenApiDocument.FetchAndAssertValid(portal.Client, ["/api/session", "/api/login", "/api/services", "/api/services/{name}/{action}",
            "/api/services/{name}/logs", "/api/services/{name}/metrics", "/api/services/{name}/pull", "/api/services/{name}/try"]);
        Assert.Equal("hailo-portal", doc.GetProperty("info").GetProperty("title").GetString());
    }

    [Fact]
    public void Shipped_config_equals_the_defaults_and_comments_every_key()
    {
        ShippedConfig.AssertEqualsDefaults(PortalService.Definition);
        ShippedConfig.AssertEveryKeyCommented(PortalService.Definition);
    }
}

/// <summary>The token: required beyond loopback (generated when none is set), accepted as a bearer header or the session cookie.</summary>
public sealed class PortalTokenTests : IAsyncLifetime
{
    private Fleet fleet = null!;

    public async Task InitializeAsync() => fleet = await Fleet.StartAsync();

    public async Task DisposeAsync() => await fleet.DisposeAsync();

    [Fact]
    public void Widened_without_a_token_one_is_generated_in_the_state_directory_mode_0600()
    {
        var c = fleet.Config();
        c.Server.Host = "0.0.0.0";
        PortalService.EnsureToken(c);
        var file = Path.Combine(fleet.Dir, "state", "token");
        Assert.Equal(file, c.Server.AuthTokenFile);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var token = c.Server.ReadToken()!;
        Assert.True(token.Length >= 40);
        // The next start keeps it.
        var again = fleet.Config();
        again.Server.Host = "192.0.2.7";
        PortalService.EnsureToken(again);
        Assert.Equal(token, again.Server.ReadToken());
        // Loopback needs none; a configured token is used as it is.
        var loopback = fleet.Config();
        PortalService.EnsureToken(loopback);
        Assert.Null(loopback.Server.ReadToken());
        var set = fleet.Config();
        set.Server.Host = "0.0.0.0";
        set.Server.AuthToken = "configured";
        PortalService.EnsureToken(set);
        Assert.Equal("configured", set.Server.ReadToken());
    }

    [Fact]
    public void Widened_without_a_token_and_no_place_for_one_refuses_to_start()
    {
        var c = fleet.Config();
        c.Server.Host = "0.0.0.0";
        c.Portal.StateDir = "/proc/hailo-portal-cannot-be-here";
        var e = Assert.Throws<ConfigException>(() => PortalService.EnsureToken(c));
        Assert.Contains("needs a bearer token", e.Message);
    }

    [Fact]
    public async Task With_a_token_the_api_needs_it_the_page_does_not_and_login_sets_a_strict_cookie()
    {
        var c = fleet.Config();
        c.Server.AuthToken = "s3cret-token";
        await using var portal = await RunningService.StartAsync(PortalService.Definition, c);
        // No cookie jar: each request carries exactly the cookie the test gives it.
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = portal.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/assets/app.js")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/session")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/services")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/api/login", new StringContent("""{"token":"wrong"}""", Encoding.UTF8, "application/json"))).StatusCode);
        var login = await http.PostAsync("/api/login", new StringContent("""{"token":"s3cret-token"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, login.StatusCode);
        var cookie = login.Headers.GetValues("Set-Cookie").Single();
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        var withCookie = new HttpRequestMessage(HttpMethod.Get, "/api/services");
        withCookie.Headers.Add("Cookie", cookie.Split(';')[0]);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(withCookie)).StatusCode);
        var bearer = new HttpRequestMessage(HttpMethod.Get, "/api/session");
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret-token");
        var session = await http.SendAsync(bearer);
        Assert.True(JsonDocument.Parse(await session.Content.ReadAsStringAsync()).RootElement.GetProperty("auth_required").GetBoolean());
        var badCookie = new HttpRequestMessage(HttpMethod.Get, "/api/services");
        badCookie.Headers.Add("Cookie", PortalService.SessionCookie + "=s3cret-tokeX");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(badCookie)).StatusCode);
    }
}
