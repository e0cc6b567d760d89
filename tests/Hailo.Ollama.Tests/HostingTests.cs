using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hailo.TestSupport;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Hailo.Ollama.Tests;

/// <summary>
/// What the shared host promises, on this service: a valid OpenAPI document, JSON errors in words on every route,
/// and the browser guards in Ollama's error shapes (a web page cannot create a model with its own system prompt).
/// </summary>
public sealed class HostingTests(OllamaFixture f) : IClassFixture<OllamaFixture>
{
    private HttpClient C => f.Client;

    [Fact]
    public async Task OpenApi_document_is_valid_and_lists_every_route() =>
        await OpenApiDocument.FetchAndAssertValid(C, OpenApiRoutes.Of(f.Service.App));

    [Fact]
    public async Task OpenApi_document_names_a_request_schema_for_each_POST_route()
    {
        var doc = await OpenApiDocument.FetchAndAssertValid(C, OpenApiRoutes.Of(f.Service.App));
        var posts = f.Service.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains("POST") == true)
            .Select(e => "/" + e.RoutePattern.RawText!.TrimStart('/')).ToList();
        Assert.Equal(12, posts.Count);
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        var named = new Dictionary<string, string>();
        foreach (var route in posts)
        {
            var op = doc.GetProperty("paths").GetProperty(route).GetProperty("post");
            Assert.True(op.TryGetProperty("requestBody", out var body), $"POST {route} documents no request body");
            var content = body.GetProperty("content");
            if (route == "/api/blobs/{digest}")
            {
                Assert.Equal("binary", content.GetProperty("application/octet-stream").GetProperty("schema").GetProperty("format").GetString());
                continue;
            }
            var reference = content.GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString()!;
            Assert.StartsWith("#/components/schemas/", reference);
            var name = reference["#/components/schemas/".Length..];
            Assert.True(schemas.GetProperty(name).GetProperty("properties").EnumerateObject().Any(), $"{name} has no properties");
            named[route] = name;
        }
        Assert.Equal("GenerateRequest", named["/api/generate"]);
        Assert.Equal("ChatRequest", named["/api/chat"]);
        Assert.Equal("OpenAiChatRequest", named["/v1/chat/completions"]);
        // The wire names, snake_case as the API writes them.
        var chat = schemas.GetProperty("OpenAiChatRequest").GetProperty("properties");
        Assert.True(chat.TryGetProperty("max_tokens", out _) && chat.TryGetProperty("messages", out _) && chat.TryGetProperty("stream_options", out _));
        Assert.True(schemas.GetProperty("ChatRequest").GetProperty("properties").TryGetProperty("keep_alive", out _));
        // And what they answer: the whole reply, or each line of the stream.
        var generated = doc.GetProperty("paths").GetProperty("/api/generate").GetProperty("post").GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.Equal("#/components/schemas/GenerateResponse", generated.GetProperty("application/x-ndjson").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.True(schemas.GetProperty("GenerateResponse").GetProperty("properties").TryGetProperty("done_reason", out _));
    }

    public static TheoryData<string, string, string> JsonRoutes() => new()
    {
        // method, route, a body with a value of the wrong type
        { "POST", "/api/generate", "{\"model\": 5, \"prompt\": \"hi\"}" },
        { "POST", "/api/chat", "{\"model\": 5, \"messages\": []}" },
        { "POST", "/api/show", "{\"model\": 5}" },
        { "POST", "/api/embed", "{\"model\": 5, \"input\": \"hi\"}" },
        { "POST", "/api/embeddings", "{\"model\": 5, \"prompt\": \"hi\"}" },
        { "POST", "/api/pull", "{\"model\": 5}" },
        { "DELETE", "/api/delete", "{\"model\": 5}" },
        { "POST", "/api/copy", "{\"source\": 5, \"destination\": \"x\"}" },
        { "POST", "/api/create", "{\"model\": 5, \"from\": \"qwen2.5:0.5b\"}" },
        { "POST", "/v1/chat/completions", "{\"model\": 5, \"messages\": []}" },
        { "POST", "/v1/completions", "{\"model\": 5, \"prompt\": \"hi\"}" },
        { "POST", "/v1/embeddings", "{\"model\": 5, \"input\": \"hi\"}" },
    };

