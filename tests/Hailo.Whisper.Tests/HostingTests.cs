using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Hailo.Core;
using Hailo.TestSupport;
using HailoWhisper;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>What the shared host promises, on this service: its OpenAPI document, the body limit's 413, errors in words.</summary>
public sealed class HostingTests(CpuServiceFixture f) : IClassFixture<CpuServiceFixture>
{
    private HttpClient Client => f.Service.Client;

    public static TheoryData<string> Routes() => ["/v1/audio/transcriptions", "/v1/audio/translations", "/inference"];

    [Fact]
    public async Task OpenApi_document_is_valid_and_lists_every_route()
    {
        var doc = await OpenApiDocument.FetchAndAssertValid(Client, OpenApiRoutes.Of(f.Service.App));
        var content = doc.GetProperty("paths").GetProperty("/v1/audio/transcriptions").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(content.GetProperty("multipart/form-data").GetProperty("schema").GetProperty("properties").TryGetProperty("file", out _));
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Json_and_broken_forms_get_errors_in_words(string route)
    {
        // The audio API takes forms only: JSON of any quality is a 415 that says what to send.
        foreach (var body in new[] { "{\"file\": \"x\", \"nope\": 1}", "{\"temperature\": \"hot\"}", HumanErrors.Truncated, HumanErrors.NotJson })
            Assert.Contains("multipart/form-data", await HumanErrors.AssertRefused(Client, route, body, "content type", HttpStatusCode.UnsupportedMediaType));

        using var wrongType = ApiTests.Form([1, 2, 3], fields: [("temperature", "hot")]);
        var r = await Client.PostAsync(route, wrongType);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        HumanErrors.AssertHuman(HumanErrors.Message(await r.Content.ReadAsStringAsync()));

        // A form cut off before its closing boundary.
        var cut = new ByteArrayContent(Encoding.ASCII.GetBytes("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF"));
        cut.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");
        r = await Client.PostAsync(route, cut);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Equal("the multipart body ends before its closing boundary", HumanErrors.Message(text));
    }

    /// <summary>
    /// A chunked upload (no Content-Length, so nothing is refused before reading) that grows past server.max_body_mb:
    /// the host's 413 naming the limit, not a 400. A raw socket sends the head and one chunk just over the limit and
    /// then waits, so the server has read all it was sent when it answers (no reset race).
    /// </summary>
    [Fact]
    public async Task An_upload_over_the_limit_is_the_hosts_413_naming_it()
    {
        var models = Directory.CreateTempSubdirectory("hailo-whisper-413-").FullName;
        try
        {
            var config = new WhisperConfig { Device = Backend.Cpu };
            config.Models.Dir = models;
            config.Models.SearchPaths = [];
            config.Models.Preload = false;
            config.Server.MaxBodyMb = 0.0625; // 64 KiB
            await using var s = await RunningService.StartAsync(WhisperService.Definition, config);
            var part = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n"u8.ToArray();
            var chunk = part.Concat(new byte[70 * 1024]).ToArray();
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(s.BaseAddress.Host, s.BaseAddress.Port);
            var stream = tcp.GetStream();
            var head = $"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n{chunk.Length:x}\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(chunk);
            await stream.WriteAsync("\r\n"u8.ToArray());
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var response = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.StartsWith("HTTP/1.1 413", response);
            Assert.Contains("\"code\":\"body_too_large\"", response);
            Assert.Contains("64 KiB", response);
        }
        finally { Directory.Delete(models, true); }
    }
}
