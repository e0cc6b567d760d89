using System.Net.Http.Headers;
using System.Text.Json;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace Hailo.Ocr.Tests.EndToEnd;

/// <summary>
/// The whole service with the real PP-OCRv4 models reads rendered text back. What this proves: detection,
/// boxes, crops, recognition and CTC decoding work together on clean synthetic text in several fonts,
/// sizes, colours and small rotations. What it does not: accuracy on photos, handwriting or layouts.
/// </summary>
[Collection("ocr-service")]
public sealed class RecognitionAccuracyTests(OcrServiceFixture fixture, ITestOutputHelper output)
{
    private static readonly string[][] Texts =
    [
        ["Raspberry Pi 5 with AI HAT", "Invoice 12345 due 2026-12-01", "Total: 49.90 EUR"],
        ["The quick brown fox jumps", "over the lazy dog", "Hailo NPU at 40 TOPS"],
        ["Order #A-778 shipped today", "Call 555-0147 for support", "Room 204, Floor 3"],
    ];

    public sealed record Scene(string Name, int Font, float Size, string Ink, string Background, float Rotation, bool Gradient, int TextSet, float Spacing = 1.8f);

    public static IEnumerable<object[]> Scenes()
    {
        var list = new List<Scene>
        {
            new("dejavu-sans 36 black/white", 0, 36, "000000", "FFFFFF", 0, false, 0),
            new("dejavu-serif 30 navy/cream", 1, 30, "1A237E", "FFF8E1", 0, false, 1),
            new("liberation-sans 24 black/white", 2, 24, "000000", "FFFFFF", 0, false, 2),
            new("liberation-serif 44 dark red/grey", 3, 44, "8B0000", "E0E0E0", 0, false, 0),
            new("liberation-mono 28 green/white", 4, 28, "1B5E20", "FFFFFF", 0, false, 1),
            new("freesans 32 white/dark", 5, 32, "FFFFFF", "263238", 0, false, 2),
            new("dejavu-bold 40 black/gradient", 6, 40, "000000", "FFFFFF", 0, true, 1),
            new("dejavu-sans 34 rotated +4", 0, 34, "000000", "FFFFFF", 4, false, 2),
            new("liberation-sans 34 rotated -6", 2, 34, "202020", "F5F5F5", -6, false, 0),
            new("freesans 20 small", 5, 20, "000000", "FFFFFF", 0, false, 0),
            new("dejavu-serif 30 tight lines", 1, 30, "000000", "FFFFFF", 0, false, 2, 1.35f),
            new("liberation-sans 30 orange/blue", 2, 30, "FF8F00", "0D47A1", 2, false, 1),
        };
        return list.Select(s => new object[] { s });
    }

    private static readonly List<(string Scene, int Errors, int Chars)> Totals = [];

    [Theory]
    [MemberData(nameof(Scenes))]
    public async Task Rendered_lines_are_read_back(Scene scene)
    {
        var (errors, chars, coverage) = await RunScene(scene);
        lock (Totals) Totals.Add((scene.Name, errors, chars));
        output.WriteLine($"{scene.Name}: CER {(double)errors / chars:P1} ({errors}/{chars}), min box coverage {coverage:P0}");
        // Per scene a looser bound; the overall bound is checked below.
        Assert.True((double)errors / chars <= 0.10, $"{scene.Name}: CER {(double)errors / chars:P1}");
        Assert.True(coverage >= 0.9, $"{scene.Name}: boxes cover only {coverage:P0} of a rendered line");
    }

    [Fact]
    public async Task Character_error_rate_over_all_scenes_is_at_most_5_percent()
    {
        int errors = 0, chars = 0;
        foreach (var s in Scenes().Select(o => (Scene)o[0]))
        {
            var (e, c, _) = await RunScene(s);
            errors += e;
            chars += c;
        }
        var cer = (double)errors / chars;
        output.WriteLine($"overall CER {cer:P2} ({errors}/{chars})");
        Assert.True(cer <= 0.05, $"overall CER {cer:P2}");
    }

