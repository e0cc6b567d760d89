using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Hailo.Audio;

namespace HailoWhisper.Pipeline;

/// <summary>
/// Runs a model over audio window by window (<see cref="AudioWindows"/>), shifts each window's times by its start,
/// numbers the segments and joins the text. Digital silence is skipped without calling the model. Audio comes either
/// whole (<see cref="Run(ISpeechModel, float[], TranscribeOptions, double, CancellationToken, Action?)"/>) or as it is
/// decoded (<see cref="Run(ISpeechModel, AudioStream, TranscribeOptions, double, CancellationToken, Action?)"/>, which
/// holds one window at a time); the same audio gives the same windows and the same transcript either way.
/// </summary>
public static class Transcriber
{
    /// <param name="progress">Called after every window and whenever the model reports progress inside one (the watchdog's sign of life).</param>
    public static Transcript Run(ISpeechModel model, float[] samples, TranscribeOptions options, double windowSeconds, CancellationToken ct,
        Action? progress = null)
    {
        var run = new Collector(model, options, progress);
        var windows = AudioWindows.Split(samples, windowSeconds);
        foreach (var (start, length) in windows)
        {
            ct.ThrowIfCancellationRequested();
            run.Window(samples.AsSpan(start, length), start);
        }
        return run.Finish(samples.Length);
    }

    /// <summary>
    /// Transcribes audio as <paramref name="audio"/> decodes it: each window as soon as it is decoded, with one window
    /// in memory. A decode error, or audio over the length limit, found on the way ends the run with that error.
    /// </summary>
    /// <param name="progress">Called after every window, every decoded block and whenever the model reports progress inside a window.</param>
    public static Transcript Run(ISpeechModel model, AudioStream audio, TranscribeOptions options, double windowSeconds, CancellationToken ct,
        Action? progress = null)
    {
        var run = new Collector(model, options, progress);
        using var windows = new StreamingWindows(audio, windowSeconds, ct, progress);
        while (windows.MoveNext())
        {
            ct.ThrowIfCancellationRequested();
            run.Window(windows.Current, windows.Start);
        }
        return run.Finish(windows.Samples);
    }

    /// <summary>The transcript being built, window by window.</summary>
    private sealed class Collector
    {
        private readonly ISpeechModel _model;
        private readonly TranscribeOptions _options;
        private readonly Action? _progress;
        private readonly List<Segment> _segments = [];
        private readonly Stopwatch _modelTime = new();
        private string? _language;
        private int _windows;

        public Collector(ISpeechModel model, TranscribeOptions options, Action? progress)
        {
            _model = model;
            _options = options;
            _progress = progress;
            _language = options.Language;
        }

        public void Window(ReadOnlySpan<float> window, long start)
        {
            _windows++;
            // Under 0.1 s there is no word to find, and whisper.cpp cannot even detect a language in it (it throws).
            if (window.Length < AudioWindows.Rate / 10 || AudioWindows.IsSilent(window)) return;
            _modelTime.Start();
            var result = _model.Transcribe(window, _options with { Language = _language }, _progress);
            _modelTime.Stop();
            _progress?.Invoke();
            _language ??= result.Language;
            var offset = start / (double)AudioWindows.Rate;
            var windowEnd = (start + window.Length) / (double)AudioWindows.Rate;
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
                _segments.Add(new Segment(_segments.Count, (int)Math.Round(offset * 100), Round(st), Round(en), text, s.Tokens,
                    _options.Temperature, s.AvgLogprob, CompressionRatio(text), words, s.NoSpeechProb));
            }
        }

        public Transcript Finish(long samples)
        {
            var joined = string.Join(" ", _segments.Select(s => s.Text.Trim()).Where(t => t.Length > 0));
            return new Transcript(joined, _language, samples / (double)AudioWindows.Rate, _segments, _windows, _modelTime.Elapsed.TotalSeconds);
        }
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
