using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Hailo.TestSupport;

/// <summary>
/// Error messages are for people: no .NET type names, serializer resource keys (what the Native AOT binaries print
/// instead of messages) or JSON paths. Works with every API family's error shape.
/// </summary>
public static partial class HumanErrors
{
    /// <summary>The four ways a JSON body goes wrong, as bodies: a truncated one, one that is not JSON at all.</summary>
    public const string Truncated = "{\"model\": \"abc";
    public const string NotJson = "model=abc&stream=false";
    public const string TruncatedMessage = "the body is not valid JSON at line 1, column 15 (it ends before the JSON is complete)";
    public const string NotJsonMessage = "the body is not valid JSON at line 1, column 1";

    /// <summary>The message of an error body: Ollama's {"error":"..."}, or {"error":{"message":...}} of OpenAI and the Hailo APIs.</summary>
    public static string Message(string body)
    {
        var root = JsonDocument.Parse(body).RootElement;
        var error = root.GetProperty("error");
        // The predecessor's florence shape: {"error": code, "message", "status"}.
        if (error.ValueKind == JsonValueKind.String && root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) return m.GetString()!;
        return error.ValueKind == JsonValueKind.String ? error.GetString()! : error.GetProperty("message").GetString()!;
    }

    public static void AssertHuman(string message)
    {
        Assert.DoesNotMatch(HumpedIdentifier(), message);        // ExpectedJsonTokens, UnmappedJsonProperty, JsonException
        Assert.DoesNotMatch(DottedTypeName(), message);          // HailoPose.Api.PoseRequest, System.Int32
        foreach (var word in new[] { ".NET", "LineNumber", "BytePosition", "Path: $", "could not be converted", "could not be mapped" })
            Assert.DoesNotContain(word, message);
    }

    /// <summary>
    /// Sends <paramref name="body"/> as application/json; asserts the status, that the message starts with
    /// <paramref name="expected"/> and reads as a sentence. Returns the message.
    /// </summary>
    public static async Task<string> AssertRefused(HttpClient client, HttpMethod method, string url, string body, string expected,
        HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        using var request = new HttpRequestMessage(method, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var r = await client.SendAsync(request);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == status, $"{method} {url} {body}: expected {(int)status}, got {(int)r.StatusCode}: {text}");
        var message = Message(text);
        Assert.True(message.StartsWith(expected, StringComparison.Ordinal), $"{method} {url} {body}: expected a message starting with \"{expected}\", got \"{message}\"");
        AssertHuman(message);
        return message;
    }

    public static Task<string> AssertRefused(HttpClient client, string url, string body, string expected, HttpStatusCode status = HttpStatusCode.BadRequest) =>
        AssertRefused(client, HttpMethod.Post, url, body, expected, status);

    [GeneratedRegex(@"\b[A-Z][a-z]+[A-Z][a-z]+[A-Z]?\w*")]
    private static partial Regex HumpedIdentifier();

    [GeneratedRegex(@"\b[A-Z]\w*\.[A-Z]\w*")]
    private static partial Regex DottedTypeName();
}
