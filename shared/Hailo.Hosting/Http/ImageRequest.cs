using Hailo.Core;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Hailo.Hosting.Http;

/// <summary>
/// How a vision endpoint's request looks: its JSON body type, where the image is in it, and the options that may
/// also come as multipart form fields or (with a raw image body) as query parameters.
/// </summary>
public sealed class ImageRequestFormat<T> where T : class
{
    /// <summary>The JSON body (source-generated; unknown fields must be refused by its options).</summary>
    public required JsonTypeInfo<T> Json { get; init; }
    /// <summary>Where the JSON body keeps its image (base64 or a data URL).</summary>
    public required Func<T, string?> Image { get; init; }
    /// <summary>Option names accepted as form fields and query parameters, spelled as in the JSON body.</summary>
    public required string[] Options { get; init; }
    /// <summary>Builds the request from form fields or query parameters.</summary>
    public required Func<RequestFields, T> FromFields { get; init; }
    /// <summary>Multipart fields that may carry the image, the first one named in errors.</summary>
    public string[] ImageFields { get; init; } = ["image", "file"];
}

/// <summary>
/// Reads an image request the three ways the vision services accept it: JSON with base64 or a data URL, a
/// multipart form (file field plus option fields), or the raw image body with options as query parameters.
/// Unknown fields and malformed values are 400s that name the field.
/// </summary>
public static class ImageRequest
{
    public static async Task<(byte[] Image, T Request)> ReadAsync<T>(HttpRequest request, ImageRequestFormat<T> format, CancellationToken ct) where T : class
    {
        var contentType = request.ContentType ?? "";
        if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            var body = await JsonBody.ReadAsync(request, format.Json, ct).ConfigureAwait(false);
            var image = format.Image(body);
            if (image is null)
                throw ApiException.BadRequest("missing_image", $"the JSON body has no '{format.ImageFields[0]}' field (base64 or a data URL)", format.ImageFields[0]);
            return (ImageInput.FromBase64(image, format.ImageFields[0]), body);
        }
        if (contentType.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            var form = await FormBody.ReadAsync(request, ct).ConfigureAwait(false);
            foreach (var key in form.Keys.Concat(form.Files.Select(f => f.Name)))
                if (Array.IndexOf(format.ImageFields, key) < 0 && Array.IndexOf(format.Options, key) < 0)
                    throw ApiException.BadRequest("unknown_field",
                        $"unknown form field '{ClientText.Quote(key)}'; accepted: {string.Join(", ", format.ImageFields.Concat(format.Options))}", key);
            var image = await ImageInput.FromFormAsync(form, format.ImageFields, ct).ConfigureAwait(false);
            return (image, format.FromFields(new RequestFields(k => form.TryGetValue(k, out var v) ? v.ToString() : null)));
        }
        // Raw image body (the endpoint's content-type check already limited it to images).
        var raw = await ImageInput.FromBodyAsync(request, ct).ConfigureAwait(false);
        foreach (var key in request.Query.Keys)
            if (Array.IndexOf(format.Options, key) < 0)
                throw ApiException.BadRequest("unknown_field", $"unknown query parameter '{ClientText.Quote(key)}'; accepted: {string.Join(", ", format.Options)}", key);
        return (raw, format.FromFields(new RequestFields(k => request.Query.TryGetValue(k, out var v) ? v.ToString() : null)));
    }
}

/// <summary>Typed access to form fields or query parameters; a malformed value is a 400 naming the field.</summary>
public readonly struct RequestFields(Func<string, string?> get)
{
    /// <summary>The value, or null when absent or empty.</summary>
    public string? Text(string name) => get(name) is { Length: > 0 } v ? v : null;

    public double? Number(string name)
    {
        var v = Text(name);
        if (v is null) return null;
        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d : throw ApiException.BadRequest("invalid_parameter", $"'{name}' must be a number, got '{ClientText.Quote(v)}'", name);
    }

    public int? Integer(string name)
    {
        var v = Text(name);
        if (v is null) return null;
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
            ? i : throw ApiException.BadRequest("invalid_parameter", $"'{name}' must be an integer, got '{ClientText.Quote(v)}'", name);
    }

    public bool? Flag(string name)
    {
        var v = Text(name);
        return v is null ? null : v.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" or "on" => true,
            "false" or "0" or "no" or "off" => false,
            _ => throw ApiException.BadRequest("invalid_parameter", $"'{name}' must be true or false, got '{ClientText.Quote(v)}'", name),
        };
    }
}
