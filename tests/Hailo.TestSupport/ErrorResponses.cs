using System.Net;
using System.Text.Json;
using Xunit;

namespace Hailo.TestSupport;

/// <summary>
/// The JSON error of the Hailo services' own family, <c>{"error": {"code", "message", "status"}}</c>, or the flat one
/// of the predecessor's florence API, <c>{"error": code, "message", "status"}</c>.
/// </summary>
public static class ErrorResponses
{
    /// <summary>Asserts the status, a JSON body in the family's shape, its code, its status and a message.</summary>
    public static async Task AssertError(HttpResponseMessage r, HttpStatusCode status, string code)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(status == r.StatusCode, $"expected {(int)status}, got {(int)r.StatusCode}: {body}");
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        var root = JsonDocument.Parse(body).RootElement;
        var e = root.GetProperty("error");
        if (e.ValueKind == JsonValueKind.String)
        {
            Assert.Equal(code, e.GetString());
            Assert.Equal((int)status, root.GetProperty("status").GetInt32());
            Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("message").GetString()));
            return;
        }
        Assert.Equal(code, e.GetProperty("code").GetString());
        Assert.Equal((int)status, e.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(e.GetProperty("message").GetString()));
    }
}
