namespace HailoWhisper;

/// <summary>Whisper's languages: ISO-639-1 (or Whisper's own) code and the lower-case English name OpenAI reports.</summary>
public static class Languages
{
    private static readonly Dictionary<string, string> s_names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["en"] = "english", ["zh"] = "chinese", ["de"] = "german", ["es"] = "spanish", ["ru"] = "russian", ["ko"] = "korean",
        ["fr"] = "french", ["ja"] = "japanese", ["pt"] = "portuguese", ["tr"] = "turkish", ["pl"] = "polish", ["ca"] = "catalan",
        ["nl"] = "dutch", ["ar"] = "arabic", ["sv"] = "swedish", ["it"] = "italian", ["id"] = "indonesian", ["hi"] = "hindi",
        ["fi"] = "finnish", ["vi"] = "vietnamese", ["he"] = "hebrew", ["uk"] = "ukrainian", ["el"] = "greek", ["ms"] = "malay",
        ["cs"] = "czech", ["ro"] = "romanian", ["da"] = "danish", ["hu"] = "hungarian", ["ta"] = "tamil", ["no"] = "norwegian",
        ["th"] = "thai", ["ur"] = "urdu", ["hr"] = "croatian", ["bg"] = "bulgarian", ["lt"] = "lithuanian", ["la"] = "latin",
        ["mi"] = "maori", ["ml"] = "malayalam", ["cy"] = "welsh", ["sk"] = "slovak", ["te"] = "telugu", ["fa"] = "persian",
        ["lv"] = "latvian", ["bn"] = "bengali", ["sr"] = "serbian", ["az"] = "azerbaijani", ["sl"] = "slovenian", ["kn"] = "kannada",
        ["et"] = "estonian", ["mk"] = "macedonian", ["br"] = "breton", ["eu"] = "basque", ["is"] = "icelandic", ["hy"] = "armenian",
        ["ne"] = "nepali", ["mn"] = "mongolian", ["bs"] = "bosnian", ["kk"] = "kazakh", ["sq"] = "albanian", ["sw"] = "swahili",
        ["gl"] = "galician", ["mr"] = "marathi", ["pa"] = "punjabi", ["si"] = "sinhala", ["km"] = "khmer", ["sn"] = "shona",
        ["yo"] = "yoruba", ["so"] = "somali", ["af"] = "afrikaans", ["oc"] = "occitan", ["ka"] = "georgian", ["be"] = "belarusian",
        ["tg"] = "tajik", ["sd"] = "sindhi", ["gu"] = "gujarati", ["am"] = "amharic", ["yi"] = "yiddish", ["lo"] = "lao",
        ["uz"] = "uzbek", ["fo"] = "faroese", ["ht"] = "haitian creole", ["ps"] = "pashto", ["tk"] = "turkmen", ["nn"] = "nynorsk",
        ["mt"] = "maltese", ["sa"] = "sanskrit", ["lb"] = "luxembourgish", ["my"] = "myanmar", ["bo"] = "tibetan", ["tl"] = "tagalog",
        ["mg"] = "malagasy", ["as"] = "assamese", ["tt"] = "tatar", ["haw"] = "hawaiian", ["ln"] = "lingala", ["ha"] = "hausa",
        ["ba"] = "bashkir", ["jw"] = "javanese", ["su"] = "sundanese", ["yue"] = "cantonese",
    };

    private static readonly Dictionary<string, string> s_codes = s_names.ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.OrdinalIgnoreCase);

    public static IReadOnlyCollection<string> Codes => s_names.Keys;

    public static bool IsKnown(string code) => s_names.ContainsKey(code);

    /// <summary>A code ("en") or an English name ("English") to the code, or null.</summary>
    public static string? Normalize(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var v = value.Trim();
        if (s_names.ContainsKey(v)) return v.ToLowerInvariant();
        if (s_codes.TryGetValue(v, out var code)) return code;
        // "en-US", "en_GB": the language part.
        var dash = v.IndexOfAny(['-', '_']);
        return dash > 0 && s_names.ContainsKey(v[..dash]) ? v[..dash].ToLowerInvariant() : null;
    }

    /// <summary>OpenAI's verbose_json language: the English name ("english"), or the code when unknown.</summary>
    public static string Name(string code) => s_names.TryGetValue(code, out var n) ? n : code;
}
