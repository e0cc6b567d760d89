using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hailo.Hosting.Config;
using Hailo.Hosting.Http;
using Hailo.TestSupport;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>
/// What keeps browsers and other strangers out: the Host check (DNS rebinding), the Origin check and CORS preflights,
/// the JSON content-type requirement, the bearer token's config, human JSON errors and bounded metric labels.
/// </summary>
public sealed class SecurityTests
{
    private static async Task<RunningService> Start(Action<TestConfig>? edit = null, bool jsonUnderAnyContentType = false,
        Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? customize = null)
    {
        var config = new TestConfig();
        config.Models.Preload = false;
        edit?.Invoke(config);
        return await RunningService.StartAsync(TestService.Create(new FakeModelControl(), jsonUnderAnyContentType), config, customize);
    }

    private static HttpRequestMessage Get(string path, string? host = null, string? origin = null)
    {
        var r = new HttpRequestMessage(HttpMethod.Get, path);
        if (host is not null) r.Headers.Host = host;
        if (origin is not null) r.Headers.Add("Origin", origin);
        return r;
    }

    private static HttpRequestMessage Post(string path, string body, string contentType, string? origin = null)
    {
        var r = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        r.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (origin is not null) r.Headers.Add("Origin", origin);
        return r;
    }

    private static async Task<(string Code, string Message)> Error(HttpResponseMessage r, HttpStatusCode status)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(status == r.StatusCode, $"expected {(int)status}, got {(int)r.StatusCode}: {text}");
        var e = JsonDocument.Parse(text).RootElement.GetProperty("error");
        return (e.GetProperty("code").GetString()!, e.GetProperty("message").GetString()!);
    }

    // ---- Host ----

    [Theory]
    [InlineData("localhost")]
    [InlineData("LOCALHOST:11434")]
    [InlineData("127.0.0.1")]
    [InlineData("127.9.8.7:80")]
    [InlineData("[::1]:8080")]
    [InlineData("app.localhost")]
    [InlineData("raspberrypi.local")]
    [InlineData("nas.internal")]
    [InlineData("192.168.1.20:11434")]
    [InlineData("10.0.0.5")]
    public async Task Local_host_names_and_addresses_are_answered(string host)
    {
        await using var s = await Start();
        var r = await s.Client.SendAsync(Get("/health", host));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:11434")]
    [InlineData("localhost.evil.example")]
    [InlineData("203.0.113.9")]
    public async Task A_rebound_name_is_refused_with_a_json_403(string host)
    {
        await using var s = await Start();
        foreach (var path in new[] { "/health", "/metrics", "/shape" })
        {
            var (code, message) = await Error(await s.Client.SendAsync(Get(path, host)), HttpStatusCode.Forbidden);
            Assert.Equal("forbidden_host", code);
            Assert.Contains("server.allowed_hosts", message);
        }
    }

    [Fact]
    public async Task The_machine_name_and_configured_hosts_are_answered()
    {
        await using var s = await Start(c => c.Server.AllowedHosts = ["pi.example.com", "*.lan.example"]);
        foreach (var host in new[] { Environment.MachineName, "pi.example.com", "PI.example.com:11434", "a.lan.example", "b.c.lan.example" })
            Assert.Equal(HttpStatusCode.OK, (await s.Client.SendAsync(Get("/health", host))).StatusCode);
        foreach (var host in new[] { "other.example.com", "lan.example.evil", "xlan.example" })
            Assert.Equal(HttpStatusCode.Forbidden, (await s.Client.SendAsync(Get("/health", host))).StatusCode);
    }

    [Fact]
    public async Task Allowed_hosts_star_answers_any_name()
    {
        await using var s = await Start(c => c.Server.AllowedHosts = ["*"]);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.SendAsync(Get("/health", "evil.example"))).StatusCode);
    }

    [Fact]
    public void The_machines_own_addresses_and_the_bound_one_are_hosts_of_it_public_others_are_not()
    {
        IPAddress[] mine = [IPAddress.Parse("203.0.113.5"), IPAddress.Parse("2001:db8::5")];
        var anyBound = new BrowserGuard(new ServerConfig { Host = "0.0.0.0" }, () => mine);
        Assert.True(anyBound.HostAllowed("203.0.113.5"));
        Assert.True(anyBound.HostAllowed("[2001:db8::5]"));
        Assert.True(anyBound.HostAllowed("0.0.0.0"));
        Assert.False(anyBound.HostAllowed("203.0.113.6"));
        Assert.False(anyBound.HostAllowed("[2001:db8::6]"));
        var specific = new BrowserGuard(new ServerConfig { Host = "198.51.100.7" }, () => []);
        Assert.True(specific.HostAllowed("198.51.100.7"));
        Assert.False(specific.HostAllowed("198.51.100.8"));
        Assert.True(specific.HostAllowed("")); // HTTP/1.0 sends none
    }

    // ---- Origin and CORS ----

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("http://localhost.evil.example")]
    [InlineData("null")]
    [InlineData("chrome-extension://abcdef")]
    public async Task A_foreign_origin_is_refused_even_for_a_simple_request(string origin)
    {
        await using var s = await Start();
        // text/plain is what a page may send anywhere without a preflight.
        var (code, message) = await Error(await s.Client.SendAsync(Post("/shape", "{\"name\":\"x\"}", "text/plain", origin)), HttpStatusCode.Forbidden);
        Assert.Equal("forbidden_origin", code);
        Assert.Contains("server.allowed_origins", message);
        (code, _) = await Error(await s.Client.SendAsync(Post("/shape", "{\"name\":\"x\"}", "application/json", origin)), HttpStatusCode.Forbidden);
        Assert.Equal("forbidden_origin", code);
        var preflight = Preflight("/shape", origin);
        var r = await s.Client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.False(r.Headers.Contains("Access-Control-Allow-Origin"));
    }

    private static HttpRequestMessage Preflight(string path, string origin)
    {
        var r = new HttpRequestMessage(HttpMethod.Options, path);
        r.Headers.Add("Origin", origin);
        r.Headers.Add("Access-Control-Request-Method", "POST");
        r.Headers.Add("Access-Control-Request-Headers", "authorization, content-type, x-stainless-os");
        return r;
    }

    [Theory]
    [InlineData("http://localhost")]
    [InlineData("http://localhost:3000")]
    [InlineData("https://127.0.0.1:8443")]
    [InlineData("http://0.0.0.0:5173")]
    [InlineData("app://obsidian.md")]
    [InlineData("file://")]
    [InlineData("tauri://localhost")]
    [InlineData("vscode-webview://1234abcd")]
    public async Task Local_origins_get_preflights_answered_and_readable_responses(string origin)
    {
        await using var s = await Start(c => c.Server.AuthToken = "s3cret"); // a preflight carries no token
        var pre = await s.Client.SendAsync(Preflight("/shape", origin));
        Assert.Equal(HttpStatusCode.NoContent, pre.StatusCode);
        Assert.Equal(origin, pre.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", pre.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Contains("authorization", pre.Headers.GetValues("Access-Control-Allow-Headers").Single());
        Assert.Contains("Origin", pre.Headers.Vary);

        var post = Post("/shape", "{\"name\":\"x\",\"count\":2}", "application/json", origin);
        post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        var r = await s.Client.SendAsync(post);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(origin, r.Headers.GetValues("Access-Control-Allow-Origin").Single());
        // Errors are readable by the page too (the error writer clears headers set before it).
        var e = await s.Client.SendAsync(Get("/nope", origin: origin));
        Assert.Equal(HttpStatusCode.Unauthorized, e.StatusCode);
        Assert.Equal(origin, e.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task Configured_origins_follow_ollama_origins_wildcards()
    {
        await using (var s = await Start(c => c.Server.AllowedOrigins = ["https://*.example.com", "chrome-extension://*"]))
        {
            foreach (var ok in new[] { "https://app.example.com", "https://a.b.example.com", "chrome-extension://abc", "http://localhost:1" })
                Assert.Equal(HttpStatusCode.NoContent, (await s.Client.SendAsync(Preflight("/shape", ok))).StatusCode);
            foreach (var no in new[] { "http://app.example.com", "https://example.com.evil", "https://evil.example" })
                Assert.Equal(HttpStatusCode.Forbidden, (await s.Client.SendAsync(Preflight("/shape", no))).StatusCode);
        }
        await using (var s = await Start(c => c.Server.AllowedOrigins = ["*"]))
            Assert.Equal(HttpStatusCode.NoContent, (await s.Client.SendAsync(Preflight("/shape", "https://anything.example"))).StatusCode);
    }

    // ---- content type ----

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task A_json_endpoint_refuses_the_simple_request_content_types(string contentType)
    {
        await using var s = await Start();
        var (code, message) = await Error(await s.Client.SendAsync(Post("/shape", "{\"name\":\"x\"}", contentType)), HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("unsupported_media_type", code);
        Assert.Contains("application/json", message);
        var ok = await s.Client.SendAsync(Post("/shape", "{\"name\":\"x\"}", "application/json; charset=utf-8"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task Curl_style_bodies_are_read_as_json_only_from_non_browsers_where_the_service_allows_it()
    {
        await using var s = await Start(jsonUnderAnyContentType: true);
        // curl -d labels JSON as form-encoded; it sends no Origin.
        Assert.Equal(HttpStatusCode.OK, (await s.Client.SendAsync(Post("/shape", "{\"name\":\"x\"}", "application/x-www-form-urlencoded"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.SendAsync(Post("/shape", "{\"name\":\"x\"}", "text/plain"))).StatusCode);
        // A page of an allowed origin must say application/json (and so go through a preflight).
        var (code, _) = await Error(await s.Client.SendAsync(Post("/shape", "{\"name\":\"x\"}", "text/plain", "http://localhost:3000")), HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("unsupported_media_type", code);
    }

    // ---- JSON errors ----

    public static TheoryData<string, string> BadJson => new()
    {
        { "{\"name\": \"a\", \"nope\": 1}", "unknown field 'nope' (accepted: name, threshold, count, tags, flag, options)" },
        { "{\"options\": {\"size\": 1, \"colour\": 2}}", "unknown field 'options.colour' (accepted: size)" },
        { "{\"threshold\": \"high\"}", "field 'threshold' must be a number, not a string" },
        { "{\"count\": 1.5}", "field 'count' must be a whole number, not a fraction" },
        { "{\"flag\": \"yes\"}", "field 'flag' must be true or false, not a string" },
        { "{\"tags\": [\"a\", 2]}", "field 'tags[1]' must be a string, not a number" },
        { "{\"tags\": \"a\"}", "field 'tags' must be an array, not a string" },
        { "{\"options\": 3}", "field 'options' must be an object, not a number" },
        { "{\"name\": \"a\"", "the body is not valid JSON at line 1, column 13 (it ends before the JSON is complete)" },
        { "{\"name\": \"abc", "the body is not valid JSON at line 1, column 14 (it ends before the JSON is complete)" },
        { "{\n  \"name\": x\n}", "the body is not valid JSON at line 2, column 11" },
        { "{\"name\": \"a\",}", "the body is not valid JSON at line 1, column 14" },
        { "hello", "the body is not valid JSON at line 1, column 1" },
        { "", "the body is empty; send a JSON object" },
        { "[1, 2]", "the body must be a JSON object, not an array" },
        { "null", "the body must be a JSON object (accepted: name, threshold, count, tags, flag, options), not null" },
    };

    [Theory]
    [MemberData(nameof(BadJson))]
    public async Task Bad_json_is_a_400_that_says_what_is_wrong_in_words(string body, string expected)
    {
        await using var s = await Start();
        var (code, message) = await Error(await s.Client.SendAsync(Post("/shape", body, "application/json")), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_json", code);
        Assert.Equal(expected, message);
        HumanErrors.AssertHuman(message);
    }

    [Theory]
    [InlineData(null)]          // chunked: from a 4 KB pooled array up past the pooled limit into native memory
    [InlineData(3_000_001L)]    // announced: native memory from the start
    [InlineData(100L)]          // announced too small: grows
    public void A_body_buffer_keeps_every_byte_in_order_as_it_grows(long? announced)
    {
        var data = new byte[3_000_001];
        new Random(7).NextBytes(data);
        using var buffer = new BodyBuffer(announced);
        var at = 0;
        for (var size = 1; at < data.Length; size = size * 3 % 70_001 + 1)
        {
            var n = Math.Min(size, data.Length - at);
            buffer.Append(data.AsSpan(at, n));
            at += n;
        }
        Assert.Equal(data.Length, buffer.Length);
        Assert.True(buffer.Span.SequenceEqual(data));
    }

    [Fact]
    public void Explaining_a_refused_body_of_megabytes_does_not_allocate_its_size()
    {
        // A well-formed body that does not fit: half a million items and a long text, and the fault at its very end.
        // Explaining it walks the body once; a parsed document of it costs several times its size on the large object
        // heap, which a client sending such bodies in a loop turned into hundreds of megabytes of resident memory.
        var tags = string.Join(",", Enumerable.Repeat("\"x\"", 500_000));
        var body = Encoding.UTF8.GetBytes($"{{\"name\":\"{new string('a', 1 << 20)}\",\"tags\":[{tags}],\"options\":{{\"size\":2}},\"count\":1.5}}");
        var type = TestJson.Default.ShapeRequest;
        var e = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(body, type));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var explained = JsonBody.Explain(body, type, e);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(("field 'count' must be a whole number, not a fraction", "count"), explained);
        Assert.True(allocated < 256 << 10, $"explaining a body of {body.Length:N0} bytes allocated {allocated:N0} bytes");
    }

    [Theory]
    [InlineData("{\"\xE3magSe\":\"a\"}", 2)]      // a bad byte in an unknown field's name (the fuzzer's 500)
    [InlineData("{\"name\":\"ab\xFF\"}", 11)]     // in a value the type accepts
    [InlineData("{\"tags\":[\"\xC3\"]}", 10)]      // a truncated two-byte sequence
    public async Task A_body_that_is_not_UTF_8_is_a_400_naming_the_byte(string latin1, int at)
    {
        await using var s = await Start();
        var bytes = Encoding.Latin1.GetBytes(latin1);
        var request = new HttpRequestMessage(HttpMethod.Post, "/shape") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json");
        var (code, message) = await Error(await s.Client.SendAsync(request), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_json", code);
        Assert.Equal($"the body is not valid UTF-8 (byte {at}); JSON text must be UTF-8", message);
    }

    [Fact]
    public async Task The_field_at_fault_is_the_param()
    {
        await using var s = await Start();
        var r = await s.Client.SendAsync(Post("/shape", "{\"threshold\": \"high\"}", "application/json"));
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        Assert.Equal("threshold", doc.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    // ---- metrics ----

    [Fact]
    public async Task Metric_labels_stay_bounded_whatever_method_a_client_invents()
    {
        await using var s = await Start();
        for (var i = 0; i < 5; i++)
        {
            await s.Client.SendAsync(new HttpRequestMessage(new HttpMethod($"FOOBAR{Guid.NewGuid():N}"), "/health"));
            await s.Client.SendAsync(new HttpRequestMessage(new HttpMethod($"X{i}"), $"/random/{Guid.NewGuid():N}"));
        }
        await s.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/health"));
        var text = await s.Client.GetStringAsync("/metrics");
        Assert.DoesNotContain("FOOBAR", text);
        Assert.DoesNotContain("/random/", text);
        var series = text.Split('\n').Where(l => l.StartsWith("hailo_http_requests_total{", StringComparison.Ordinal)).ToList();
        Assert.All(series, l => Assert.Matches("method=\"(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|other)\"", l));
        Assert.Contains("hailo_http_requests_total{service=\"hailo-test\",method=\"other\",route=\"unmatched\",status=\"404\"} 5", text);
        Assert.Contains("hailo_http_requests_total{service=\"hailo-test\",method=\"other\",route=\"unmatched\",status=\"405\"} 5", text);
        Assert.True(series.Count <= 4, string.Join("\n", series)); // those two, GET /health and GET /metrics
    }

    // ---- auth ----

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("   \nsecond-line-token\n")]
    [InlineData(" \t ")]
    public void A_blank_token_file_is_a_config_error_not_auth_off(string content)
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, content);
        try
        {
            var e = Assert.Throws<ConfigException>(() => ServiceHost.LoadConfig(TestService.Create(new FakeModelControl()),
                CommandLine.Parse(["--config", "/dev/null", "--server.auth_token_file", file]), new System.Collections.Hashtable()));
            Assert.Contains("server.auth_token_file", e.Message);
            Assert.Contains("empty", e.Message);
            // A config that escaped validation (the file emptied after the check) still does not start without auth.
            var config = new TestConfig();
            config.Server.AuthTokenFile = file;
            Assert.Throws<ConfigException>(() => ServiceHost.Build(TestService.Create(new FakeModelControl()), config));
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void A_whitespace_token_is_a_config_error()
    {
        var e = Assert.Throws<ConfigException>(() => ServiceHost.LoadConfig(TestService.Create(new FakeModelControl()),
            CommandLine.Parse(["--config", "/dev/null", "--server.auth_token", "   "]), new System.Collections.Hashtable()));
        Assert.Contains("server.auth_token: is only whitespace", e.Message);
    }

    [Fact]
    public async Task The_start_log_says_whether_auth_is_on_and_never_shows_the_token()
    {
        var logs = new CapturingLogs();
        await using (await Start(c => c.Server.AuthToken = "t0ken-value", customize: b => b.Logging.AddProvider(logs))) { }
        Assert.Contains(logs.Lines, l => l.Contains("auth on", StringComparison.Ordinal) && l.Contains("server.auth_token", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains("t0ken-value", StringComparison.Ordinal));

        var off = new CapturingLogs();
        await using (await Start(customize: b => b.Logging.AddProvider(off))) { }
        Assert.Contains(off.Lines, l => l.Contains("auth off", StringComparison.Ordinal));
    }

    // ---- config of the new keys ----

    [Fact]
    public void Allowed_hosts_and_origins_are_validated_and_misspellings_suggested()
    {
        static ConfigException Fails(params string[] args) => Assert.Throws<ConfigException>(() =>
            ServiceHost.LoadConfig(TestService.Create(new FakeModelControl()), CommandLine.Parse(["--config", "/dev/null", .. args]), new System.Collections.Hashtable()));
        Assert.Contains("did you mean 'allowed_hosts'", Fails("--server.allowed_host", "x").Message);
        Assert.Contains("did you mean 'allowed_origins'", Fails("--server.allowed_origin", "x").Message);
        Assert.Contains("server.allowed_hosts: 'http://pi.example.com' is not a host name", Fails("--server.allowed_hosts", "http://pi.example.com").Message);
        Assert.Contains("server.allowed_origins: 'app.example.com' is not an origin", Fails("--server.allowed_origins", "app.example.com").Message);
        Assert.Contains("has more than one '*'", Fails("--server.allowed_origins", "https://*.*.example.com").Message);
        Assert.Contains("has a path", Fails("--server.allowed_origins", "https://app.example.com/").Message);
        var ok = ServiceHost.LoadConfig(TestService.Create(new FakeModelControl()),
            CommandLine.Parse(["--config", "/dev/null", "--server.allowed_hosts", "pi.example.com,*.lan,192.0.2.7", "--server.allowed_origins", "https://*.example.com,http://localhost:*"]),
            new System.Collections.Hashtable());
        Assert.Equal(["pi.example.com", "*.lan", "192.0.2.7"], ok.Server.AllowedHosts);
        Assert.Equal(["https://*.example.com", "http://localhost:*"], ok.Server.AllowedOrigins);
    }

    private sealed class CapturingLogs : ILoggerProvider
    {
        private readonly List<string> _lines = [];
        public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }
        public ILogger CreateLogger(string categoryName) => new Logger(this);
        public void Dispose() { }

        private sealed class Logger(CapturingLogs owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._lines) owner._lines.Add(formatter(state, exception));
            }
        }
    }
}
