using System.Text.Json.Serialization;
using Hailo.Hosting.Http;

namespace HailoWhisper.Api;

/// <summary>OpenAI's usage of the audio endpoints: seconds of input audio.</summary>
public sealed record AudioUsage(string Type, int Seconds);

/// <summary>response_format=json: {"text"} (+ usage as OpenAI sends it).</summary>
public sealed record TranscriptionJson(string Text, AudioUsage Usage);

/// <summary>One segment of verbose_json. avg_logprob and no_speech_prob are 0 where the backend does not report them (the NPU).</summary>
public sealed record VerboseSegment(int Id, int Seek, double Start, double End, string Text, int[] Tokens, double Temperature,
    double AvgLogprob, double CompressionRatio, double NoSpeechProb);

public sealed record VerboseWord(string Word, double Start, double End, double Probability);

/// <summary>response_format=verbose_json (OpenAI's shape; words only when asked for).</summary>
public sealed record VerboseTranscription(string Task, string Language, double Duration, string Text, IReadOnlyList<VerboseSegment>? Segments,
    IReadOnlyList<VerboseWord>? Words, AudioUsage Usage);

/// <summary>GET /v1/models in OpenAI's shape, plus the backend, the state and what each model is.</summary>
public sealed record OpenAiModelList(string Object, IReadOnlyList<OpenAiModel> Data);

public sealed record OpenAiModel(string Id, string Object, long Created, string OwnedBy, string Backend, string Status, string Description,
    string? Task = null, string? AliasOf = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TranscriptionJson))]
[JsonSerializable(typeof(VerboseTranscription))]
[JsonSerializable(typeof(OpenAiModelList))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class WhisperJson : JsonSerializerContext;
