using System.Text.Json;
using System.Text.Json.Serialization;
using Hailo.Hosting.OpenAi;

namespace HailoPiper.Api;

/// <summary>
/// POST /v1/audio/speech (OpenAI). voice is a name, or {"id": name} as OpenAI's newer clients send it; instructions
/// is accepted and has no effect (the voices take no style prompt).
/// </summary>
public sealed record SpeechRequest
{
    public string? Model { get; init; }
    public string? Input { get; init; }
    public JsonElement? Voice { get; init; }
    public string? Instructions { get; init; }
    public string? ResponseFormat { get; init; }
    public double? Speed { get; init; }
    public string? StreamFormat { get; init; }
}

/// <summary>POST /v1/synthesize (the earlier implementation's route, with its options): the answer is a WAV file.</summary>
public sealed record SynthesizeRequest
{
    public string? Text { get; init; }
    public string? Voice { get; init; }
    /// <summary>1 = the voice's pace; 2 twice as fast.</summary>
    public double? Speed { get; init; }
    /// <summary>Piper's length_scale: 2 speaks half as fast (speed = 1 / length_scale). Not with speed.</summary>
    public double? LengthScale { get; init; }
    public int? SpeakerId { get; init; }
    /// <summary>Piper's noise_scale (voice variation); the voice's own default when absent.</summary>
    public double? NoiseScale { get; init; }
    /// <summary>Piper's noise_w (phoneme length variation); the voice's own default when absent.</summary>
    public double? NoiseW { get; init; }
    /// <summary>The earlier implementation's name for noise_w.</summary>
    public double? NoiseWScale { get; init; }
    /// <summary>Silence after each sentence in seconds (piper.sentence_silence_seconds when absent).</summary>
    public double? SentenceSilence { get; init; }
    /// <summary>wav (the only one; the earlier implementation answered WAV whatever this said).</summary>
    public string? Format { get; init; }
}

/// <summary>GET /v1/voices: every voice, whether it is installed and loaded.</summary>
public sealed record VoiceList(IReadOnlyList<VoiceEntry> Voices, string Default);

public sealed record VoiceEntry(string Id, string Name, string Engine, IReadOnlyList<string> Languages, string Language, int SampleRate,
    IReadOnlyList<string> Speakers, bool Installed, bool Loaded, string Description, IReadOnlyList<string> OpenaiVoices, string? Pull = null);

/// <summary>GET /v1/models in OpenAI's shape: the model names OpenAI clients send, then every voice.</summary>
public sealed record OpenAiModelList(string Object, IReadOnlyList<OpenAiModel> Data);

public sealed record OpenAiModel(string Id, string Object, long Created, string OwnedBy, string Backend, string Status, string Description,
    string? AliasOf = null);

/// <summary>One server-sent event of stream_format=sse: speech.audio.delta {audio} or speech.audio.done {usage}.</summary>
public sealed record SpeechEvent(string Type, string? Audio = null, SpeechUsage? Usage = null);

public sealed record SpeechUsage(int InputTokens, int OutputTokens, int TotalTokens);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(SpeechRequest))]
[JsonSerializable(typeof(SynthesizeRequest))]
[JsonSerializable(typeof(VoiceList))]
[JsonSerializable(typeof(OpenAiModelList))]
[JsonSerializable(typeof(SpeechEvent))]
[JsonSerializable(typeof(OpenAiErrorEnvelope))]
internal sealed partial class PiperJson : JsonSerializerContext;
