using System.Text.Json;
using Hailo.Hosting.Models;
using HailoPiper.Engine;

namespace HailoPiper.Voices;

/// <summary>What kind of engine speaks a voice.</summary>
public enum VoiceKind
{
    /// <summary>espeak-ng itself (libespeak-ng), built in: <see cref="VoiceInfo.EspeakName"/> names the espeak voice.</summary>
    Espeak,
    /// <summary>CMU Flite's US English voices (libflite1), built in: <see cref="VoiceInfo.FliteName"/> names the voice.</summary>
    Flite,
    /// <summary>A Piper VITS voice: <see cref="VoiceInfo.Model"/> and <see cref="VoiceInfo.Config"/> are its .onnx and .onnx.json.</summary>
    Piper,
}

/// <summary>
/// A voice this service knows, whether loaded or not: its name, what speaks it and what it is known to speak before it
/// is loaded (from the catalog, the name, or the voice's .onnx.json when it is installed).
/// </summary>
public sealed record VoiceInfo(string Name, VoiceKind Kind, IReadOnlyList<string> Languages, int SampleRate, IReadOnlyList<string> Speakers,
    bool Installed, string Description, string License, string? EspeakName = null, string? Model = null, string? Config = null,
    ModelManifest? Manifest = null, string? FliteName = null);

/// <summary>Loads a voice the catalog names (the engines: espeak-ng and Piper VITS voices through ONNX Runtime).</summary>
public interface IVoiceLoader
{
    /// <summary>Loads <paramref name="voice"/>; throws when it cannot (the service answers 503 naming why).</summary>
    IVoice Load(VoiceInfo voice, CancellationToken ct);
}

/// <summary>
/// The voices by name: espeak-ng's configured voices ("espeak:en-us"), the Piper catalog (installed or not), and any
/// directory of the models dir (or a search path) holding &lt;name&gt;.onnx with &lt;name&gt;.onnx.json.
/// </summary>
public sealed class VoiceCatalog(PiperConfig config, ModelStore store)
{
    public PiperConfig Config => config;

