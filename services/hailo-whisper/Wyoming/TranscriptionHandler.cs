using System.Text.Json;
using Hailo.Audio;
using Hailo.Core;
using Hailo.Hosting.Http;
using Hailo.Hosting.Metrics;
using Hailo.Runtime;
using Hailo.Wyoming;
using HailoWhisper.Pipeline;

namespace HailoWhisper.Wyoming;

/// <summary>
/// Wyoming speech to text for Home Assistant's Wyoming integration: describe → info (asr); transcribe (language),
/// audio-start, audio-chunk…, audio-stop → transcript. Audio within the server's limits (rate, width, channels) is
/// converted to 16 kHz mono; audio-stop without audio answers an empty transcript; a failed transcription answers an
/// error event and the connection stays open.
/// </summary>
public sealed class TranscriptionHandler(WhisperConfig config, ModelEngine<ISpeechModel> engine, ServiceMetrics metrics) : IWyomingHandler
{
    public string Kind => "speech-to-text";

    private double MaxAudioSeconds => config.Whisper.MaxAudioSeconds;

    public IWyomingSession OpenSession(WyomingConnection connection) => new Session(this, connection);

    /// <summary>
    /// The error event (code, text) for a failure that ends one utterance but not the connection, or null for one that
    /// is not the request's fault.
    /// </summary>
    internal static (string Code, string Text)? ErrorEvent(Exception e) => e switch
    {
        ApiException a => (a.Code, a.Message),
        RequestRejectedException r => (r.Code, r.Message),
        AudioUnavailableException u => ("audio_decoder_unavailable", u.Message),
        _ => null,
    };

    private sealed class Session(TranscriptionHandler handler, WyomingConnection connection) : IWyomingSession
    {
        private readonly AudioInput _audio = new(connection.Limits);
        private readonly List<(AudioFormat Format, MemoryStream Pcm)> _groups = [];
        private string? _language;

        public async Task<bool> HandleAsync(WyomingEvent e, CancellationToken ct)
        {
            switch (e.Type)
            {
                case "transcribe":
                    _language = Languages.Normalize(e.String("language"));
                    return true;
                case "audio-start":
                    _audio.Start(e);
                    _groups.Clear();
                    return true;
                case "audio-chunk":
                {
                    var (format, pcm) = _audio.Chunk(e);
                    if (pcm is null) return true;
                    if (_audio.Seconds > handler.MaxAudioSeconds) return true; // reported at audio-stop
                    if (_groups.Count == 0 || _groups[^1].Format != format) _groups.Add((format, new MemoryStream()));
                    _groups[^1].Pcm.Write(pcm);
                    return true;
                }
                case "audio-stop":
                    await handler.TranscribeAsync(connection, _audio.Seconds, _groups, _language, ct);
                    _groups.Clear();
                    _audio.Stop();
                    return true;
                default:
                    return false;
            }
        }

        public void Dispose() => _groups.Clear();
    }

    private async Task TranscribeAsync(WyomingConnection connection, double seconds, List<(AudioFormat Format, MemoryStream Pcm)> groups,
        string? requested, CancellationToken ct)
    {
        if (seconds > config.Whisper.MaxAudioSeconds)
        {
            await connection.WriteErrorAsync($"the audio is {seconds:0.#} s long; this service accepts at most {config.Whisper.MaxAudioSeconds:0.#} s", "audio_too_long", ct);
            return;
        }
        string text = "";
        string? language = requested;
        if (groups.Count > 0)
        {
            try
            {
                // The conversion to 16 kHz float happens once this request holds its place in the model's queue.
                using var admission = await engine.Slot.AdmitAsync(ct);
                var samples = groups.SelectMany(g => AudioDecoder.FromPcm(g.Pcm.GetBuffer().AsSpan(0, (int)g.Pcm.Length), g.Format.Rate, g.Format.Width, g.Format.Channels)).ToArray();
                groups.Clear();
                if (samples.Length > 0)
                {
                    var t = await WhisperService.TranscribeAsync(admission, engine, samples, new TranscribeOptions
                    {
                        Language = requested ?? (config.Whisper.Language.Length > 0 ? config.Whisper.Language : null),
                        Temperature = (float)config.Whisper.Temperature,
                    }, config, metrics, ct);
                    text = t.Text;
                    language = t.Language ?? language;
                }
            }
            catch (Exception ex) when (ErrorEvent(ex) is { } error)
            {
                await connection.WriteErrorAsync(error.Text, error.Code, ct);
                return;
            }
        }
        await connection.WriteAsync("transcript", w =>
        {
            w.WriteString("text", text);
            if (language is not null) w.WriteString("language", language);
        }, null, ct);
    }

    public void WriteInfo(Utf8JsonWriter w)
    {
        var version = WhisperService.Definition.Version;
        var model = engine.Manifest;
        w.WriteStartArray("asr");
        w.WriteStartObject();
        w.WriteString("name", "hailo-whisper");
        WriteAttribution(w);
        w.WriteBoolean("installed", true);
        w.WriteString("description", $"Whisper speech to text on the {engine.Backend.Name().ToUpperInvariant()} ({model.Name})");
        w.WriteString("version", version);
        w.WriteStartArray("models");
        w.WriteStartObject();
        w.WriteString("name", model.Name);
        WriteAttribution(w);
        w.WriteBoolean("installed", true);
        w.WriteString("description", model.Description);
        w.WriteString("version", version);
        w.WriteStartArray("languages");
        var languages = model.Name.EndsWith(".en", StringComparison.Ordinal) ? ["en"] : Languages.Codes;
        foreach (var l in languages) w.WriteStringValue(l);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteBoolean("supports_transcript_streaming", false);
        w.WriteEndObject();
        w.WriteEndArray();
        WyomingInfo.WriteEmptyServices(w, "asr");
    }

    private static void WriteAttribution(Utf8JsonWriter w) => WyomingInfo.WriteAttribution(w, "OpenAI Whisper", "https://github.com/openai/whisper");
}
