using System.Text;
using System.Text.Json;
using Hailo.Core;
using Hailo.Hosting.Http;
using Hailo.Wyoming;
using HailoPiper.Api;
using HailoPiper.Engine;
using HailoPiper.Voices;

namespace HailoPiper.Wyoming;

/// <summary>
/// Wyoming text to speech for Home Assistant: describe → info (tts, with every installed voice);
/// synthesize {text, voice{name, speaker}} → audio-start, audio-chunk… (16-bit mono at the voice's rate, about a second
/// each), audio-stop; and the streaming form synthesize-start {voice}, synthesize-chunk {text}…, synthesize-stop →
/// audio as each sentence is complete, audio-stop, synthesize-stopped (the compatibility synthesize a streaming client
/// also sends is ignored). A failure answers an error event and the connection stays open.
/// </summary>
public sealed class SynthesisHandler(PiperConfig config, VoiceCatalog catalog, VoicePool pool) : IWyomingHandler
{
    public string Kind => "text-to-speech";

    private int MaxInputChars => config.Piper.MaxInputChars;

    public IWyomingSession OpenSession(WyomingConnection connection) => new Session(this, connection);

    private static (string Code, string Text)? ErrorEvent(Exception e) => e switch
    {
        ApiException a => (a.Code, a.Message),
        RequestRejectedException r => (r.Code, r.Message),
        _ => null,
    };

    private sealed class Session(SynthesisHandler handler, WyomingConnection connection) : IWyomingSession
    {
        private bool _streaming;
        private bool _started;
        private JsonElement _voice;
        private readonly StringBuilder _text = new();

        public async Task<bool> HandleAsync(WyomingEvent e, CancellationToken ct)
        {
            switch (e.Type)
            {
                case "synthesize":
                    if (_streaming) return true; // the full text of a streaming client, already spoken sentence by sentence
                    await handler.SpeakAsync(connection, e.String("text"), Voice(e), start: true, stop: true, ct);
                    return true;
                case "synthesize-start":
                    _streaming = true;
                    _started = false;
                    _voice = Voice(e);
                    _text.Clear();
                    return true;
                case "synthesize-chunk":
                {
                    if (!_streaming) return true;
                    _text.Append(e.String("text"));
                    if (_text.Length > handler.MaxInputChars)
                    {
                        _streaming = false;
                        _text.Clear();
                        await connection.WriteErrorAsync($"the streamed text is longer than {handler.MaxInputChars} characters (piper.max_input_chars)", "input_too_long", ct);
                        return true;
                    }
                    var end = SentenceEnd(_text);
                    if (end > 0)
                    {
                        var sentences = _text.ToString(0, end);
                        _text.Remove(0, end);
                        if (!string.IsNullOrWhiteSpace(sentences))
                        {
                            if (!await handler.SpeakAsync(connection, sentences, _voice, start: !_started, stop: false, ct)) { _streaming = false; return true; }
                            _started = true;
                        }
                    }
                    return true;
                }
                case "synthesize-stop":
                {
                    if (!_streaming) return true;
                    _streaming = false;
                    var rest = _text.ToString();
                    _text.Clear();
                    var ok = true;
                    if (!string.IsNullOrWhiteSpace(rest)) ok = await handler.SpeakAsync(connection, rest, _voice, start: !_started, stop: true, ct);
                    else if (_started) await connection.WriteAsync("audio-stop", w => w.WriteNumber("timestamp", 0), null, ct);
                    if (ok) await connection.WriteAsync("synthesize-stopped", null, null, ct);
                    return true;
                }
                default:
                    return false;
            }
        }

        private static JsonElement Voice(WyomingEvent e) =>
            e.Data.ValueKind == JsonValueKind.Object && e.Data.TryGetProperty("voice", out var v) && v.ValueKind == JsonValueKind.Object ? v.Clone() : default;

        public void Dispose() => _text.Clear();
    }

    /// <summary>The end of the last complete sentence in the text (after its terminator and the space after it), or 0.</summary>
    internal static int SentenceEnd(StringBuilder text)
    {
        for (var i = text.Length - 2; i >= 0; i--)
            if (text[i] is '.' or '!' or '?' or ';' or ':' or '。' or '！' or '？' && char.IsWhiteSpace(text[i + 1])) return i + 2;
        return 0;
    }

