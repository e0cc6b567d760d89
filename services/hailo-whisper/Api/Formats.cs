using System.Globalization;
using System.Text;
using HailoWhisper.Pipeline;

namespace HailoWhisper.Api;

/// <summary>The OpenAI response formats of a transcript: text, SRT, WebVTT, json and verbose_json.</summary>
public static class Formats
{
    public static readonly string[] Names = ["json", "text", "srt", "verbose_json", "vtt"];

    /// <summary>hh:mm:ss,mmm (SRT) or hh:mm:ss.mmm (WebVTT), rounded to the millisecond.</summary>
    public static string Timestamp(double seconds, char separator)
    {
        var ms = (long)Math.Round(Math.Max(0, seconds) * 1000, MidpointRounding.AwayFromZero);
        return string.Create(CultureInfo.InvariantCulture, $"{ms / 3_600_000:00}:{ms / 60_000 % 60:00}:{ms / 1000 % 60:00}{separator}{ms % 1000:000}");
    }

    public static string Srt(Transcript t)
    {
        var sb = new StringBuilder();
        var n = 1;
        foreach (var s in t.Segments)
        {
            var text = s.Text.Trim();
            if (text.Length == 0) continue;
            sb.Append(n++).Append('\n')
              .Append(Timestamp(s.Start, ',')).Append(" --> ").Append(Timestamp(s.End, ',')).Append('\n')
              .Append(text).Append("\n\n");
        }
        return sb.ToString();
    }

    public static string Vtt(Transcript t)
    {
        var sb = new StringBuilder("WEBVTT\n\n");
        foreach (var s in t.Segments)
        {
            var text = s.Text.Trim();
            if (text.Length == 0) continue;
            sb.Append(Timestamp(s.Start, '.')).Append(" --> ").Append(Timestamp(s.End, '.')).Append('\n').Append(text).Append("\n\n");
        }
        return sb.ToString();
    }

    public static AudioUsage Usage(Transcript t) => new("duration", (int)Math.Ceiling(t.Duration));

    public static VerboseTranscription Verbose(Transcript t, string task, bool segments, bool words) => new(
        task,
        t.Language is null ? "" : Languages.Name(t.Language),
        Math.Round(t.Duration, 3),
        t.Text,
        segments ? t.Segments.Select(s => new VerboseSegment(s.Id, s.Seek, s.Start, s.End, s.Text, s.Tokens, s.Temperature,
            s.AvgLogprob ?? 0, s.CompressionRatio, s.NoSpeechProb ?? 0)).ToArray() : null,
        words ? t.Words.Select(w => new VerboseWord(w.Text, w.Start, w.End, w.Probability)).ToArray() : null,
        Usage(t));
}
