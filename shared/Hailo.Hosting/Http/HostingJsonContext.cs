using System.Text.Json.Serialization;

namespace Hailo.Hosting.Http;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorEnvelope))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ReadyResponse))]
[JsonSerializable(typeof(Hailo.Hosting.OpenAi.OpenAiErrorEnvelope))]
public sealed partial class HostingJsonContext : JsonSerializerContext;
