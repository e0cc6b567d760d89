using Hailo.TestSupport;
using Xunit;

namespace Hailo.Scrfd.Tests;

/// <summary>What the shared host promises, on this service: a valid OpenAPI document and JSON errors in words.</summary>
[Collection("scrfd-service")]
public sealed class HostingTests(ScrfdServiceFixture fixture)
{
    [Fact]
    public async Task OpenApi_document_is_valid_and_lists_every_route() =>
        await OpenApiDocument.FetchAndAssertValid(fixture.Client, OpenApiRoutes.Of(fixture.Service.App));

    [Theory]
    [InlineData("/v1/detect", "{\"image\": \"aGk=\", \"nope\": 1}", "unknown field 'nope' (accepted: image, conf_threshold, ")]
    [InlineData("/v1/align", "{\"image\": \"aGk=\", \"conf_threshold\": \"high\"}", "field 'conf_threshold' must be a number, not a string")]
    [InlineData("/v1/detect", HumanErrors.NotJson, HumanErrors.NotJsonMessage)]
    [InlineData("/v1/align", "[]", "the body must be a JSON object, not an array")]
    public async Task Bad_json_gets_a_400_in_words(string url, string body, string expected) =>
        await HumanErrors.AssertRefused(fixture.Client, url, body, expected);
}
