using System.Net;
using System.Text.Json;
using Xunit;

namespace Hailo.TestSupport;

/// <summary>
/// A structural check of a served OpenAPI document: it parses, says <c>openapi: 3.x</c>, has an info title and
/// version, lists every expected route under <c>paths</c> with at least one operation each, and every <c>$ref</c>
/// in it resolves to a node of the same document. Not a full schema validation of OpenAPI 3.1.
/// </summary>
public static class OpenApiDocument
{
    private static readonly HashSet<string> Operations = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    /// <summary>GETs /openapi/v1.json, checks it as <see cref="AssertValid"/> does and returns it.</summary>
    public static async Task<JsonElement> FetchAndAssertValid(HttpClient client, IEnumerable<string> routes)
    {
        using var r = await client.GetAsync("/openapi/v1.json");
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"GET /openapi/v1.json answered {(int)r.StatusCode}: {text}");
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement.Clone();
        AssertValid(root, routes);
        return root;
    }

    public static void AssertValid(JsonElement doc, IEnumerable<string> routes)
    {
        Assert.Equal(JsonValueKind.Object, doc.ValueKind);
        var version = doc.TryGetProperty("openapi", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        Assert.Matches(@"^3\.\d+\.\d+$", version);
        Assert.True(doc.TryGetProperty("info", out var info) && info.ValueKind == JsonValueKind.Object, "no info object");
        Assert.False(string.IsNullOrWhiteSpace(info.TryGetProperty("title", out var t) ? t.GetString() : null), "info.title is empty");
        Assert.False(string.IsNullOrWhiteSpace(info.TryGetProperty("version", out var iv) ? iv.GetString() : null), "info.version is empty");

        Assert.True(doc.TryGetProperty("paths", out var paths) && paths.ValueKind == JsonValueKind.Object, "no paths object");
        var expected = routes.ToList();
        Assert.NotEmpty(expected);
        foreach (var route in expected)
        {
            Assert.True(paths.TryGetProperty(route, out var item), $"{route} is missing from paths ({string.Join(", ", paths.EnumerateObject().Select(p => p.Name))})");
            Assert.True(item.EnumerateObject().Any(p => Operations.Contains(p.Name)), $"{route} has no operation");
        }
        foreach (var path in paths.EnumerateObject())
        {
            Assert.StartsWith("/", path.Name);
            foreach (var op in path.Value.EnumerateObject().Where(p => Operations.Contains(p.Name)))
                Assert.True(op.Value.TryGetProperty("responses", out var responses) && responses.ValueKind == JsonValueKind.Object,
                    $"{op.Name} {path.Name} has no responses");
        }

        var unresolved = new List<string>();
        Walk(doc, doc, "#", unresolved);
        Assert.True(unresolved.Count == 0, $"unresolved $ref: {string.Join("; ", unresolved)}");
    }

    private static void Walk(JsonElement root, JsonElement node, string at, List<string> unresolved)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in node.EnumerateObject())
                {
                    if (p.Name == "$ref")
                    {
                        if (p.Value.ValueKind != JsonValueKind.String || !Resolves(root, p.Value.GetString()!))
                            unresolved.Add($"{at}: {p.Value}");
                    }
                    else Walk(root, p.Value, at + "/" + p.Name, unresolved);
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var e in node.EnumerateArray()) Walk(root, e, $"{at}/{i++}", unresolved);
                break;
        }
    }

    /// <summary>Resolves a local JSON pointer reference (#/components/schemas/X, with ~0 and ~1 escapes).</summary>
    internal static bool Resolves(JsonElement root, string reference)
    {
        if (!reference.StartsWith("#/", StringComparison.Ordinal)) return false; // the services' documents are self-contained
        var node = root;
        foreach (var raw in reference[2..].Split('/'))
        {
            var token = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(token, out var next)) node = next;
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(token, out var i) && i >= 0 && i < node.GetArrayLength()) node = node[i];
            else return false;
        }
        return true;
    }
}
