using Hailo.Hosting.Http;
using Hailo.Media;
using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>Base64 image fields: every encoding of a real image is read, server paths and URLs are refused.</summary>
public sealed class ImageInputTests
{
    [Fact]
    public void Jpeg_base64_starts_with_a_slash_and_is_still_an_image()
    {
        using var img = RgbaImage.Filled(16, 8, 10, 20, 30);
        var jpeg = img.Encode(ImageFormat.Jpeg);
        var b64 = Convert.ToBase64String(jpeg);
        Assert.StartsWith("/9j/", b64);
        Assert.Equal(jpeg, ImageInput.FromBase64(b64, "image"));
        Assert.Equal(jpeg, ImageInput.FromBase64("data:image/jpeg;base64," + b64, "image"));
    }

    [Theory]
    [InlineData(3000)]
    [InlineData(3001)]   // one '=' of padding
    [InlineData(3002)]   // two
    public void Every_base64_form_clients_send_decodes_to_the_same_bytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        var standard = Convert.ToBase64String(bytes);
        var urlSafe = standard.Replace('+', '-').Replace('/', '_');
        foreach (var form in new[]
        {
            standard,
            Convert.ToBase64String(bytes, Base64FormattingOptions.InsertLineBreaks),   // MIME lines of 76
            " \t" + standard + "\n",
            standard.TrimEnd('='),
            urlSafe,
            urlSafe.TrimEnd('='),
            "data:image/png;base64," + standard,
        })
            Assert.Equal(bytes, ImageInput.FromBase64(form, "image"));
        foreach (var bad in new[] { standard[..^5] + "*" + standard[^4..], standard + "A", "####" })
            Assert.Equal("invalid_base64", Assert.Throws<ApiException>(() => ImageInput.FromBase64(bad, "image")).Code);
    }

    [Theory]
    [InlineData("/etc/shadow")]
    [InlineData("/var/lib/x.jpg")]
    [InlineData("file:///etc/passwd")]
    [InlineData("https://example.invalid/a.png")]
    public void Paths_and_urls_are_refused(string value)
    {
        var e = Assert.Throws<ApiException>(() => ImageInput.FromBase64(value, "image"));
        Assert.Equal("unsupported_image_source", e.Code);
    }
}
