using Hailo.Core;
using Microsoft.AspNetCore.Http;

namespace Hailo.Hosting.Http;

/// <summary>
/// Gets the image bytes out of a request the way the vision services accept them: a multipart file
/// field, a JSON string holding base64 or a data URL, or the raw body with an image/* content type.
/// URLs and server-side paths are refused: the service never fetches on a client's behalf.
/// </summary>
public static class ImageInput
{
    /// <summary>Content types the vision endpoints accept, for OpenAPI and the 415 check.</summary>
    public static readonly string[] ContentTypes = ["application/json", "multipart/form-data", "image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif"];

    /// <summary>Decodes base64 (plain, URL-safe, or as a data: URL) from a JSON field.</summary>
    public static byte[] FromBase64(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value)) throw ApiException.BadRequest("missing_image", $"'{field}' is empty", field);
        var text = value.AsSpan().Trim();
        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = text.IndexOf(',');
            if (comma < 0) throw ApiException.BadRequest("invalid_base64", $"'{field}' is a data URL without a ',' before its data", field);
            var header = text[5..comma];
            if (!header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw ApiException.BadRequest("invalid_base64", $"'{field}' must be a base64 data URL (data:image/png;base64,...)", field);
            text = text[(comma + 1)..];
        }
        // A JPEG's base64 starts with "/9j/" (FF D8 FF); no other leading '/' is an image this service reads.
        else if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
                 || text.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || (text.StartsWith('/') && !text.StartsWith("/9j/", StringComparison.Ordinal)))
        {
            throw ApiException.BadRequest("unsupported_image_source",
                $"'{field}' must hold the image itself (base64 or a data URL); this service does not fetch URLs or read server files", field);
        }
        return DecodeBase64(text, field);
    }

    private static byte[] DecodeBase64(ReadOnlySpan<char> text, string field)
    {
        // Standard base64 (whitespace allowed) decodes straight into an array of the image's size: an image of
        // megabytes makes one large array, not three.
        if (System.Buffers.Text.Base64.IsValid(text, out var decodedLength))
        {
            var exact = new byte[decodedLength];
            if (Convert.TryFromBase64Chars(text, exact, out var done) && done == decodedLength) return exact;
        }
        // Accept URL-safe base64 and missing padding, which browsers and some clients produce.
        var buffer = new char[text.Length + 3];
        var n = 0;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c)) continue;
            buffer[n++] = c switch { '-' => '+', '_' => '/', _ => c };
        }
        while (n % 4 != 0) buffer[n++] = '=';
        var bytes = new byte[n / 4 * 3];
        if (!Convert.TryFromBase64Chars(buffer.AsSpan(0, n), bytes, out var written))
            throw ApiException.BadRequest("invalid_base64", $"'{field}' is not valid base64", field);
        return bytes.AsSpan(0, written).ToArray();
    }

    /// <summary>The first file among <paramref name="fields"/> of a multipart form.</summary>
    public static async Task<byte[]> FromFormAsync(IFormCollection form, string[] fields, CancellationToken ct)
    {
        foreach (var name in fields)
        {
            var file = form.Files.GetFile(name);
            if (file is null) continue;
            using var ms = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
            await file.CopyToAsync(ms, ct).ConfigureAwait(false);
            return ms.ToArray();
        }
        foreach (var name in fields)
            if (form.TryGetValue(name, out var text) && text.Count > 0)
                return FromBase64(text[0], name);
        var got = form.Files.Select(f => f.Name).Concat(form.Keys).Distinct().ToArray();
        throw ApiException.BadRequest("missing_image",
            $"no image in the form: send it as the file field '{fields[0]}'{(got.Length > 0 ? $" (got fields: {ClientText.List(got)})" : "")}", fields[0]);
    }

    /// <summary>Reads a whole raw body (image/* uploads).</summary>
    public static async Task<byte[]> FromBodyAsync(HttpRequest request, CancellationToken ct)
    {
        // A declared length (the pipeline has already refused one above the endpoint's limit) is read straight into an
        // array of that size: one allocation of the image's size and no copy, where a stream and its copy made two
        // large-object-heap arrays per request. A chunked body grows a stream.
        if (request.ContentLength is > 0 and <= int.MaxValue and var declared)
        {
            var data = GC.AllocateUninitializedArray<byte>((int)declared);
            try
            {
                await request.Body.ReadExactlyAsync(data, ct).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                throw ApiException.BadRequest("invalid_body", $"the request body ended before its Content-Length of {declared} bytes");
            }
            return data;
        }
        using var ms = new MemoryStream(1 << 16);
        await request.Body.CopyToAsync(ms, ct).ConfigureAwait(false);
        if (ms.Length == 0) throw ApiException.BadRequest("missing_image", "the request body is empty");
        return ms.ToArray();
    }
}

/// <summary>OpenAPI and content-type declaration for endpoints that take an image upload.</summary>
public static class ImageUploadExtensions
{
    public static Microsoft.AspNetCore.Builder.RouteHandlerBuilder WithImageUpload(this Microsoft.AspNetCore.Builder.RouteHandlerBuilder builder,
        string fileField, params (string Name, string Description)[] fields) =>
        OpenApiUpload.WithFileUpload(builder, fileField, ImageInput.ContentTypes[2..], fields);
}