    [Theory]
    [MemberData(nameof(JsonRoutes))]
    public async Task Bad_json_gets_a_400_in_words_on_every_route(string method, string route, string wrongType)
    {
        var m = new HttpMethod(method);
        await HumanErrors.AssertRefused(C, m, route, HumanErrors.Truncated, HumanErrors.TruncatedMessage);
        await HumanErrors.AssertRefused(C, m, route, HumanErrors.NotJson, HumanErrors.NotJsonMessage);
        await HumanErrors.AssertRefused(C, m, route, "", "the body is empty; send a JSON object");
        await HumanErrors.AssertRefused(C, m, route, "[1]", "the request body must be a JSON object, not an array");
        var message = await HumanErrors.AssertRefused(C, m, route, wrongType, "'");
        Assert.Contains("must be a string", message);
    }

    [Fact]
    public async Task Unknown_fields_are_ignored_as_ollama_does()
    {
        var r = await C.PostAsync("/api/show", new StringContent("{\"model\": \"qwen2.5:0.5b\", \"nope\": 1}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task Curl_d_still_works_but_a_web_page_cannot_create_a_model()
    {
        // curl -d labels the JSON form-encoded and sends no Origin: read as JSON, as Ollama does.
        var curl = await C.PostAsync("/api/show", new StringContent("{\"model\": \"qwen2.5:0.5b\"}", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.OK, curl.StatusCode);

        const string create = "{\"model\": \"evil\", \"from\": \"qwen2.5:0.5b\", \"system\": \"injected\", \"stream\": false}";
        // A page of another site: a "simple" text/plain POST, which the browser sends without a preflight.
        var page = new HttpRequestMessage(HttpMethod.Post, "/api/create") { Content = new StringContent(create, Encoding.UTF8, "text/plain") };
        page.Headers.Add("Origin", "https://evil.example");
        var r = await C.SendAsync(page);
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Contains("server.allowed_origins", HumanErrors.Message(await r.Content.ReadAsStringAsync()));
        // A local page (allowed origin) must still say application/json, which takes a preflight.
        var local = new HttpRequestMessage(HttpMethod.Post, "/api/create") { Content = new StringContent(create, Encoding.UTF8, "text/plain") };
        local.Headers.Add("Origin", "http://localhost:8080");
        r = await C.SendAsync(local);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        Assert.Contains("application/json", HumanErrors.Message(await r.Content.ReadAsStringAsync()));
        // DNS rebinding: the page's own name in Host.
        var rebound = new HttpRequestMessage(HttpMethod.Post, "/api/create") { Content = new StringContent(create, Encoding.UTF8, "application/json") };
        rebound.Headers.Host = "evil.example:11434";
        rebound.Headers.Add("Origin", "http://evil.example:11434");
        r = await C.SendAsync(rebound);
        Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        Assert.Contains("server.allowed_hosts", HumanErrors.Message(await r.Content.ReadAsStringAsync()));

        var tags = JsonDocument.Parse(await C.GetStringAsync("/api/tags")).RootElement.GetProperty("models");
        Assert.DoesNotContain(tags.EnumerateArray(), m => m.GetProperty("name").GetString()!.StartsWith("evil", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Errors_of_the_guards_keep_each_familys_shape()
    {
        var native = new HttpRequestMessage(HttpMethod.Get, "/api/tags");
        native.Headers.Host = "evil.example";
        var body = JsonDocument.Parse(await (await C.SendAsync(native)).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(JsonValueKind.String, body.GetProperty("error").ValueKind);

        var openAi = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        openAi.Headers.Host = "evil.example";
        body = JsonDocument.Parse(await (await C.SendAsync(openAi)).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("forbidden_host", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_browser_preflight_from_a_local_page_is_answered()
    {
        var pre = new HttpRequestMessage(HttpMethod.Options, "/api/chat");
        pre.Headers.Add("Origin", "http://localhost:5173");
        pre.Headers.Add("Access-Control-Request-Method", "POST");
        pre.Headers.Add("Access-Control-Request-Headers", "content-type");
        var r = await C.SendAsync(pre);
        Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        Assert.Equal("http://localhost:5173", r.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }
}
