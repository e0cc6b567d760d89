using System.Text;

namespace HailoOcr.Pipeline;

/// <summary>
/// Greedy CTC decoding of a recognition model's per-step class probabilities into text, with the PaddleOCR
/// class layout: 0 is the blank, then the dictionary entries, then optionally a space.
/// </summary>
public sealed class CtcDecoder
{
    private readonly string[] _classes; // index 0 (blank) is unused

    /// <summary>alphabet[i] is the string for class index i+1 (index 0 is the CTC blank). If appendSpace, the class after the alphabet is " ".</summary>
    public CtcDecoder(IReadOnlyList<string> alphabet, bool appendSpace)
    {
        ArgumentNullException.ThrowIfNull(alphabet);
        _classes = new string[1 + alphabet.Count + (appendSpace ? 1 : 0)];
        _classes[0] = "";
        for (var i = 0; i < alphabet.Count; i++)
            _classes[i + 1] = alphabet[i] ?? throw new ArgumentException($"alphabet entry {i} is null", nameof(alphabet));
        if (appendSpace) _classes[^1] = " ";
    }

    /// <summary>1 + alphabet.Count (+1 with space).</summary>
    public int ClassCount => _classes.Length;

    /// <summary>
    /// Greedy decoding of <paramref name="steps"/> rows × <paramref name="classes"/> columns (softmax output of one
    /// line): argmax per step, collapse repeats, drop blanks. Confidence is the mean max probability of the kept
    /// steps (0 when nothing is kept).
    /// </summary>
    /// <exception cref="ArgumentException">classes differs from <see cref="ClassCount"/>, or the span is too short.</exception>
    public (string Text, float Confidence) Decode(ReadOnlySpan<float> probabilities, int steps, int classes)
    {
        if (classes != ClassCount)
            throw new ArgumentException($"the model has {classes} classes but the dictionary gives {ClassCount}", nameof(classes));
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (probabilities.Length < (long)steps * classes)
            throw new ArgumentException($"expected {(long)steps * classes} probabilities, got {probabilities.Length}", nameof(probabilities));

        var text = new StringBuilder();
        double confidenceSum = 0;
        var kept = 0;
        var previous = 0;
        for (var t = 0; t < steps; t++)
        {
            var row = probabilities.Slice(t * classes, classes);
            var best = 0;
            var bestP = row[0];
            for (var c = 1; c < row.Length; c++)
            {
                if (row[c] > bestP)
                {
                    bestP = row[c];
                    best = c;
                }
            }
            // A repeat only collapses when nothing (not even a blank) lies between: blanks reset `previous`.
            if (best != 0 && best != previous)
            {
                text.Append(_classes[best]);
                confidenceSum += bestP;
                kept++;
            }
            previous = best;
        }
        return (text.ToString(), kept == 0 ? 0f : (float)(confidenceSum / kept));
    }

    /// <summary>
    /// Loads a PaddleOCR dictionary: one entry per line (UTF-8), kept verbatim except a trailing '\r'
    /// (no trimming: a line holding a space is the space class).
    /// </summary>
    public static CtcDecoder FromDictionaryFile(string path, bool appendSpace)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // File.ReadAllLines would also split on a lone '\r'; only '\n' separates entries here.
        var content = File.ReadAllText(path, Encoding.UTF8);
        var entries = new List<string>();
        var rest = content.AsSpan();
        while (rest.Length > 0)
        {
            var nl = rest.IndexOf('\n');
            var line = nl < 0 ? rest : rest[..nl];
            if (line.Length > 0 && line[^1] == '\r') line = line[..^1];
            entries.Add(line.ToString());
            if (nl < 0) break;
            rest = rest[(nl + 1)..];
        }
        return new CtcDecoder(entries, appendSpace);
    }
}
