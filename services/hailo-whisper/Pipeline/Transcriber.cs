using System.Diagnostics;
using System.IO.Compression;
using System.Text;

namespace HailoWhisper.Pipeline;

/// <summary>
/// Runs a model over audio window by window (<see cref="AudioWindows"/>), shifts each window's times by its start,
/// numbers the segments and joins the text. Digital silence is skipped without calling the model.
/// </summary>
public static class Transcriber
{
    /// <param name="progress">Called after every window and whenever the model reports progress inside one (the watchdog's sign of life).</param>
    public static Transcript Run(ISpeechModel model, float[] samples, TranscribeOptions options, double windowSeconds, CancellationToken ct,
        Action? progress = null)
    {
        var segments = new List<Segment>();
        string? language = options.Language;
        var windows = AudioWindows.Split(samples, windowSeconds);
        var modelTime = Stopwatch.StartNew();
        modelTime.Stop();
        foreach (var (start, length) in windows)
        {
            ct.ThrowIfCancellationRequested();
            var window = samples.AsSpan(start, length);
            if (AudioWindows.IsSilent(window)) continue;
            modelTime.Start();
            var result = model.Transcribe(window, options with { Language = language }, progress);
            modelTime.Stop();
            progress?.Invoke();
            language ??= result.Language;
            var offset = start / (double)AudioWindows.Rate;
            var windowEnd = (start + length) / (double)AudioWindows.Rate;
            foreach (var s in result.Segments)
            {
                var text = s.Text;
                if (string.IsNullOrWhiteSpace(text)) continue;
                var st = Math.Min(offset + Math.Max(0, s.Start), windowEnd);
                var en = Math.Clamp(offset + s.End, st, windowEnd);
                var words = s.Words?.Select(w => w with
                {
                    Start = Math.Min(offset + Math.Max(0, w.Start), windowEnd),
                    End = Math.Clamp(offset + w.End, Math.Min(offset + Math.Max(0, w.Start), windowEnd), windowEnd),
                }).ToArray();
                segments.Add(new Segment(segments.Count, (int)Math.Round(offset * 100), Round(st), Round(en), text, s.Tokens,
                    options.Temperature, s.AvgLogprob, CompressionRatio(text), words, s.NoSpeechProb));
            }
        }
        var joined = string.Join(" ", segments.Select(s => s.Text.Trim()).Where(t => t.Length > 0));
        return new Transcript(joined, language, samples.Length / (double)AudioWindows.Rate, segments, windows.Count, modelTime.Elapsed.TotalSeconds);
    }

    private static double Round(double seconds) => Math.Round(seconds, 3);

    /// <summary>Whisper's compression ratio: UTF-8 length over zlib-compressed length (high = repetitive text).</summary>
    public static double CompressionRatio(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length == 0) return 0;
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(bytes);
        return Math.Round(bytes.Length / (double)ms.Length, 4);
    }
}
