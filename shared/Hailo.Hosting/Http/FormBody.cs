using Microsoft.AspNetCore.Http;

namespace Hailo.Hosting.Http;

/// <summary>Reads multipart and form-encoded bodies; a broken one is a 400, one over the body limit the host's 413.</summary>
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
}
