using System.Text;
using System.Text.Json;
using Hailo.Hosting.Http;
using Hailo.Hosting.OpenAi;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>
/// The OpenAI API family's shared pieces: one error type per status, the error body, and the reader of OpenAI-style
/// uploads (multipart/form-data with a file part).
/// </summary>
public sealed class OpenAiTests
{
    // OpenAI answers invalid_request_error for what it refuses (401 with code invalid_api_key, 404 with code
    // model_not_found among them) and server_error for 500 and 503; 403 and 429 carry the SDK's exception names.
    [Theory]
    [InlineData(400, "invalid_request_error")]
    [InlineData(401, "invalid_request_error")]
    [InlineData(403, "permission_error")]
    [InlineData(404, "invalid_request_error")]
    [InlineData(405, "invalid_request_error")]
    [InlineData(413, "invalid_request_error")]
    [InlineData(415, "invalid_request_error")]
    [InlineData(429, "rate_limit_error")]
    [InlineData(500, "server_error")]
    [InlineData(502, "server_error")]
    [InlineData(503, "server_error")]
    public void Each_status_has_openais_error_type(int status, string type) => Assert.Equal(type, OpenAiErrors.TypeOf(status));

    private static async Task<(HttpContext Context, string Body)> Write(ApiException error)
    {
        var http = new DefaultHttpContext();
        http.Response.Body = new MemoryStream();
        await new OpenAiErrorWriter().WriteAsync(http, error);
        return (http, Encoding.UTF8.GetString(((MemoryStream)http.Response.Body).ToArray()));
    }

    [Fact]
    public async Task The_body_always_has_message_type_param_and_code()
    {
        var (http, body) = await Write(ApiException.BadRequest("invalid_temperature", "'temperature' must be between 0 and 1", "temperature"));
        Assert.StartsWith("application/json", http.Response.ContentType);
        Assert.Equal("""{"error":{"message":"'temperature' must be between 0 and 1","type":"invalid_request_error","param":"temperature","code":"invalid_temperature"}}""",
            body.Replace("\\u0027", "'"));

        // No field at fault: param is null, not left out (OpenAI's clients read it).
        (_, body) = await Write(ApiException.Unavailable("loading", "the model is loading", 5));
        var e = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.Null, e.GetProperty("param").ValueKind);
        Assert.Equal("server_error", e.GetProperty("type").GetString());
        Assert.Equal("loading", e.GetProperty("code").GetString());
    }

    private static HttpRequest Request(string? contentType, byte[] body)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.ContentType = contentType;
        http.Request.Body = new MemoryStream(body);
        http.Request.ContentLength = body.Length;
        return http.Request;
    }

    private static byte[] Multipart(params (string Name, string? FileName, string Content)[] parts)
    {
        var sb = new StringBuilder();
        foreach (var (name, fileName, content) in parts)
        {
            sb.Append("--b0undary\r\n");
            sb.Append($"Content-Disposition: form-data; name=\"{name}\"{(fileName is null ? "" : $"; filename=\"{fileName}\"")}\r\n");
            if (fileName is not null) sb.Append("Content-Type: application/octet-stream\r\n");
            sb.Append("\r\n").Append(content).Append("\r\n");
        }
        sb.Append("--b0undary--\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    [Fact]
    public async Task An_upload_gives_the_file_and_the_text_fields()
    {
        var body = Multipart(("file", "speech.wav", "RIFF...."), ("language", null, "  de "), ("prompt", null, "   "),
            ("granularity[]", null, "word"), ("granularity[]", null, "segment"));
        var upload = await FormBody.ReadUploadAsync(Request("multipart/form-data; boundary=b0undary", body), "file", "audio", "OpenAI's audio API", default);
        Assert.Equal("RIFF...."u8.ToArray(), upload.File);
        Assert.Equal("speech.wav", upload.FileName);
        Assert.Equal("de", upload.Text("language"));
        Assert.Null(upload.Text("prompt"));
        Assert.Null(upload.Text("absent"));
        Assert.Equal("word,segment", upload.Values("granularity[]").ToString());
        Assert.Equal(2, upload.Values("granularity[]").Count);
        Assert.Equal(0, upload.Values("absent").Count);
    }

    [Theory]
    [InlineData("audio/wav")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public async Task Another_content_type_is_415_saying_what_to_send(string? contentType)
    {
        var e = await Assert.ThrowsAsync<ApiException>(() =>
            FormBody.ReadUploadAsync(Request(contentType, "RIFF"u8.ToArray()), "file", "audio", "OpenAI's audio API", default));
        Assert.Equal(415, e.Status);
        Assert.Equal("unsupported_media_type", e.Code);
        Assert.Equal("Content-Type must be multipart/form-data with the audio in a 'file' field, as OpenAI's audio API expects; raw audio bodies are not accepted", e.Message);
    }

    [Fact]
    public async Task No_file_part_or_a_broken_body_is_400()
    {
        var e = await Assert.ThrowsAsync<ApiException>(() => FormBody.ReadUploadAsync(
            Request("multipart/form-data; boundary=b0undary", Multipart(("file", null, "not a file"))), "file", "audio", "OpenAI's audio API", default));
        Assert.Equal((400, "missing_file", "file"), (e.Status, e.Code, e.Param));
        Assert.Equal("Missing 'file' field: send the audio as a file part named 'file'", e.Message);

        var cut = Multipart(("file", "a.wav", "RIFF"))[..60];
        e = await Assert.ThrowsAsync<ApiException>(() => FormBody.ReadUploadAsync(
            Request("multipart/form-data; boundary=b0undary", cut), "file", "audio", "OpenAI's audio API", default));
        Assert.Equal((400, "invalid_multipart"), (e.Status, e.Code));
    }

    [Fact]
    public async Task An_image_upload_and_an_audio_upload_cut_short_get_the_same_400()
    {
        var cut = Multipart(("file", "a.png", "PNG and more bytes"))[..60];
        var audio = await Assert.ThrowsAsync<ApiException>(() => FormBody.ReadUploadAsync(
            Request("multipart/form-data; boundary=b0undary", cut), "file", "audio", "OpenAI's audio API", default));
        var format = new ImageRequestFormat<EchoRequest>
        {
            Json = TestJson.Default.EchoRequest, Image = r => r.Text, Options = [], FromFields = _ => new EchoRequest(""),
        };
        var image = await Assert.ThrowsAsync<ApiException>(() => ImageRequest.ReadAsync(Request("multipart/form-data; boundary=b0undary", cut), format, default));
        Assert.Equal((400, "invalid_multipart", "the multipart body ends before its closing boundary"), (image.Status, image.Code, image.Message));
        Assert.Equal((audio.Status, audio.Code, audio.Message), (image.Status, image.Code, image.Message));
    }
}
