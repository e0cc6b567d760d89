using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.TestSupport;
using Xunit;

namespace Hailo.Hosting.Tests;

public sealed class HttpBehaviourTests
{
    private static async Task<RunningService> Start(FakeModelControl? control = null, Action<TestConfig>? edit = null)
    {
        var config = new TestConfig();
        config.Models.Preload = false;
        edit?.Invoke(config);
        return await RunningService.StartAsync(TestService.Create(control ?? new FakeModelControl()), config);
    }

    private static async Task<(string Code, string Message, int Status)> Error(HttpResponseMessage r)
    {
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        var e = doc.RootElement.GetProperty("error");
        return (e.GetProperty("code").GetString()!, e.GetProperty("message").GetString()!, e.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Unknown_route_and_wrong_method_answer_json()
    {
        await using var s = await Start();
        var r = await s.Client.GetAsync("/nope");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal(("not_found", 404), ((await Error(r)).Code, (await Error(r)).Status));
        r = await s.Client.GetAsync("/echo");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
        Assert.Equal("method_not_allowed", (await Error(r)).Code);
    }

    [Fact]
    public async Task Unhandled_exception_is_a_500_without_internals()
    {
        await using var s = await Start();
        var r = await s.Client.GetAsync("/boom");
        Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
        var body = await r.Content.ReadAsStringAsync();
        Assert.DoesNotContain("secret internal detail", body);
        Assert.DoesNotContain("at Hailo", body);
        Assert.Equal("internal_error", (await Error(r)).Code);
    }

    [Fact]
    public async Task Api_exception_keeps_status_code_and_retry_after()
    {
        await using var s = await Start();
        var r = await s.Client.GetAsync("/teapot");
        Assert.Equal(418, (int)r.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), r.Headers.RetryAfter?.Delta);
        Assert.Equal(("teapot", "I am a teapot", 418), await Error(r));
    }

    [Theory]
    [InlineData("invalid", 400)]
    [InlineData("toolarge", 413)]
    [InlineData("unsupported", 415)]
    public async Task A_host_agnostic_rejection_is_its_http_status_with_code_message_and_field(string kind, int status)
    {
        await using var s = await Start();
        var r = await s.Client.GetAsync($"/rejected/{kind}");
        Assert.Equal(status, (int)r.StatusCode);
        Assert.Equal(($"{kind}_input", $"the input is {kind}", status), await Error(r));
        using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        Assert.Equal("file", doc.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Body_over_the_endpoint_limit_is_413_naming_the_limit()
    {
        await using var s = await Start();
        var r = await s.Client.PostAsync("/upload", new ByteArrayContent(new byte[5000]) { Headers = { ContentType = new("application/octet-stream") } });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        var (code, message, _) = await Error(r);
        Assert.Equal("body_too_large", code);
        Assert.Contains("4 KiB", message);

        // Without Content-Length (chunked) the limit is enforced while reading. A raw socket sends one 5000-byte
        // chunk and waits, so the server has consumed everything it was sent when it answers (no reset race).
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(s.BaseAddress.Host, s.BaseAddress.Port);
            var stream = tcp.GetStream();
            var head = $"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n{5000:x}\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(new byte[5000]);
            await stream.WriteAsync("\r\n"u8.ToArray());
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.StartsWith("HTTP/1.1 413", response);
            Assert.Contains("\"code\":\"body_too_large\"", response);
            Assert.Contains("4 KiB", response);
        }

        r = await s.Client.PostAsync("/upload", new ByteArrayContent(new byte[4000]) { Headers = { ContentType = new("application/octet-stream") } });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task Wrong_content_type_is_415_listing_accepted_types()
    {
        await using var s = await Start();
        var r = await s.Client.PostAsync("/echo", new StringContent("text=hi", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        var (code, message, _) = await Error(r);
        Assert.Equal("unsupported_media_type", code);
        Assert.Contains("application/json", message);
    }

    [Fact]
    public async Task A_huge_field_name_or_content_type_is_quoted_not_sent_back_whole()
    {
        await using var s = await Start();
        var name = new string('n', 400_000);
        var r = await s.Client.PostAsync("/shape", new StringContent($"{{\"{name}\":1}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(body.Length < 2 * ClientText.MessageLength, $"the error body is {body.Length} characters");
        using (var doc = JsonDocument.Parse(body))
        {
            var e = doc.RootElement.GetProperty("error");
            Assert.Contains($"unknown field '{new string('n', ClientText.QuoteLength)}… ({name.Length} characters)'", e.GetProperty("message").GetString());
            Assert.True(e.GetProperty("param").GetString()!.Length < 2 * ClientText.QuoteLength);
        }

        var req = new HttpRequestMessage(HttpMethod.Post, "/shape") { Content = new ByteArrayContent("{}"u8.ToArray()) };
        req.Content.Headers.TryAddWithoutValidation("Content-Type", "text/" + new string('x', 16_000));
        r = await s.Client.SendAsync(req);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        Assert.True((await Error(r)).Message.Length <= ClientText.MessageLength);
    }

    [Fact]
    public async Task A_json_body_is_read_whole_with_or_without_a_content_length()
    {
        await using var s = await Start();
        // 200 KB of JSON (a pooled array, past the first 4 KB one when the length is not announced) and 3 MB (native
        // memory, grown from a pooled array when chunked), read in many segments.
        foreach (var (chunked, characters) in new[] { (true, 100_000), (false, 100_000), (true, 1_500_000), (false, 1_500_000) })
        {
            var name = new string('é', characters);
            var json = $"{{\"name\":\"{name}\",\"count\":7}}";
            HttpContent content = chunked
                ? new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json)))
                : new ByteArrayContent(Encoding.UTF8.GetBytes(json));
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            if (chunked) content.Headers.ContentLength = null;
            var req = new HttpRequestMessage(HttpMethod.Post, "/shape") { Content = content };
            if (chunked) req.Headers.TransferEncodingChunked = true;
            var r = await s.Client.SendAsync(req);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            using var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
            Assert.Equal(name, doc.RootElement.GetProperty("text").GetString());
            Assert.Equal(7, doc.RootElement.GetProperty("length").GetInt32());
        }
    }

    [Fact]
    public void Client_text_is_cut_without_splitting_a_character()
    {
        Assert.Equal("short", ClientText.Quote("short"));
        Assert.Equal("", ClientText.Quote(null));
        var emoji = new string('a', ClientText.QuoteLength - 1) + "\ud83d\ude00tail";
        Assert.Equal(new string('a', ClientText.QuoteLength - 1) + $"… ({emoji.Length} characters)", ClientText.Quote(emoji));
        Assert.Equal("a, b and 2 more", ClientText.List(["a", "b", "c", "d"], 2));
        var message = ClientText.Cap(new string('m', 5000));
        Assert.Equal(ClientText.MessageLength + 1, message.Length);
        Assert.EndsWith("…", message);
        Assert.Equal(ClientText.MessageLength + 1, new Hailo.Hosting.Http.ApiException(400, "x", new string('m', 5000)).Message.Length);
    }

    [Fact]
    public async Task Malformed_json_to_a_typed_endpoint_is_a_json_400()
    {
        await using var s = await Start();
        var r = await s.Client.PostAsync("/echo", new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal(400, (await Error(r)).Status);
    }

    [Fact]
    public async Task Bearer_token_guards_everything_but_health()
    {
        await using var s = await Start(edit: c => c.Server.AuthToken = "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync("/health/ready")).StatusCode);
        var r = await s.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("Bearer", r.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("unauthorized", (await Error(r)).Code);
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.GetAsync("/openapi/v1.json")).StatusCode);

        var wrong = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "s3cre") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.SendAsync(wrong)).StatusCode);
        var right = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "s3cret") } };
        Assert.Equal(HttpStatusCode.OK, (await s.Client.SendAsync(right)).StatusCode);
    }

    [Fact]
    public async Task Token_can_come_from_a_file()
    {
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "from-file\nignored second line\n");
        try
        {
            await using var s = await Start(edit: c => c.Server.AuthTokenFile = file);
            var req = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "from-file") } };
            Assert.Equal(HttpStatusCode.OK, (await s.Client.SendAsync(req)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await s.Client.GetAsync("/metrics")).StatusCode);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public async Task Health_reports_a_missing_model_with_the_command_that_fixes_it()
    {
        var control = new FakeModelControl { Missing = true };
        await using var s = await Start(control, c => c.Models.Preload = true);
        await s.StartupCompleted;
        var r = await s.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        using (var doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync()))
        {
            var root = doc.RootElement;
            Assert.False(root.GetProperty("ready").GetBoolean());
            Assert.Equal("degraded", root.GetProperty("status").GetString());
            Assert.Equal("missing", root.GetProperty("models")[0].GetProperty("state").GetString());
            Assert.Equal("sudo -u hailo-test hailo-test pull fake-model", root.GetProperty("fix").GetString());
        }
        var run = await s.Client.PostAsync("/run", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, run.StatusCode);
        Assert.NotNull(run.Headers.RetryAfter);
        var (code, message, _) = await Error(run);
        Assert.Equal("model_missing", code);
        Assert.Contains("pull fake-model", message);

        // Once the files appear, the next request loads the model without a restart.
        control.Missing = false;
        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/run", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Failed_load_is_retried_after_the_back_off()
    {
        var control = new FakeModelControl { Fail = true };
        await using var s = await Start(control);
        var r = await s.Client.PostAsync("/run", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("corrupt model file", (await Error(r)).Message);
        r = await s.Client.PostAsync("/run", null); // within the back-off: no new load attempt
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Equal(1, control.Loads);
        control.Fail = false;
        await Task.Delay(300);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/run", null)).StatusCode);
        Assert.Equal(2, control.Loads);
    }

    [Fact]
    public async Task Backend_fault_drops_the_model_answers_503_and_recovers_by_reloading()
    {
        var control = new FakeModelControl();
        await using var s = await Start(control);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/run", null)).StatusCode);
        control.DeviceLost = true;
        var r = await s.Client.PostAsync("/run", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.NotNull(r.Headers.RetryAfter);
        var (code, message, _) = await Error(r);
        Assert.Equal("backend_fault", code);
        Assert.Contains("device lost (simulated)", message);
        var health = await s.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("device lost", await health.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await s.Client.PostAsync("/run", null)).StatusCode); // within the back-off
        Assert.Equal(1, control.Loads);

        control.DeviceLost = false;
        await Task.Delay(300);
        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/run", null)).StatusCode);
        Assert.Equal(2, control.Loads); // recovered by reloading, without a restart
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Full_queue_answers_503_with_retry_after()
    {
        var control = new FakeModelControl { RunGate = new SemaphoreSlim(0) };
        await using var s = await Start(control, c => c.Server.MaxQueuedRequests = 1);
        var first = s.Client.PostAsync("/run", null);   // holds the model
        await WaitFor(() => s.App.Services.GetService(typeof(ServiceState)) is ServiceState st && st.OldestWorkAge > TimeSpan.Zero);
        var second = s.Client.PostAsync("/run", null);  // waits in the queue
        var slot = (ModelSlot<FakeModel>)s.App.Services.GetService(typeof(ModelSlot<FakeModel>))!;
        await WaitFor(() => slot.QueueLength == 1);
        var third = await s.Client.PostAsync("/run", null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.StatusCode);
        Assert.Equal("queue_full", (await Error(third)).Code);
        Assert.Equal(TimeSpan.FromSeconds(1), third.Headers.RetryAfter?.Delta);
        control.RunGate.Release(2);
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second).StatusCode);
        var metrics = await s.Client.GetStringAsync("/metrics");
        Assert.Contains("hailo_requests_rejected_total{service=\"hailo-test\",model=\"fake-model\"} 1", metrics);
    }

    [Fact]
    public async Task A_client_leaving_a_started_stream_is_counted_as_499_not_an_error()
    {
        await using var s = await Start();
        using (var r = await s.Client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
            Assert.Equal("first line", await reader.ReadLineAsync());
        } // disposing the unread response closes the connection
        const string expected = "hailo_http_requests_total{service=\"hailo-test\",method=\"GET\",route=\"/stream\",status=\"499\"} 1";
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string text;
        do
        {
            await Task.Delay(50);
            text = await s.Client.GetStringAsync("/metrics");
        } while (!text.Contains(expected) && DateTime.UtcNow < deadline);
        Assert.Contains(expected, text);
        Assert.DoesNotContain("route=\"/stream\",status=\"200\"", text);
    }

    [Fact]
    public async Task Metrics_count_requests_by_route_and_status()
    {
        await using var s = await Start();
        await s.Client.GetAsync("/health");
        await s.Client.GetAsync("/nope");
        await s.Client.PostAsync("/run", null);
        var text = await s.Client.GetStringAsync("/metrics");
        Assert.Contains("hailo_http_requests_total{service=\"hailo-test\",method=\"GET\",route=\"/health\",status=\"200\"} 1", text);
        Assert.Contains("hailo_http_requests_total{service=\"hailo-test\",method=\"GET\",route=\"unmatched\",status=\"404\"} 1", text);
        Assert.Contains("hailo_http_request_duration_seconds_count{service=\"hailo-test\",route=\"/run\"} 1", text);
        Assert.Contains("hailo_model_load_seconds{service=\"hailo-test\",model=\"fake-model\"}", text);
        Assert.Contains("hailo_model_ready{service=\"hailo-test\",model=\"fake-model\",state=\"ready\"} 1", text);
        // Where managed memory is held: each part of the heap after the last collection, free space, committed.
        foreach (var part in new[] { "gen0", "gen1", "gen2", "loh", "poh" })
            Assert.Matches($@"(?m)^dotnet_gc_heap_size_after_gc_bytes\{{part=""{part}""\}} \d+$", text);
        Assert.Matches(@"(?m)^dotnet_gc_committed_bytes \d+$", text);
        Assert.Matches(@"(?m)^dotnet_gc_fragmented_bytes \d+$", text);
        Assert.Matches(@"(?m)^dotnet_gc_collections_total\{generation=""2""\} \d+$", text);
        Assert.Matches(@"(?m)^hailo_idle_memory_passes_total \d+$", text);
        Assert.Matches(@"process_resident_memory_bytes [1-9]\d+", text);
    }

    [Fact]
    public async Task OpenApi_document_lists_every_route()
    {
        await using var s = await Start();
        using var doc = JsonDocument.Parse(await s.Client.GetStringAsync("/openapi/v1.json"));
        Assert.StartsWith("3.1", doc.RootElement.GetProperty("openapi").GetString());
        var paths = doc.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToHashSet();
        var routes = OpenApiRoutes.Of(s.App);
        Assert.NotEmpty(routes);
        foreach (var route in routes) Assert.Contains(route, paths);
        Assert.True(doc.RootElement.GetProperty("components").GetProperty("schemas").TryGetProperty("EchoResponse", out _));
    }

    [Fact]
    public async Task A_service_group_tags_its_routes_and_documents_the_errors_of_a_route_with_a_body()
    {
        await using var s = await Start();
        using var doc = JsonDocument.Parse(await s.Client.GetStringAsync("/openapi/v1.json"));
        var paths = doc.RootElement.GetProperty("paths");
        var upload = paths.GetProperty("/grouped/upload").GetProperty("post");
        var info = paths.GetProperty("/grouped/info").GetProperty("get");
        Assert.Equal(["grouped"], upload.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(["grouped"], info.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var responses = upload.GetProperty("responses");
        Assert.Equal(["200", "400", "401", "413", "415", "503"], responses.EnumerateObject().Select(r => r.Name).Order(StringComparer.Ordinal));
        foreach (var status in new[] { "400", "401", "413", "415" })
            Assert.EndsWith("/ErrorEnvelope", responses.GetProperty(status).GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        // The route's own 503 stays as the route declared it.
        Assert.EndsWith("/EchoResponse", responses.GetProperty("503").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        // A route without a body gets the tag only.
        Assert.Equal(["200"], info.GetProperty("responses").EnumerateObject().Select(r => r.Name));
        // Outside the group nothing changes.
        Assert.False(paths.GetProperty("/upload").GetProperty("post").GetProperty("responses").TryGetProperty("415", out _));
    }

    [Fact]
    public async Task Shutdown_lets_an_in_flight_request_finish_and_disposes_the_model()
    {
        var control = new FakeModelControl { RunGate = new SemaphoreSlim(0) };
        var s = await Start(control);
        var inFlight = s.Client.PostAsync("/run", null);
        var state = (ServiceState)s.App.Services.GetService(typeof(ServiceState))!;
        await WaitFor(() => state.OldestWorkAge > TimeSpan.Zero);
        var stopping = s.App.StopAsync();
        await Task.Delay(200);
        Assert.True(state.Stopping);
        control.RunGate.Release();
        var r = await inFlight;
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        await stopping;
        var slot = (ModelSlot<FakeModel>)s.App.Services.GetService(typeof(ModelSlot<FakeModel>))!;
        await s.App.DisposeAsync();
        Assert.False(slot.IsLoaded);
    }

    internal static async Task WaitFor(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition());
    }
}
