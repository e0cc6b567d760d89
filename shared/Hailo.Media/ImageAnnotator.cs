using SkiaSharp;

namespace Hailo.Media;

/// <summary>An opaque colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B)
{
    internal SKColor ToSkia(byte alpha = 255) => new(R, G, B, alpha);
}

/// <summary>
/// Draws results (boxes, lines, dots) over a copy of an image with anti-aliased Skia strokes, then encodes it.
/// Coordinates are image pixels; <see cref="Thickness"/> scales strokes with the image so they stay visible.
/// </summary>
public sealed class ImageAnnotator : IDisposable
{
    private readonly SKBitmap _bitmap;
    private readonly SKCanvas _canvas;
    private readonly SKPaint _stroke = new() { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeCap = SKStrokeCap.Round };
    private readonly SKPaint _fill = new() { IsAntialias = true, Style = SKPaintStyle.Fill };

    public ImageAnnotator(RgbaImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        _bitmap = new SKBitmap(image.Bitmap.Info);
        image.Bitmap.GetPixelSpan().CopyTo(_bitmap.GetPixelSpan());
        _canvas = new SKCanvas(_bitmap);
    }

    public int Width => _bitmap.Width;
    public int Height => _bitmap.Height;

    /// <summary>A stroke width of <paramref name="atVga"/> pixels on a 640-pixel image, scaled with the image's shorter side.</summary>
    public float Thickness(float atVga) => MathF.Max(1, atVga * Math.Min(Width, Height) / 640f);

    public void Rectangle(float x1, float y1, float x2, float y2, Rgb colour, float width)
    {
        _stroke.Color = colour.ToSkia();
        _stroke.StrokeWidth = width;
        _canvas.DrawRect(SKRect.Create(x1, y1, x2 - x1, y2 - y1), _stroke);
    }

    public void Line(float x1, float y1, float x2, float y2, Rgb colour, float width)
    {
        _stroke.Color = colour.ToSkia();
        _stroke.StrokeWidth = width;
        _canvas.DrawLine(x1, y1, x2, y2, _stroke);
    }

    public void Dot(float x, float y, float radius, Rgb colour)
    {
        _fill.Color = colour.ToSkia();
        _canvas.DrawCircle(x, y, radius, _fill);
    }

    /// <summary>The annotated image as PNG or JPEG (quality 1-100).</summary>
    public byte[] Encode(ImageFormat format, int quality = 90)
    {
        _canvas.Flush();
        using var img = SKImage.FromBitmap(_bitmap);
        using var data = img.Encode(format == ImageFormat.Png ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    public void Dispose()
    {
        _stroke.Dispose();
        _fill.Dispose();
        _canvas.Dispose();
        _bitmap.Dispose();
    }
}
