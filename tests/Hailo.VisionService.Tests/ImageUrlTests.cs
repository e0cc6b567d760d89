using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Hailo.TestSupport;
using HailoVision;
using HailoVision.Engine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;
using static Hailo.VisionService.Tests.VisionFixture;

namespace Hailo.VisionService.Tests;

/// <summary>
/// A local image server (Kestrel on 127.0.0.1) and a second listener that only counts the connections it is offered,
/// plus hailo-vision on the fake VLM whose vision.image_urls allows the image server by its IP address (and
/// "localhost" by name, which must still be refused: it resolves to loopback).
/// </summary>
public sealed class ImageUrlFixture : IAsyncLifetime
{
    public WebApplication Images { get; private set; } = null!;
    public string Base { get; private set; } = "";
    public int Port { get; private set; }
    public ConcurrentQueue<string> Hits { get; } = new();
    public TcpListener Other { get; } = new(IPAddress.Loopback, 0);
    public int OtherConnections;
    public string ModelsDir { get; } = Directory.CreateTempSubdirectory("hailo-vision-url-test-").FullName;
    public RunningService Service { get; private set; } = null!;
    public const long MaxBytes = 200_000;

    public async Task InitializeAsync()
    {
        _ = FakeShim.Runtime;
        var b = WebApplication.CreateSlimBuilder();
        b.WebHost.UseUrls("http://127.0.0.1:0");
        b.Logging.ClearProviders();
        Images = b.Build();
        var red = Png(255, 0, 0);
        Images.Use(async (HttpContext c, RequestDelegate next) => { Hits.Enqueue(c.Request.Path.Value!); await next(c); });
        Images.MapGet("/red.png", () => Results.Bytes(red, "image/png"));
        Images.MapGet("/via-name.png", () => Results.Bytes(red, "image/png"));
        Images.MapGet("/blue.png", () => Results.Bytes(Png(0, 0, 255), "image/png"));
        Images.MapGet("/page.html", () => Results.Content("<html>not an image</html>", "text/html"));
        Images.MapGet("/noise.bin", () => Results.Bytes(new byte[500], "application/octet-stream"));
        Images.MapGet("/missing.png", () => Results.StatusCode(404));
        Images.MapGet("/big.png", () => Results.Bytes(new byte[MaxBytes * 2], "image/png"));
        Images.MapGet("/big-chunked.png", async (HttpContext c) =>
        {
            c.Response.ContentType = "image/png";
            var chunk = new byte[16 << 10];
            for (var sent = 0L; sent < MaxBytes * 3 && !c.RequestAborted.IsCancellationRequested; sent += chunk.Length)
            {
                await c.Response.Body.WriteAsync(chunk, c.RequestAborted);
                await c.Response.Body.FlushAsync(c.RequestAborted);
            }
        });
        Images.MapGet("/slow.png", async (HttpContext c) =>
        {
            c.Response.ContentType = "image/png";
            await c.Response.Body.WriteAsync(red.AsMemory(0, 10));
            await c.Response.Body.FlushAsync();
            await Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted).ContinueWith(_ => { });
        });
        Images.MapGet("/to-red", () => Results.Redirect("/red.png"));
        Images.MapGet("/to-other-host", () => Results.Redirect("http://images.example.invalid/red.png"));
        Images.MapGet("/to-file", () => Results.Redirect("file:///etc/passwd"));
        Images.MapGet("/loop", () => Results.Redirect("/loop"));
        await Images.StartAsync();
        Base = Images.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        Port = new Uri(Base).Port;
        Other.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                try { (await Other.AcceptTcpClientAsync()).Dispose(); Interlocked.Increment(ref OtherConnections); }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException) { return; }
            }
        });

        WriteFakeHef(ModelsDir);
        var cfg = Config(ModelsDir);
        cfg.Vision.ImageUrls.Allow = [$"127.0.0.1:{Port}", $"localhost:{Port}"];
        cfg.Vision.ImageUrls.MaxBytes = MaxBytes;
        cfg.Vision.ImageUrls.TimeoutS = 1.5;
        cfg.Vision.ImageUrls.MaxRedirects = 2;
        Service = await RunningService.StartAsync(HailoVision.VisionService.Definition, cfg);
        await Service.StartupCompleted;
    }

    public int OtherPort => ((IPEndPoint)Other.LocalEndpoint).Port;

    public async Task DisposeAsync()
    {
        await Service.DisposeAsync();
        await Images.DisposeAsync();
        Other.Stop();
        Directory.Delete(ModelsDir, true);
    }
}

