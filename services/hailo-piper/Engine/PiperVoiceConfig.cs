using System.Text.Json;
using System.Text.Json.Serialization;

namespace HailoPiper.Engine;

/// <summary>A Piper voice's <c>.onnx.json</c>: the fields synthesis needs; every other field is ignored.</summary>
public sealed class PiperVoiceConfig
{
    [JsonPropertyName("audio")] public PiperAudio? Audio { get; set; }
    [JsonPropertyName("espeak")] public PiperEspeak? Espeak { get; set; }
    [JsonPropertyName("inference")] public PiperInference? Inference { get; set; }
    [JsonPropertyName("phoneme_type")] public string? PhonemeType { get; set; }
    [JsonPropertyName("phoneme_id_map")] public Dictionary<string, long[]>? PhonemeIdMap { get; set; }
    [JsonPropertyName("num_speakers")] public int NumSpeakers { get; set; } = 1;
    [JsonPropertyName("speaker_id_map")] public Dictionary<string, int>? SpeakerIdMap { get; set; }
    [JsonPropertyName("language")] public PiperLanguage? Language { get; set; }
    [JsonPropertyName("dataset")] public string? Dataset { get; set; }

    public int SampleRate => Audio?.SampleRate ?? 0;
    public string EspeakVoice => Espeak?.Voice ?? "";
    public float NoiseScale => Inference?.NoiseScale ?? 0.667f;
    public float LengthScale => Inference?.LengthScale ?? 1f;
    public float NoiseW => Inference?.NoiseW ?? 0.8f;
    /// <summary>"espeak" (the default) or "text" (phonemes are the text's own code points).</summary>
    public string EffectivePhonemeType => string.IsNullOrEmpty(PhonemeType) ? "espeak" : PhonemeType;

    /// <summary>Speaker names ordered by id ("0", "1", … where the voice names none); empty for one speaker.</summary>
    public IReadOnlyList<string> SpeakerNames()
    {
        if (NumSpeakers <= 1) return [];
        var names = new string[NumSpeakers];
        for (var i = 0; i < names.Length; i++) names[i] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (SpeakerIdMap is not null)
            foreach (var (name, id) in SpeakerIdMap)
                if (id >= 0 && id < names.Length) names[id] = name;
        return names;
    }

    /// <summary>Language codes (e.g. "en_US") from <c>language.code</c>, else from the espeak voice.</summary>
    public IReadOnlyList<string> Languages()
    {
        if (!string.IsNullOrEmpty(Language?.Code)) return [Language.Code];
        if (EspeakVoice.Length == 0) return [];
        var parts = EspeakVoice.Split('-', 2);
        return [parts.Length == 2 ? $"{parts[0]}_{parts[1].ToUpperInvariant()}" : parts[0]];
    }

    /// <summary>Reads and checks a voice config.</summary>
    /// <exception cref="VoiceLoadException">Missing, not JSON, or lacking what synthesis needs.</exception>
    public static PiperVoiceConfig Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VoiceLoadException($"voice config {Path.GetFileName(path)} cannot be read: {e.Message}", e);
        }
        return Parse(json, Path.GetFileName(path));
    }

    /// <summary>Parses and checks a voice config; <paramref name="name"/> names it in messages.</summary>
    /// <exception cref="VoiceLoadException">Not JSON, or lacking what synthesis needs.</exception>
    public static PiperVoiceConfig Parse(string json, string name = "voice config")
    {
        PiperVoiceConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(json, PiperConfigJsonContext.Default.PiperVoiceConfig);
        }
        catch (JsonException e)
        {
            throw new VoiceLoadException($"{name} is not a Piper voice config: {e.Message}", e);
        }
        if (config is null) throw new VoiceLoadException($"{name} is empty (null)");
        config.Validate(name);
        return config;
    }

    private void Validate(string name)
    {
        if (SampleRate is < 1000 or > 192000)
            throw new VoiceLoadException($"{name}: audio.sample_rate {SampleRate} is missing or out of range");
        if (EffectivePhonemeType is not ("espeak" or "text"))
            throw new VoiceLoadException($"{name}: phoneme_type '{PhonemeType}' is not supported (espeak and text are)");
        if (EffectivePhonemeType == "espeak" && EspeakVoice.Length == 0)
            throw new VoiceLoadException($"{name}: espeak.voice is missing");
        if (PhonemeIdMap is null || PhonemeIdMap.Count == 0)
            throw new VoiceLoadException($"{name}: phoneme_id_map is missing or empty");
        foreach (var symbol in new[] { PiperPhonemizer.Pad, PiperPhonemizer.Bos, PiperPhonemizer.Eos })
            if (!PhonemeIdMap.TryGetValue(symbol, out var ids) || ids is null || ids.Length == 0)
                throw new VoiceLoadException($"{name}: phoneme_id_map has no id for '{symbol}'");
        foreach (var (phoneme, ids) in PhonemeIdMap)
            if (ids is null || ids.Any(id => id < 0))
                throw new VoiceLoadException($"{name}: phoneme_id_map['{phoneme}'] is not a list of ids");
        if (NumSpeakers < 1) throw new VoiceLoadException($"{name}: num_speakers {NumSpeakers} is below 1");
        if (NoiseScale < 0 || LengthScale <= 0 || NoiseW < 0 || !float.IsFinite(NoiseScale + LengthScale + NoiseW))
            throw new VoiceLoadException($"{name}: inference scales are out of range");
    }
}

public sealed class PiperAudio
{
    [JsonPropertyName("sample_rate")] public int SampleRate { get; set; }
    [JsonPropertyName("quality")] public string? Quality { get; set; }
}

public sealed class PiperEspeak
{
    [JsonPropertyName("voice")] public string? Voice { get; set; }
}

public sealed class PiperInference
{
    [JsonPropertyName("noise_scale")] public float? NoiseScale { get; set; }
    [JsonPropertyName("length_scale")] public float? LengthScale { get; set; }
    [JsonPropertyName("noise_w")] public float? NoiseW { get; set; }
}

public sealed class PiperLanguage
{
    [JsonPropertyName("code")] public string? Code { get; set; }
    [JsonPropertyName("family")] public string? Family { get; set; }
    [JsonPropertyName("region")] public string? Region { get; set; }
    [JsonPropertyName("name_native")] public string? NameNative { get; set; }
    [JsonPropertyName("name_english")] public string? NameEnglish { get; set; }
}

[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(PiperVoiceConfig))]
internal sealed partial class PiperConfigJsonContext : JsonSerializerContext;