    private static string? Str(JsonElement o, string name) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Speaks one text; false (with an error event sent) when it could not.</summary>
    private async Task<bool> SpeakAsync(WyomingConnection connection, string? text, JsonElement voiceData, bool start, bool stop, CancellationToken ct)
    {
        try
        {
            var checkedText = PiperService.CheckText(text, "text", config.Piper.MaxInputChars);
            var voice = Resolve(Str(voiceData, "name"));
            int? speaker = null;
            if (Str(voiceData, "speaker") is { } s && voice.Speakers.Count > 0)
            {
                var index = voice.Speakers.ToList().FindIndex(n => string.Equals(n, s, StringComparison.OrdinalIgnoreCase));
                speaker = index >= 0 ? index : int.TryParse(s, out var id) && id >= 0 && id < voice.Speakers.Count ? id : null;
            }
            using var lease = await pool.AcquireAsync(voice, ct);
            var options = new SynthesisOptions(1f, speaker ?? (voice.Speakers.Count > 0 ? 0 : null), SentenceSilenceSeconds: (float)config.Piper.SentenceSilenceSeconds);
            var sentStart = !start;
            await foreach (var chunk in lease.SynthesizeAsync(checkedText, options, ct))
            {
                var rate = lease.SampleRate;
                if (!sentStart)
                {
                    await connection.WriteAsync("audio-start", w => Format(w, rate), null, ct);
                    sentStart = true;
                }
                // About a second of audio per chunk.
                for (var at = 0; at < chunk.Length; at += rate)
                {
                    var part = chunk.AsSpan(at, Math.Min(rate, chunk.Length - at));
                    var pcm = new byte[part.Length * 2];
                    for (var i = 0; i < part.Length; i++)
                        System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(pcm.AsSpan(2 * i), SpeechWriter.ToInt16(part[i]));
                    await connection.WriteAsync("audio-chunk", w => Format(w, rate), pcm, ct);
                }
            }
            if (!sentStart) await connection.WriteAsync("audio-start", w => Format(w, lease.SampleRate), null, ct);
            if (stop) await connection.WriteAsync("audio-stop", w => w.WriteNumber("timestamp", 0), null, ct);
            return true;
        }
        catch (Exception ex) when (ErrorEvent(ex) is { } error)
        {
            await connection.WriteErrorAsync(error.Text, error.Code, ct);
            return false;
        }
    }

    private static void Format(Utf8JsonWriter w, int rate)
    {
        w.WriteNumber("rate", rate);
        w.WriteNumber("width", 2);
        w.WriteNumber("channels", 1);
    }

    /// <summary>A voice by name, OpenAI's names mapped, the default when none is named; 400-style errors otherwise.</summary>
    private VoiceInfo Resolve(string? name)
    {
        if (name is not null && config.Piper.OpenaiVoices.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)) is { Value: not null } mapped)
            name = mapped.Value;
        name ??= config.Piper.DefaultVoice;
        var voice = catalog.Find(name) ?? throw ApiException.BadRequest("invalid_voice",
            $"unknown voice '{name}'; available: {string.Join(", ", catalog.All().Where(v => v.Installed).Select(v => v.Name))}", "voice");
        if (!voice.Installed) throw ApiException.BadRequest("voice_not_installed", $"voice '{voice.Name}' is not installed; pull it with: hailo-piper pull {voice.Name}", "voice");
        return voice;
    }

    public void WriteInfo(Utf8JsonWriter w)
    {
        var version = PiperService.Definition.Version;
        w.WriteStartArray("tts");
        w.WriteStartObject();
        w.WriteString("name", "hailo-piper");
        WyomingInfo.WriteAttribution(w, "Piper", "https://github.com/rhasspy/piper");
        w.WriteBoolean("installed", true);
        w.WriteString("description", "Text to speech with CMU Flite, espeak-ng and Piper voices on the CPU");
        w.WriteString("version", version);
        w.WriteStartArray("voices");
        foreach (var v in catalog.All().Where(v => v.Installed))
        {
            var loaded = pool.Loaded(v.Name);
            w.WriteStartObject();
            w.WriteString("name", v.Name);
            if (v.Kind == VoiceKind.Espeak) WyomingInfo.WriteAttribution(w, "espeak-ng", "https://github.com/espeak-ng/espeak-ng");
            else if (v.Kind == VoiceKind.Flite) WyomingInfo.WriteAttribution(w, "CMU Flite", "http://www.festvox.org/flite/");
            else WyomingInfo.WriteAttribution(w, "rhasspy", "https://github.com/rhasspy/piper");
            w.WriteBoolean("installed", true);
            w.WriteString("description", v.Description);
            w.WriteString("version", version);
            w.WriteStartArray("languages");
            foreach (var l in loaded?.Languages is { Count: > 0 } ls ? ls : v.Languages) w.WriteStringValue(l);
            w.WriteEndArray();
            var speakers = loaded?.Speakers ?? v.Speakers;
            if (speakers.Count > 0)
            {
                w.WriteStartArray("speakers");
                foreach (var s in speakers)
                {
                    w.WriteStartObject();
                    w.WriteString("name", s);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteBoolean("supports_synthesize_streaming", true);
        w.WriteEndObject();
        w.WriteEndArray();
        WyomingInfo.WriteEmptyServices(w, "tts");
    }
}
