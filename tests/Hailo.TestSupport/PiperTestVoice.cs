using System.Globalization;
using System.Text;

namespace Hailo.TestSupport;

/// <summary>
/// A VITS-shaped stand-in for a Piper voice: an ONNX model with a real voice's inputs and outputs (<c>input</c>
/// int64 [1, n] phoneme ids, <c>input_lengths</c> int64 [1], <c>scales</c> float [3], and <c>sid</c> int64 [1]
/// when multi-speaker; <c>output</c> float [1, 1, 1, samples]) and a matching <c>.onnx.json</c>. The model speaks
/// no words: each id becomes floor(256 × length_scale) samples of a sine whose frequency depends on the id (and
/// on the speaker), raised by an offset made of the noise scales (<see cref="Offset"/>), so tests can see the ids,
/// the three scales in their order and the speaker reach the model.
/// </summary>
public static class PiperTestVoice
{
    public const int SamplesPerId = 256;
    public const int SampleRate = 22050;

    /// <summary>Radians per sample of the tone for a phoneme id and speaker: what tests decode the ids back with.</summary>
    public static double Frequency(long id, long speaker = 0) => 0.05 + 0.01 * id + 0.003 * speaker;

    /// <summary>The constant the model adds to its sine: 0.1 × noise_scale + 0.05 × noise_w.</summary>
    public static double Offset(double noiseScale, double noiseW) => 0.1 * noiseScale + 0.05 * noiseW;

    /// <summary>Punctuation, ASCII letters and the IPA symbols espeak-ng's English voices use, in id order after
    /// pad (0), BOS (1) and EOS (2).</summary>
    public const string Symbols =
        " !'(),-.:;?abcdefghijklmnopqrstuvwxyzæçðøŋœɐɑɒɔəɚɛɜɞɡɪɫɬɹɾʃʊʌʍʒʔˈˌːˑ˞θχᵻ\u0303\u0327\u0329\u032A\u032F";

    /// <summary>The phoneme id map: "_" 0, "^" 1, "$" 2, then <see cref="Symbols"/> from 3, minus
    /// <paramref name="omit"/>.</summary>
    public static Dictionary<string, long[]> PhonemeIdMap(string omit = "")
    {
        var map = new Dictionary<string, long[]> { ["_"] = [0], ["^"] = [1], ["$"] = [2] };
        var id = 3L;
        foreach (var rune in Symbols.EnumerateRunes())
        {
            var s = rune.ToString();
            if (!omit.Contains(s, StringComparison.Ordinal)) map[s] = [id];
            id++;
        }
        return map;
    }

    /// <summary>Writes <paramref name="directory"/>/<paramref name="name"/>.onnx and its .onnx.json; returns the
    /// model's path.</summary>
    /// <param name="speakers">Speaker names; more than one makes a multi-speaker voice with a <c>sid</c> input.</param>
    /// <param name="omit">Symbols left out of the id map (to see missing phonemes skipped).</param>
    /// <param name="extraWeightBytes">An unused weight of this size, to give the model a real voice's size.</param>
    public static string Write(string directory, string name = "test_voice", string[]? speakers = null,
        string espeakVoice = "en-us", float noiseScale = 0.667f, float lengthScale = 1f, float noiseW = 0.8f,
        string omit = "", long extraWeightBytes = 0)
    {
        Directory.CreateDirectory(directory);
        var multi = speakers is { Length: > 1 };
        var model = Path.Combine(directory, name + ".onnx");
        File.WriteAllBytes(model, Model(multi, extraWeightBytes));
        File.WriteAllText(model + ".json", Config(espeakVoice, noiseScale, lengthScale, noiseW, PhonemeIdMap(omit),
            multi ? speakers! : null));
        return model;
    }