    private async Task<(int Errors, int Chars, double MinCoverage)> RunScene(Scene s)
    {
        var ts = new TextScene
        {
            FontFile = TextScene.FontFiles[s.Font], FontSize = s.Size, Ink = SKColor.Parse(s.Ink), Background = SKColor.Parse(s.Background),
            RotationDegrees = s.Rotation, Gradient = s.Gradient, LineSpacing = s.Spacing,
        };
        var (png, lines) = ts.Render(Texts[s.TextSet]);
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(png);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
        form.Add(file, "image", "scene.png");
        var response = await fixture.Client.PostAsync("/v1/ocr/extract", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        using var doc = JsonDocument.Parse(body);
        var regions = doc.RootElement.GetProperty("regions").EnumerateArray().Select(r => (
            Text: r.GetProperty("text").GetString()!,
            Quad: r.GetProperty("bbox").EnumerateArray().Select(p => new SKPoint((float)p[0].GetDouble(), (float)p[1].GetDouble())).ToArray())).ToList();

        int errors = 0, chars = 0;
        var minCoverage = 1.0;
        var used = new HashSet<int>();
        foreach (var line in lines)
        {
            // Regions whose centre lies inside the rendered line's ink box (slightly grown) belong to it.
            var grown = Grow(line.Quad, 6);
            var mine = regions.Select((r, i) => (r, i)).Where(x => Inside(grown, Centre(x.r.Quad))).ToList();
            foreach (var (_, i) in mine) used.Add(i);
            var read = string.Join(" ", mine.OrderBy(x => Centre(x.r.Quad).X).Select(x => x.r.Text));
            errors += Cer.Distance(read, line.Text);
            chars += line.Text.Length;
            minCoverage = Math.Min(minCoverage, Coverage(line.Quad, mine.Select(x => x.r.Quad).ToList()));
            output.WriteLine($"  '{line.Text}' -> '{read}'");
        }
        // Anything read outside every rendered line is an error too (hallucinated text).
        foreach (var (r, i) in regions.Select((r, i) => (r, i)).Where(x => !used.Contains(x.i)))
        {
            errors += r.Text.Length;
            output.WriteLine($"  stray region '{r.Text}'");
        }
        return (errors, chars, minCoverage);
    }

    private static SKPoint Centre(SKPoint[] q) => new((q[0].X + q[1].X + q[2].X + q[3].X) / 4, (q[0].Y + q[1].Y + q[2].Y + q[3].Y) / 4);

    private static SKPoint[] Grow(SKPoint[] q, float by)
    {
        var c = Centre(q);
        return q.Select(p =>
        {
            var d = new SKPoint(p.X - c.X, p.Y - c.Y);
            var len = MathF.Sqrt(d.X * d.X + d.Y * d.Y);
            return new SKPoint(p.X + d.X / len * by, p.Y + d.Y / len * by);
        }).ToArray();
    }

    /// <summary>Point in a convex quadrilateral (either winding).</summary>
    internal static bool Inside(SKPoint[] q, SKPoint p)
    {
        int pos = 0, neg = 0;
        for (var i = 0; i < 4; i++)
        {
            var a = q[i];
            var b = q[(i + 1) % 4];
            var cross = (b.X - a.X) * (p.Y - a.Y) - (b.Y - a.Y) * (p.X - a.X);
            if (cross > 0) pos++;
            else if (cross < 0) neg++;
        }
        return pos == 0 || neg == 0;
    }

    /// <summary>Fraction of a grid of points over the ink box that lie inside some predicted quad.</summary>
    private static double Coverage(SKPoint[] ink, List<SKPoint[]> predicted)
    {
        if (predicted.Count == 0) return 0;
        int hit = 0, total = 0;
        for (var u = 0.05f; u < 1; u += 0.1f)
            for (var v = 0.1f; v < 1; v += 0.2f)
            {
                var top = Lerp(ink[0], ink[1], u);
                var bottom = Lerp(ink[3], ink[2], u);
                var p = Lerp(top, bottom, v);
                total++;
                if (predicted.Any(q => Inside(q, p))) hit++;
            }
        return (double)hit / total;
    }

    private static SKPoint Lerp(SKPoint a, SKPoint b, float t) => new(a.X + (b.X - a.X) * t, a.Y + (b.Y - a.Y) * t);
}
