using Hailo.Core;
using Hailo.Hosting.Models;

namespace HailoPiper;

/// <summary>
/// The voices this service knows. CMU Flite's US English voices ("flite:slt", the default; libflite1) and espeak-ng's
/// own voices ("espeak:en-us": libespeak-ng and espeak-ng-data) are built in, from Debian, nothing to download. Piper voices are VITS models, each an .onnx file with its .onnx.json, published
/// at huggingface.co/rhasspy/piper-voices (v1.0.0); no checksum is pinned here (the files could not be fetched to
/// hash them), so they are marked unverified. A directory in the models dir holding &lt;name&gt;.onnx and
/// &lt;name&gt;.onnx.json is picked up as a voice too.
/// </summary>
public static class PiperModels
{
    /// <summary>
    /// The built-in default: CMU Flite's slt (libflite1), the Debian voice that Debian's recogniser (pocketsphinx)
    /// understands best of flite, espeak-ng and festival's (the figures are in the README).
    /// </summary>
    public const string DefaultVoice = "flite:slt";
    public const string EspeakPrefix = "espeak:";
    public const string FlitePrefix = "flite:";

    /// <summary>OpenAI's voice names (mapped to voices by piper.openai_voices).</summary>
    public static readonly string[] OpenAiVoiceNames = ["alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse"];

    /// <summary>OpenAI's and the earlier implementation's model names; every voice's name is accepted as a model too.</summary>
    public static readonly string[] ModelAliases = ["tts-1", "tts-1-hd", "piper"];

    private const string Host = "https://huggingface.co/rhasspy/piper-voices/resolve/v1.0.0/";

    /// <summary>A Piper voice of the public voices host: &lt;lang&gt;/&lt;lang_REGION&gt;/&lt;name&gt;/&lt;quality&gt;/&lt;voice&gt;.onnx(.json).</summary>
    internal static ModelManifest Voice(string locale, string speaker, string quality, string license)
    {
        var name = $"{locale}-{speaker}-{quality}";
        var dir = $"{Host}{locale.Split('_')[0]}/{locale}/{speaker}/{quality}/";
        return new ModelManifest(name, Backend.Cpu, $"Piper voice {speaker} ({locale}, {quality} quality, {RateOf(quality)} Hz)", license,
        [
            new ModelFile(name + ".onnx", null, null, Url: dir + name + ".onnx", Unverified: true),
            new ModelFile(name + ".onnx.json", null, null, Url: dir + name + ".onnx.json", Unverified: true),
        ]);
    }

    /// <summary>Piper's output rate by quality: x_low and low 16 kHz, medium and high 22.05 kHz.</summary>
    public static int RateOf(string quality) => quality is "x_low" or "low" ? 16000 : 22050;

    public static readonly IReadOnlyList<ModelManifest> Catalog =
    [
        Voice("en_US", "lessac", "medium", "Blizzard 2013 lessac data (see the voice's MODEL_CARD)"),
        Voice("en_US", "lessac", "low", "Blizzard 2013 lessac data (see the voice's MODEL_CARD)"),
        Voice("en_US", "lessac", "high", "Blizzard 2013 lessac data (see the voice's MODEL_CARD)"),
        Voice("en_US", "amy", "low", "CC BY-NC-SA 4.0 (see the voice's MODEL_CARD)"),
        Voice("en_US", "amy", "medium", "CC BY-NC-SA 4.0 (see the voice's MODEL_CARD)"),
        Voice("en_US", "ryan", "medium", "CC BY 4.0 (see the voice's MODEL_CARD)"),
        Voice("en_US", "libritts_r", "medium", "CC BY 4.0 (LibriTTS-R; see the voice's MODEL_CARD)"),
        Voice("en_GB", "alan", "medium", "CC BY-SA 4.0 (see the voice's MODEL_CARD)"),
        Voice("en_GB", "alan", "low", "CC BY-SA 4.0 (see the voice's MODEL_CARD)"),
        Voice("de_DE", "thorsten", "medium", "CC0 (Thorsten-Voice; see the voice's MODEL_CARD)"),
        Voice("de_DE", "thorsten", "high", "CC0 (Thorsten-Voice; see the voice's MODEL_CARD)"),
        Voice("fr_FR", "siwis", "medium", "CC BY 4.0 (SIWIS; see the voice's MODEL_CARD)"),
        Voice("es_ES", "davefx", "medium", "CC0 (see the voice's MODEL_CARD)"),
    ];

    /// <summary>An espeak-ng voice name as espeak_SetVoiceByName takes it ("en-us", "de", "en-us+f3").</summary>
    public static bool IsEspeakName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '+' or '_');

    /// <summary>A voice name: "espeak:&lt;espeak name&gt;" or a Piper voice's (file) name: letters, digits, '-', '_', '.'.</summary>
    public static bool IsVoiceName(string name) =>
        name.StartsWith(FlitePrefix, StringComparison.Ordinal) ? Array.IndexOf(HailoPiper.Engine.FliteVoice.Voices, name[FlitePrefix.Length..]) >= 0
        : name.StartsWith(EspeakPrefix, StringComparison.Ordinal)
            ? IsEspeakName(name[EspeakPrefix.Length..])
            : name.Length is > 0 and <= 128 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && name[0] != '.';
}
