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