[Collection("fake-shim")]
public sealed class ImageUrlTests(ImageUrlFixture f) : IClassFixture<ImageUrlFixture>
{
    private static string OpenAi(string url, string text = "look") =>
        """{"model":"qwen2-vl:2b","messages":[{"role":"user","content":[{"type":"text","text":""" + JsonSerializer.Serialize(text) + """},{"type":"image_url","image_url":{"url":""" + JsonSerializer.Serialize(url) + "}}]}]}";

    private async Task<(int Status, JsonElement Body)> Post(string path, string json)
    {
        var r = await f.Service.Client.PostAsync(path, Json(json));
        return ((int)r.StatusCode, JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement);
    }

    /// <summary>An OpenAI-shaped 400 whose code and message say why.</summary>
    private async Task<string> OpenAiRefusal(string url, string code)
    {
        var (status, body) = await Post("/v1/chat/completions", OpenAi(url));
        Assert.True(status == 400, $"{status} {body}");
        var e = body.GetProperty("error");
        Assert.Equal(code, e.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", e.GetProperty("type").GetString());
        Assert.Equal("messages", e.GetProperty("param").GetString());
        return e.GetProperty("message").GetString()!;
    }

    [Fact]
    public async Task An_allowed_url_reaches_the_device_with_its_pixels()
    {
        var (status, body) = await Post("/v1/chat/completions", OpenAi($"{f.Base}/red.png"));
        Assert.True(status == 200, body.ToString());
        Assert.Equal("<image0:mean=85> look", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!.Trim());
        // The bare-string form, a second image from a redirect within the host, and the order kept.
        var two = $$$"""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":[{"type":"image_url","image_url":"{{{f.Base}}}/blue.png"},{"type":"image_url","image_url":{"url":"{{{f.Base}}}/to-red"}},{"type":"text","text":"two"}]}]}""";
        (status, body) = await Post("/v1/chat/completions", two);
        Assert.True(status == 200, body.ToString());
        Assert.Equal("<image0:mean=85><image1:mean=85>two", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!.Replace(" ", "").Trim());
    }

    [Fact]
    public async Task Ollama_images_entries_and_analyze_take_urls_too()
    {
        var (status, body) = await Post("/api/generate", $$"""{"model":"qwen2-vl:2b","prompt":"what","images":["{{f.Base}}/red.png"],"stream":false}""");
        Assert.True(status == 200, body.ToString());
        Assert.Equal("<image0:mean=85> what", body.GetProperty("response").GetString()!.Trim());
        (status, body) = await Post("/api/chat", $$"""{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"hi","images":["{{f.Base}}/red.png"]}]}""");
        Assert.True(status == 200, body.ToString());
        Assert.Equal("<image0:mean=85> hi", body.GetProperty("message").GetProperty("content").GetString()!.Trim());
        (status, body) = await Post("/v1/vision/analyze", $$"""{"prompt":"x","images":["{{f.Base}}/red.png"]}""");
        Assert.True(status == 200, body.ToString());
        Assert.StartsWith("<image0:mean=85>", body.GetProperty("results")[0].GetProperty("analysis").GetString());
    }

    [Fact]
    public async Task A_host_not_on_the_list_is_refused_without_any_connection()
    {
        var before = Volatile.Read(ref f.OtherConnections);
        var msg = await OpenAiRefusal($"http://127.0.0.1:{f.OtherPort}/red.png", "image_url_not_allowed");
        Assert.Contains("not allowed", msg);
        (_, _) = await Post("/api/generate", $$"""{"model":"qwen2-vl:2b","prompt":"x","images":["http://127.0.0.1:{{f.OtherPort}}/a.png"],"stream":false}""");
        await Task.Delay(200);
        Assert.Equal(before, Volatile.Read(ref f.OtherConnections));
    }

    [Fact]
    public async Task Ollama_errors_keep_ollamas_shape()
    {
        var (status, body) = await Post("/api/chat", $$"""{"model":"qwen2-vl:2b","stream":false,"messages":[{"role":"user","content":"hi","images":["http://127.0.0.1:{{f.OtherPort}}/a.png"]}]}""");
        Assert.Equal(400, status);
        Assert.Equal(JsonValueKind.String, body.GetProperty("error").ValueKind);
        Assert.Contains("not allowed", body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_name_that_resolves_to_loopback_is_refused_even_when_listed()
    {
        var msg = await OpenAiRefusal($"http://localhost:{f.Port}/via-name.png", "image_url_not_allowed");
        Assert.Contains("private or loopback", msg);
        Assert.DoesNotContain("/via-name.png", f.Hits);
    }

    [Fact]
    public async Task A_redirect_to_a_host_not_on_the_list_is_refused_before_following_it()
    {
        var msg = await OpenAiRefusal($"{f.Base}/to-other-host", "image_url_not_allowed");
        Assert.Contains("images.example.invalid", msg);
        Assert.Contains("redirect", msg);
        Assert.Contains("not an http(s) URL", await OpenAiRefusal($"{f.Base}/to-file", "image_url_not_allowed"));
        Assert.Contains("redirected more than 2", await OpenAiRefusal($"{f.Base}/loop", "image_url_redirects"));
    }

    [Fact]
    public async Task Too_large_is_refused_by_content_length_and_by_the_bytes_read()
    {
        Assert.Contains($"{ImageUrlFixture.MaxBytes * 2} bytes", await OpenAiRefusal($"{f.Base}/big.png", "image_too_large"));
        Assert.Contains("sent more than", await OpenAiRefusal($"{f.Base}/big-chunked.png", "image_too_large"));
    }

    [Fact]
    public async Task A_slow_server_is_cut_off_at_the_time_limit()
    {
        var sw = Stopwatch.StartNew();
        Assert.Contains("timed out", await OpenAiRefusal($"{f.Base}/slow.png", "image_url_timeout"));
        Assert.InRange(sw.Elapsed.TotalSeconds, 1.3, 5);
    }

    [Fact]
    public async Task Upstream_status_and_not_an_image_are_said()
    {
        Assert.Contains("HTTP 404", await OpenAiRefusal($"{f.Base}/missing.png", "image_url_upstream_status"));
        Assert.Contains("text/html", await OpenAiRefusal($"{f.Base}/page.html", "image_url_not_image"));
        // Bytes that claim nothing but are no image: the data-URL decoder's 400.
        var (status, body) = await Post("/v1/chat/completions", OpenAi($"{f.Base}/noise.bin"));
        Assert.True(status == 400, body.ToString());
    }

    public static TheoryData<string, string> Garbage() => new()
    {
        { "file", "\"file:///etc/passwd\"" },
        { "ipv6-loopback", "\"http://[::1]/\"" },
        { "gopher", "\"gopher://127.0.0.1:70/_x\"" },
        { "ten-kb", JsonSerializer.Serialize("http://127.0.0.1:1/" + new string('a', 10_000)) },
        { "number", "5" },
        { "object", "{\"u\":1}" },
        { "userinfo", "\"http://user:pw@127.0.0.1/red.png\"" },
        { "metadata", "\"http://169.254.169.254/latest/meta-data\"" },
        { "no-host", "\"http:///red.png\"" },
        { "ftp", "\"ftp://127.0.0.1/red.png\"" },
    };

    [Theory]
    [MemberData(nameof(Garbage))]
    public async Task Garbage_urls_are_4xx_in_each_shape_and_fetch_nothing(string name, string url)
    {
        var hits = f.Hits.Count;
        var (status, body) = await Post("/v1/chat/completions", """{"model":"qwen2-vl:2b","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":""" + url + "}}]}]}");
        Assert.True(status == 400, $"{name}: {status} {body}");
        Assert.Equal(JsonValueKind.Object, body.GetProperty("error").ValueKind);
        (status, body) = await Post("/api/generate", $$"""{"model":"qwen2-vl:2b","prompt":"x","stream":false,"images":[{{url}}]}""");
        Assert.True(status == 400, $"{name}: {status} {body}");
        Assert.Equal(JsonValueKind.String, body.GetProperty("error").ValueKind);
        (status, body) = await Post("/v1/vision/analyze", $$"""{"prompt":"x","images":[{{url}}]}""");
        Assert.True(status == 400, $"{name}: {status} {body}");
        Assert.Equal(hits, f.Hits.Count);
    }

    [Fact]
    public async Task More_urls_than_max_images_are_refused_before_fetching()
    {
        var hits = f.Hits.Count;
        var parts = string.Join(',', Enumerable.Repeat($$$"""{"type":"image_url","image_url":{"url":"{{{f.Base}}}/red.png"}}""", 9));
        var (status, _) = await Post("/v1/chat/completions", $$"""{"model":"qwen2-vl:2b","messages":[{"role":"user","content":[{{parts}}]}]}""");
        Assert.Equal(400, status);
        Assert.Equal(hits, f.Hits.Count);
    }

    [Theory]
    [InlineData("10.0.0.1", true)]
    [InlineData("172.16.5.4", true)]
    [InlineData("192.168.1.1", true)]
    [InlineData("127.0.0.53", true)]
    [InlineData("169.254.169.254", true)]
    [InlineData("100.64.0.1", true)]
    [InlineData("0.0.0.0", true)]
    [InlineData("::1", true)]
    [InlineData("::", true)]
    [InlineData("fe80::1", true)]
    [InlineData("fd00::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("64:ff9b::a00:1", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("1.1.1.1", false)]
    [InlineData("2606:4700:4700::1111", false)]
    public void Private_addresses_are_recognised(string ip, bool isPrivate) =>
        Assert.Equal(isPrivate, ImageUrlFetcher.IsPrivate(IPAddress.Parse(ip)));

    [Theory]
    [InlineData("images.example.com", "https://images.example.com/a.png", true)]
    [InlineData("images.example.com", "http://IMAGES.example.com:8080/a.png", true)]
    [InlineData("images.example.com", "https://images.example.com.evil.net/a.png", false)]
    [InlineData("images.example.com", "https://evil.net/images.example.com/a.png", false)]
    [InlineData("cam.lan:8080", "http://cam.lan:8080/snap.jpg", true)]
    [InlineData("cam.lan:8080", "http://cam.lan/snap.jpg", false)]
    [InlineData("https://img.example.com/pub/", "https://img.example.com/pub/a.png", true)]
    [InlineData("https://img.example.com/pub/", "https://img.example.com/private/a.png", false)]
    [InlineData("https://img.example.com/pub/", "http://img.example.com/pub/a.png", false)]
    [InlineData("[::1]", "http://[::1]:7860/", true)]
    public void Allow_list_entries_match_exactly(string entry, string url, bool match)
    {
        Assert.True(ImageUrlRule.TryParse(entry, out var rule, out var why), why);
        Assert.Equal(match, rule.Matches(new Uri(url)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("file:///etc")]
    [InlineData("ftp://host/")]
    [InlineData("host/path")]
    [InlineData("http://u:p@host/")]
    public void Bad_allow_entries_fail_config_validation(string entry)
    {
        var c = new VisionConfig();
        c.Vision.ImageUrls.Allow = [entry];
        var errors = new Hailo.Hosting.Config.ConfigErrors();
        c.Validate(errors);
        Assert.Contains(errors.Messages, m => m.StartsWith("vision.image_urls.allow", StringComparison.Ordinal));
    }
}