    /// <summary>Every voice, espeak-ng's first, then the catalog's, then voices found on disk.</summary>
    public IReadOnlyList<VoiceInfo> All()
    {
        var list = new List<VoiceInfo>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var e in config.Piper.EspeakVoices.Prepend(config.Piper.DefaultVoice.StartsWith(PiperModels.EspeakPrefix, StringComparison.Ordinal)
                     ? config.Piper.DefaultVoice[PiperModels.EspeakPrefix.Length..] : "en-us"))
            if (seen.Add(PiperModels.EspeakPrefix + e)) list.Add(Espeak(e));
        foreach (var f in HailoPiper.Engine.FliteVoice.Voices)
            if (seen.Add(PiperModels.FlitePrefix + f)) list.Add(Flite(f));
        foreach (var m in store.Catalog)
            if (seen.Add(m.Name)) list.Add(FromManifest(m));
        foreach (var (name, model, json) in OnDisk())
            if (seen.Add(name)) list.Add(FromFiles(name, model, json, null));
        return list;
    }

    /// <summary>The voice called <paramref name="name"/> (case-insensitive), or null.</summary>
    public VoiceInfo? Find(string name)
    {
        if (!PiperModels.IsVoiceName(name)) return null;
        if (name.StartsWith(PiperModels.FlitePrefix, StringComparison.OrdinalIgnoreCase)) return Flite(name[PiperModels.FlitePrefix.Length..]);
        if (name.StartsWith(PiperModels.EspeakPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var e = name[PiperModels.EspeakPrefix.Length..];
            var known = config.Piper.EspeakVoices.FirstOrDefault(v => string.Equals(v, e, StringComparison.OrdinalIgnoreCase))
                        ?? (string.Equals(PiperModels.EspeakPrefix + e, config.Piper.DefaultVoice, StringComparison.OrdinalIgnoreCase) ? e : null);
            return known is null ? null : Espeak(known);
        }
        if (store.Get(name) is { } manifest) return FromManifest(manifest);
        foreach (var (n, model, json) in OnDisk())
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return FromFiles(n, model, json, null);
        return null;
    }

    private static VoiceInfo Flite(string name) => new(PiperModels.FlitePrefix + name, VoiceKind.Flite, ["en_US"], name == "kal" ? 8000 : 16000, [],
        HailoPiper.Engine.FliteVoice.IsAvailable(name), $"CMU Flite voice {name} (US English, built in)", "BSD-style (CMU Flite)", FliteName: name);

    private static VoiceInfo Espeak(string name) => new(PiperModels.EspeakPrefix + name, VoiceKind.Espeak, [LanguageOfEspeak(name)], 22050, [],
        true, $"espeak-ng voice {name} (formant synthesis, built in)", "GPL-3.0-or-later (espeak-ng)", EspeakName: name);

    private VoiceInfo FromManifest(ModelManifest m)
    {
        var loc = store.Locate(m);
        if (loc.Complete) return FromFiles(m.Name, loc[m.Name + ".onnx"], loc[m.Name + ".onnx.json"], m);
        var quality = m.Name[(m.Name.LastIndexOf('-') + 1)..];
        return new VoiceInfo(m.Name, VoiceKind.Piper, [LanguageOfName(m.Name)], PiperModels.RateOf(quality), [], false, m.Description, m.License, Manifest: m);
    }

    /// <summary>A Piper voice from its files: rate, speakers and language from the .onnx.json where it says them.</summary>
    private static VoiceInfo FromFiles(string name, string model, string json, ModelManifest? manifest)
    {
        var meta = PiperVoiceConfig.TryRead(json);
        var quality = meta?.Quality ?? name[(name.LastIndexOf('-') + 1)..];
        var rate = meta?.SampleRate ?? PiperModels.RateOf(quality);
        return new VoiceInfo(name, VoiceKind.Piper, [meta?.Language ?? LanguageOfName(name)], rate, meta?.Speakers ?? [], true,
            manifest?.Description ?? $"Piper voice {name} ({rate} Hz)", manifest?.License ?? meta?.License ?? "see the voice's MODEL_CARD",
            Model: model, Config: json, Manifest: manifest);
    }

    /// <summary>Voices found on disk: &lt;dir&gt;/&lt;name&gt;/&lt;name&gt;.onnx(.json) or &lt;dir&gt;/&lt;name&gt;.onnx(.json).</summary>
    private IEnumerable<(string Name, string Model, string Json)> OnDisk()
    {
        foreach (var dir in store.SearchPaths.Prepend(store.ModelsDir))
        {
            if (!Directory.Exists(dir)) continue;
            IEnumerable<string> files;
            try
            {
                files = Directory.EnumerateFiles(dir, "*.onnx").Concat(Directory.EnumerateDirectories(dir)
                    .SelectMany(d => Directory.EnumerateFiles(d, "*.onnx"))).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var model in files)
            {
                var name = Path.GetFileNameWithoutExtension(model);
                if (PiperModels.IsVoiceName(name) && File.Exists(model + ".json")) yield return (name, model, model + ".json");
            }
        }
    }

    /// <summary>"en_US-lessac-medium" → "en_US".</summary>
    internal static string LanguageOfName(string name)
    {
        var dash = name.IndexOf('-');
        return dash > 0 ? name[..dash] : name;
    }

    /// <summary>"en-us" → "en_US", "de" → "de", "en-us+f3" → "en_US".</summary>
    internal static string LanguageOfEspeak(string name)
    {
        var plus = name.IndexOf('+');
        var bare = plus >= 0 ? name[..plus] : name;
        var parts = bare.Split('-', 2);
        return parts.Length == 2 && parts[1].Length == 2 ? $"{parts[0].ToLowerInvariant()}_{parts[1].ToUpperInvariant()}" : bare.ToLowerInvariant();
    }
}

/// <summary>What the service reads of a Piper voice's .onnx.json to list it before loading (the engine reads the rest).</summary>
internal sealed record PiperVoiceConfig(int? SampleRate, string? Quality, string? Language, IReadOnlyList<string> Speakers, string? License)
{
    public static PiperVoiceConfig? TryRead(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > 16 << 20) return null;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            int? rate = null;
            string? quality = null;
            if (root.TryGetProperty("audio", out var audio) && audio.ValueKind == JsonValueKind.Object)
            {
                if (audio.TryGetProperty("sample_rate", out var r) && r.TryGetInt32(out var v) && v is >= 1000 and <= 384000) rate = v;
                if (audio.TryGetProperty("quality", out var q) && q.ValueKind == JsonValueKind.String) quality = q.GetString();
            }
            string? language = null;
            if (root.TryGetProperty("language", out var lang) && lang.ValueKind == JsonValueKind.Object
                && lang.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String) language = code.GetString();
            var speakers = new List<(string Name, int Id)>();
            if (root.TryGetProperty("speaker_id_map", out var map) && map.ValueKind == JsonValueKind.Object)
                foreach (var p in map.EnumerateObject())
                    if (p.Value.TryGetInt32(out var id)) speakers.Add((p.Name, id));
            string? license = null;
            if (root.TryGetProperty("dataset", out var ds) && ds.ValueKind == JsonValueKind.String) license = $"see the voice's MODEL_CARD (dataset {ds.GetString()})";
            return new PiperVoiceConfig(rate, quality, language, speakers.Count > 1 ? speakers.OrderBy(s => s.Id).Select(s => s.Name).ToArray() : [], license);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }
}