    /// <summary>The ONNX model; see the class summary.</summary>
    public static byte[] Model(bool multiSpeaker, long extraWeightBytes = 0)
    {
        var w = new OnnxWriter();
        w.Input("input", [1, -1], OnnxWriter.Int64, ["batch_size", "phonemes"]);
        w.Input("input_lengths", [1], OnnxWriter.Int64, ["batch_size"]);
        w.Input("scales", [3], OnnxWriter.Float);
        if (multiSpeaker) w.Input("sid", [1], OnnxWriter.Int64, ["batch_size"]);
        w.Output("output", [1, 1, 1, -1], OnnxWriter.Float, ["batch_size", null, null, "time"]);

        // Samples per id: floor(256 × length_scale), at least 1.
        var lengthScale = w.Node("Gather", ["scales", w.ConstantInt64([1], [])], null, ("axis", 0L));
        var perIdFloat = w.Node("Floor", [w.Node("Mul", [lengthScale, w.Constant([SamplesPerId], [])])]);
        var perId = w.Node("Max", [w.Node("Cast", [perIdFloat], null, ("to", (long)OnnxWriter.Int64)), w.ConstantInt64([1], [])]);
        var count = w.Node("Gather", [w.Node("Shape", ["input"]), w.ConstantInt64([1], [])], null, ("axis", 0L));
        var total = w.Node("Mul", [count, perId]);
        var sizes = w.Node("Concat", [w.ConstantInt64([1, 1, 1], [3]), w.Node("Reshape", [total, w.ConstantInt64([1], [1])])], null, ("axis", 0L));

        // Each id held for its samples, then a tone per id: 0.5 sin(t (0.05 + 0.01 id + 0.003 sid)) + offset.
        var ids = w.Node("Reshape", [w.Node("Cast", ["input"], null, ("to", (long)OnnxWriter.Float)), w.ConstantInt64([1, 1, 1, -1], [4])]);
        var held = w.Node("Resize", [ids, "", "", sizes], null, ("mode", "nearest"), ("nearest_mode", "floor"),
            ("coordinate_transformation_mode", "asymmetric"));
        var frequency = w.Node("Add", [w.Node("Mul", [held, w.Constant([0.01f], [])]), w.Constant([0.05f], [])]);
        if (multiSpeaker)
        {
            var sid = w.Node("Mul", [w.Node("Cast", ["sid"], null, ("to", (long)OnnxWriter.Float)), w.Constant([0.003f], [])]);
            frequency = w.Node("Add", [frequency, sid]);
        }
        var time = w.Node("Cast", [w.Node("Range", [w.ConstantInt64([0], []), total, w.ConstantInt64([1], [])])], null, ("to", (long)OnnxWriter.Float));
        var phase = w.Node("Mul", [w.Node("Reshape", [time, w.ConstantInt64([1, 1, 1, -1], [4])]), frequency]);
        var noiseScale = w.Node("Gather", ["scales", w.ConstantInt64([0], [])], null, ("axis", 0L));
        var noiseW = w.Node("Gather", ["scales", w.ConstantInt64([2], [])], null, ("axis", 0L));
        var offset = w.Node("Add", [w.Node("Mul", [noiseScale, w.Constant([0.1f], [])]), w.Node("Mul", [noiseW, w.Constant([0.05f], [])])]);
        w.Node("Add", [w.Node("Mul", [w.Node("Sin", [phase]), w.Constant([0.5f], [])]), offset], "output");
        if (extraWeightBytes >= 4) w.Constant(new float[extraWeightBytes / 4], [extraWeightBytes / 4], "unused_weights");
        return w.ToBytes("vits_test");
    }

    /// <summary>The .onnx.json text for a voice made by <see cref="Model"/>.</summary>
    public static string Config(string espeakVoice, float noiseScale, float lengthScale, float noiseW,
        IReadOnlyDictionary<string, long[]> idMap, string[]? speakers)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("{\n  \"dataset\": \"test\",\n  \"audio\": {\"sample_rate\": ").Append(SampleRate).Append(", \"quality\": \"medium\"},\n");
        sb.Append("  \"espeak\": {\"voice\": \"").Append(espeakVoice).Append("\"},\n");
        sb.Append("  \"language\": {\"code\": \"en_US\", \"family\": \"en\", \"region\": \"US\"},\n");
        sb.Append(inv, $"  \"inference\": {{\"noise_scale\": {noiseScale}, \"length_scale\": {lengthScale}, \"noise_w\": {noiseW}}},\n");
        sb.Append("  \"phoneme_type\": \"espeak\",\n  \"phoneme_map\": {},\n  \"phoneme_id_map\": {");
        var first = true;
        foreach (var (symbol, ids) in idMap)
        {
            sb.Append(first ? "\n    " : ",\n    ");
            first = false;
            sb.Append('"').Append(symbol switch { "\"" => "\\\"", "\\" => "\\\\", _ => symbol }).Append("\": [")
                .Append(string.Join(", ", ids.Select(i => i.ToString(inv)))).Append(']');
        }
        sb.Append("\n  },\n");
        sb.Append("  \"num_symbols\": ").Append(idMap.Values.Max(v => v.Max()) + 1).Append(",\n");
        sb.Append("  \"num_speakers\": ").Append(speakers?.Length ?? 1).Append(",\n");
        sb.Append("  \"speaker_id_map\": {")
            .Append(string.Join(", ", (speakers ?? []).Select((s, i) => $"\"{s}\": {i}"))).Append("},\n");
        sb.Append("  \"piper_version\": \"1.0.0\"\n}\n");
        return sb.ToString();
    }
}
