using SkiaSharp;

namespace Hailo.Ocr.Tests.EndToEnd;

/// <summary>A line of text drawn into a scene, with the quadrilateral its ink covers.</summary>
public sealed record RenderedLine(string Text, SKPoint[] Quad);

/// <summary>
/// Renders known strings into an image (font, size, colours, rotation) so recognition can be scored
/// against the truth. Fonts come from Debian's fonts-dejavu-core, fonts-liberation and fonts-freefont-ttf.
/// </summary>
public sealed class TextScene
{
    public static readonly string[] FontFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ];

    public int Width { get; init; } = 1000;
    public int Height { get; init; } = 600;
    public SKColor Background { get; init; } = SKColors.White;
    public SKColor Ink { get; init; } = SKColors.Black;
    public float RotationDegrees { get; init; }
    public required string FontFile { get; init; }
    public float FontSize { get; init; } = 36;
    public float LineSpacing { get; init; } = 1.8f;
    /// <summary>Draw a gradient background instead of a flat one.</summary>
    public bool Gradient { get; init; }

    public (byte[] Png, List<RenderedLine> Lines) Render(IReadOnlyList<string> lines)
    {
        using var typeface = SKTypeface.FromFile(FontFile) ?? throw new FileNotFoundException("font missing (install fonts-dejavu-core fonts-liberation fonts-freefont-ttf)", FontFile);
        using var font = new SKFont(typeface, FontSize);
        using var bmp = new SKBitmap(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var canvas = new SKCanvas(bmp);
        if (Gradient)
        {
            using var shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(Width, Height),
                [Background, Background.WithRed((byte)(Background.Red * 0.8))], SKShaderTileMode.Clamp);
            using var bg = new SKPaint { Shader = shader };
            canvas.DrawRect(0, 0, Width, Height, bg);
        }
        else canvas.Clear(Background);

        var centre = new SKPoint(Width / 2f, Height / 2f);
        canvas.RotateDegrees(RotationDegrees, centre.X, centre.Y);
        var matrix = SKMatrix.CreateRotationDegrees(RotationDegrees, centre.X, centre.Y);
        using var paint = new SKPaint { Color = Ink, IsAntialias = true };
        var result = new List<RenderedLine>();
        var step = FontSize * LineSpacing;
        var y = (Height - step * lines.Count) / 2 + FontSize;
        foreach (var text in lines)
        {
            font.MeasureText(text, out var bounds, paint);
            var x = (Width - bounds.Width) / 2 - bounds.Left;
            canvas.DrawText(text, x, y, SKTextAlign.Left, font, paint);
            var ink = new SKRect(x + bounds.Left, y + bounds.Top, x + bounds.Right, y + bounds.Bottom);
            result.Add(new RenderedLine(text, [
                matrix.MapPoint(ink.Left, ink.Top), matrix.MapPoint(ink.Right, ink.Top),
                matrix.MapPoint(ink.Right, ink.Bottom), matrix.MapPoint(ink.Left, ink.Bottom)]));
            y += step;
        }
        canvas.Flush();
        using var image = SKImage.FromBitmap(bmp);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return (data.ToArray(), result);
    }
}

/// <summary>Character error rate: Levenshtein distance over the reference length.</summary>
public static class Cer
{
    public static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
