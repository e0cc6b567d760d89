using Hailo.TestSupport;
using Xunit;

namespace Hailo.Ocr.Tests;

/// <summary>What the shared host promises, on this service: a valid OpenAPI document and JSON errors in words.</summary>
[Collection("ocr-service")]
public sealed class HostingTests(OcrServiceFixture fixture)
{
    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task OpenApi_document_is_valid_and_lists_every_route() =>
        await OpenApiDocument.FetchAndAssertValid(Client, OpenApiRoutes.Of(fixture.Service.App));

    [Theory]
    [InlineData("{\"image\": \"aGk=\", \"nope\": 1}", "unknown field 'nope' (accepted: image, languages, use_angle_cls, det_threshold, box_threshold, rec_threshold)")]
    [InlineData("{\"image\": \"aGk=\", \"det_threshold\": \"high\"}", "field 'det_threshold' must be a number, not a string")]
    [InlineData(HumanErrors.Truncated, HumanErrors.TruncatedMessage)]
    [InlineData("{\"image\": \"aGk=\"", "the body is not valid JSON at line 1, column 17 (it ends before the JSON is complete)")]
    [InlineData(HumanErrors.NotJson, HumanErrors.NotJsonMessage)]
    [InlineData("", "the body is empty; send a JSON object")]
    [InlineData("[]", "the body must be a JSON object, not an array")]
    public async Task Bad_json_gets_a_400_in_words(string body, string expected) =>
        await HumanErrors.AssertRefused(Client, "/v1/ocr/extract", body, expected);
}
