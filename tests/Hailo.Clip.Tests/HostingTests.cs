using Hailo.TestSupport;
using Xunit;

namespace Hailo.Clip.Tests;

/// <summary>What the shared host promises, on this service: a valid OpenAPI document and JSON errors in words.</summary>
[Collection("clip-service")]
public sealed class HostingTests(ClipServiceFixture fixture)
{
    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task OpenApi_document_is_valid_and_lists_every_route() =>
        await OpenApiDocument.FetchAndAssertValid(Client, OpenApiRoutes.Of(fixture.Service.App));

    [Theory]
    [InlineData("/v1/classify", "{\"image\": \"aGk=\", \"nope\": 1}", "unknown field 'nope' (accepted: image, images, prompts, ")]
    [InlineData("/v1/classify", "{\"image\": \"aGk=\", \"top_k\": \"many\"}", "field 'top_k' must be a whole number, not a string")]
    [InlineData("/v1/embed/text", "{\"text\": 5}", "field 'text' ")]
    [InlineData("/v1/embeddings", HumanErrors.Truncated, HumanErrors.TruncatedMessage)]
    [InlineData("/v1/search", HumanErrors.NotJson, HumanErrors.NotJsonMessage)]
    [InlineData("/v1/index", "", "the body is empty; send a JSON object")]
    [InlineData("/v1/embed/image", "[]", "the body must be a JSON object, not an array")]
    public async Task Bad_json_gets_a_400_in_words(string url, string body, string expected) =>
        await HumanErrors.AssertRefused(Client, url, body, expected);
}
