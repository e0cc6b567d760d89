using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Xunit;

namespace Hailo.TestSupport;

/// <summary>
/// The garbage corpus of an image endpoint (multipart, JSON with base64 or a data URL, raw body): broken JSON, bad
/// base64, URLs and file paths instead of images, bytes that are no image, truncated and bomb images, unknown fields,
/// broken multipart, oversized bodies, wrong content types, plus the cases a service adds for its own options. Every
/// case must get its 4xx with a JSON error in the family's shape (never a 500), and the service must serve a good
/// request right after.
/// </summary>
public sealed class BadImageRequests
{
    private sealed record Case(string Query, Func<HttpContent> Content, HttpStatusCode Status, string Code);

    private readonly Dictionary<string, Case> _cases = [];
    private readonly string _url;
    private readonly string _goodQuery;
    private readonly Func<byte[]> _png;

    /// <param name="url">the endpoint, e.g. /v1/ocr/extract</param>
    /// <param name="png">a PNG the endpoint serves; <paramref name="jpeg"/> the same as JPEG</param>
    /// <param name="goodQuery">the query string of the good request sent after every case</param>
    /// <param name="wrongTypeJson">"json-wrong-type": a JSON body (given the PNG's base64) with a value of the wrong type</param>
    /// <param name="missingImageJson">"json-missing-image": a JSON body with options but no image</param>
    /// <param name="unknownFormField">"unknown-form-field": a form field the endpoint does not know, next to the image</param>
    /// <param name="unknownQuery">"unknown-query-parameter": a query string the endpoint does not know</param>
    public BadImageRequests(string url, Func<byte[]> png, Func<byte[]> jpeg, Func<string, string> wrongTypeJson, string missingImageJson,
        (string Name, string Value) unknownFormField, string unknownQuery, string goodQuery = "")
    {
        _url = url;
        _png = png;
        _goodQuery = goodQuery;
        const HttpStatusCode bad = HttpStatusCode.BadRequest;
        Add("empty-json-body", "", () => Json(""), bad, "invalid_json");
        Add("empty-raw-body", "", () => Raw([]), bad, "missing_image");
        Add("json-null", "", () => Json("null"), bad, "invalid_json");
        Add("json-array", "", () => Json("[1,2]"), bad, "invalid_json");
        Add("truncated-json", "", () => Json("{\"image\": \"abc"), bad, "invalid_json");
        Add("json-wrong-type", "", () => Json(wrongTypeJson(Base64)), bad, "invalid_json");
        Add("json-unknown-field", "", () => Json($"{{\"img\": \"{Base64}\"}}"), bad, "invalid_json");
        Add("json-missing-image", "", () => Json(missingImageJson), bad, "missing_image");
        Add("invalid-base64", "", () => Json("{\"image\": \"@@@not base64@@@\"}"), bad, "invalid_base64");
        Add("data-url-not-base64", "", () => Json("{\"image\": \"data:image/png,rawdata\"}"), bad, "invalid_base64");
        Add("url-instead-of-image", "", () => Json("{\"image\": \"http://169.254.169.254/latest\"}"), bad, "unsupported_image_source");
        Add("file-path-instead-of-image", "", () => Json("{\"image\": \"/etc/shadow\"}"), bad, "unsupported_image_source");
        Add("file-url-instead-of-image", "", () => Json("{\"image\": \"file:///etc/shadow\"}"), bad, "unsupported_image_source");
        Add("non-image-bytes", "", () => Raw(Encoding.UTF8.GetBytes("%PDF-1.4 definitely not an image")), bad, "invalid_image");
        Add("truncated-jpeg", "", () => { var j = jpeg(); return Raw(j[..(j.Length / 2)], "image/jpeg"); }, bad, "invalid_image");
        Add("png-bomb-header", "", () => Raw(ImageFiles.PngHeaderOnly(30000, 30000)), bad, "image_too_large");
        Add("wrong-field-name", "", () => Form("picture", png()), bad, "unknown_field");
        Add("unknown-form-field", "", () => Form("image", png(), unknownFormField), bad, "unknown_field");
        Add("unknown-query-parameter", unknownQuery, () => Raw(png()), bad, "unknown_field");
        Add("malformed-multipart", "", () => new ByteArrayContent("--xyz\r\nbroken"u8.ToArray())
            { Headers = { ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=xyz") } }, bad, "invalid_multipart");
        Add("oversized-body", "", () => Raw(new byte[21 * 1024 * 1024]), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
        Add("wrong-content-type", "", () => new StringContent("image=abc", Encoding.UTF8, "text/plain"), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        Add("no-content-type", "", () => new ByteArrayContent(png()), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }

    /// <summary>The PNG's base64.</summary>
    public string Base64 => Convert.ToBase64String(_png());

    /// <summary>The names of the cases, for [MemberData].</summary>
    public TheoryData<string> Kinds
    {
        get
        {
            var kinds = new TheoryData<string>();
            foreach (var kind in _cases.Keys) kinds.Add(kind);
            return kinds;
        }
    }

    /// <summary>A case of the service's own: the query string (or "") and the body it sends, the 4xx and code it gets.</summary>
    public BadImageRequests Add(string kind, string query, Func<HttpContent> content, HttpStatusCode status, string code)
    {
        if ((int)status is < 400 or > 499) throw new ArgumentOutOfRangeException(nameof(status), status, "a bad request gets a 4xx");
        if (!_cases.TryAdd(kind, new Case(query, content, status, code))) throw new ArgumentException($"'{kind}' is in the corpus already", nameof(kind));
        return this;
    }

    /// <summary>A case of the service's own that gets a 400 with <paramref name="code"/>.</summary>
    public BadImageRequests Add(string kind, string query, Func<HttpContent> content, string code) =>
        Add(kind, query, content, HttpStatusCode.BadRequest, code);

    /// <summary>Sends the case, asserts its 4xx JSON error, then that /health is 200 and a good request is served.</summary>
    public async Task AssertRefusedAndStillServing(HttpClient client, string kind)
    {
        var c = _cases[kind];
        // Clients such as curl ask before sending large bodies (Expect: 100-continue), so a refused upload is never sent.
        var request = new HttpRequestMessage(HttpMethod.Post, _url + c.Query) { Content = c.Content() };
        request.Headers.ExpectContinue = c.Status == HttpStatusCode.RequestEntityTooLarge;
        var response = await client.SendAsync(request);
        await ErrorResponses.AssertError(response, c.Status, c.Code);
        HumanErrors.AssertHuman(HumanErrors.Message(await response.Content.ReadAsStringAsync()));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(_url + _goodQuery, Raw(_png()))).StatusCode);
    }

    public static HttpContent Json(string s) => new StringContent(s, Encoding.UTF8, "application/json");

    public static HttpContent Raw(byte[] b, string type = "image/png") => new ByteArrayContent(b) { Headers = { ContentType = new(type) } };

    /// <summary>A multipart form with the image as a PNG file in <paramref name="field"/>, and more text fields.</summary>
    public static MultipartFormDataContent Form(string field, byte[] image, params (string Name, string Value)[] fields)
    {
        var f = new MultipartFormDataContent();
        f.Add(new ByteArrayContent(image) { Headers = { ContentType = new("image/png") } }, field, "x.png");
        foreach (var (name, value) in fields) f.Add(new StringContent(value), name);
        return f;
    }
}
