namespace Hailo.Media;

/// <summary>
/// Decodes a request's image. The services take it from dependency injection (registered as
/// <see cref="SkiaImageDecoder"/>) and call it only once the request holds its place in the model's queue, so the
/// queue bounds how many images are decoded at once.
/// </summary>
public interface IImageDecoder
{
    /// <inheritdoc cref="ImageDecoder.Decode(ReadOnlySpan{byte}, long, Func{int, int, ValueTuple{int, int}}?)"/>
    RgbaImage Decode(ReadOnlySpan<byte> data, long maxPixels, Func<int, int, (int Width, int Height)>? atLeast = null);
}

/// <summary>The decoder the services use: <see cref="ImageDecoder"/> (Skia).</summary>
public sealed class SkiaImageDecoder : IImageDecoder
{
    public static readonly SkiaImageDecoder Instance = new();

    public RgbaImage Decode(ReadOnlySpan<byte> data, long maxPixels, Func<int, int, (int Width, int Height)>? atLeast = null) =>
        ImageDecoder.Decode(data, maxPixels, atLeast);
}
