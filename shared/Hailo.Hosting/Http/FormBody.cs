using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Hailo.Hosting.Http;

/// <summary>
/// Reads multipart and form-encoded bodies, for image and audio uploads alike: a broken one is a 400
/// (invalid_multipart), one over the body limit the host's 413.
/// </summary>
public static class FormBody
{
    public static async Task<IFormCollection> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        try
        {
            return await request.ReadFormAsync(ct).ConfigureAwait(false);
        }
        catch (BadHttpRequestException)
        {
            throw; // Kestrel's 413 (the body limit) and 400s: the error middleware answers them, naming the limit
        }
        catch (InvalidDataException)
        {
            // Said in our words: the reader's text is a resource key in the Native AOT binaries.
            throw ApiException.BadRequest("invalid_multipart", "the multipart body is malformed (boundary or part headers), or a form field is too long");
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            throw ApiException.BadRequest("invalid_multipart", "the multipart body ends before its closing boundary");
        }
    }

    /// <summary>
    /// Reads an OpenAI-style upload: multipart/form-data with the <paramref name="what"/> (e.g. "audio") as the file
    /// part <paramref name="fileField"/> and text fields beside it. Another content type is a 415 naming
    /// <paramref name="api"/> (e.g. "OpenAI's audio API"), no such file part a 400, a broken body a 400, one over the
    /// body limit the host's 413.
    /// </summary>
    public static async Task<FormUpload> ReadUploadAsync(HttpRequest request, string fileField, string what, string api, CancellationToken ct)
    {
        if (!request.HasFormContentType || !(request.ContentType?.Contains("multipart/form-data", StringComparison.OrdinalIgnoreCase) ?? false))
            throw new ApiException(415, "unsupported_media_type",
                $"Content-Type must be multipart/form-data with the {what} in a '{fileField}' field, as {api} expects; raw {what} bodies are not accepted");
        var form = await ReadAsync(request, ct).ConfigureAwait(false);
        var file = form.Files.GetFile(fileField)
            ?? throw ApiException.BadRequest("missing_file", $"Missing '{fileField}' field: send the {what} as a file part named '{fileField}'", fileField);
        using var ms = new MemoryStream((int)Math.Min(file.Length, int.MaxValue));
        await file.CopyToAsync(ms, ct).ConfigureAwait(false);
        return new FormUpload(form, ms.ToArray(), file.FileName);
    }
}

/// <summary>An upload read by <see cref="FormBody.ReadUploadAsync"/>: the file's bytes and name, and the form's text fields.</summary>
public sealed record FormUpload(IFormCollection Form, byte[] File, string FileName)
{
    /// <summary>A text field, trimmed; null when it is absent or blank.</summary>
    public string? Text(string name) =>
        Form.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v.ToString()) ? v.ToString().Trim() : null;

    /// <summary>Every value of a field sent more than once (e.g. timestamp_granularities[]); empty when absent.</summary>
    public StringValues Values(string name) => Form.TryGetValue(name, out var v) ? v : StringValues.Empty;
}
