using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hailo.GenAI.Api;

// The Ollama API's request and response bodies (/api/*), field by field as Ollama's api/types.go names them. Fields
// that take more than one JSON type (format, keep_alive, options) are JsonElement. The endpoints read their bodies
// field by field for precise 400s; these records are the contract the OpenAPI document describes, and what clients of
// the API deserialise into. Serialised with OllamaJson (snake_case, nulls left out).

/// <summary>A chat message: role system, user, assistant or tool.</summary>
public sealed record OllamaMessage
{
    public required string Role { get; init; }
    public string? Content { get; init; }
    /// <summary>Base64 images (vision models only).</summary>
    public List<string>? Images { get; init; }
    public List<OllamaToolCall>? ToolCalls { get; init; }
    /// <summary>The tool a "tool" message answers.</summary>
    public string? ToolName { get; init; }
    /// <summary>The model's reasoning, when it thinks.</summary>
    public string? Thinking { get; init; }
}

/// <summary>A call of a tool by the model.</summary>
public sealed record OllamaToolCall(OllamaToolCallFunction Function);

/// <summary>The function called: its index in the reply, name and arguments (an object).</summary>
public sealed record OllamaToolCallFunction(string Name, JsonElement Arguments, int? Index = null);

/// <summary>A tool the model may call: type "function" with its name, description and JSON schema parameters.</summary>
public sealed record OllamaTool(string Type, OllamaToolFunction Function);

public sealed record OllamaToolFunction(string Name, string? Description, JsonElement? Parameters);

/// <summary>POST /api/generate.</summary>
public sealed record GenerateRequest
{
    public required string Model { get; init; }
    public string? Prompt { get; init; }
    public string? Suffix { get; init; }
    public string? System { get; init; }
    public string? Template { get; init; }
    /// <summary>The context of an earlier reply, to continue from (CPU models).</summary>
    public List<int>? Context { get; init; }
    public bool? Stream { get; init; }
    /// <summary>Send the prompt as given, without the template.</summary>
    public bool? Raw { get; init; }
    /// <summary>"json", or a JSON schema the reply must follow.</summary>
    public JsonElement? Format { get; init; }
    /// <summary>A duration ("5m"), a number of seconds, a negative value (keep loaded) or 0 (unload after).</summary>
    public JsonElement? KeepAlive { get; init; }
    public List<string>? Images { get; init; }
    /// <summary>Sampling and length options (temperature, top_k, top_p, num_predict, num_ctx, stop, seed, ...).</summary>
    public Dictionary<string, JsonElement>? Options { get; init; }
    public JsonElement? Think { get; init; }
    /// <summary>false: refuse a prompt longer than the context instead of cutting it.</summary>
    public bool? Truncate { get; init; }
}

/// <summary>One chunk of /api/generate's NDJSON stream, or the whole reply (done: true carries the stats).</summary>
public sealed record GenerateResponse
{
    public required string Model { get; init; }
    public required string CreatedAt { get; init; }
    public required string Response { get; init; }
    public required bool Done { get; init; }
    public string? DoneReason { get; init; }
    public List<int>? Context { get; init; }
    public long? TotalDuration { get; init; }
    public long? LoadDuration { get; init; }
    public int? PromptEvalCount { get; init; }
    public long? PromptEvalDuration { get; init; }
    public int? EvalCount { get; init; }
    public long? EvalDuration { get; init; }
}

/// <summary>POST /api/chat.</summary>
public sealed record ChatRequest
{
    public required string Model { get; init; }
    public List<OllamaMessage>? Messages { get; init; }
    public List<OllamaTool>? Tools { get; init; }
    public bool? Stream { get; init; }
    public JsonElement? Format { get; init; }
    public JsonElement? KeepAlive { get; init; }
    public Dictionary<string, JsonElement>? Options { get; init; }
    public JsonElement? Think { get; init; }
    public bool? Truncate { get; init; }
}

/// <summary>One chunk of /api/chat's NDJSON stream, or the whole reply (done: true carries the stats).</summary>
public sealed record ChatResponse
{
    public required string Model { get; init; }
    public required string CreatedAt { get; init; }
    public required OllamaMessage Message { get; init; }
    public required bool Done { get; init; }
    public string? DoneReason { get; init; }
    public long? TotalDuration { get; init; }
    public long? LoadDuration { get; init; }
    public int? PromptEvalCount { get; init; }
    public long? PromptEvalDuration { get; init; }
    public int? EvalCount { get; init; }
    public long? EvalDuration { get; init; }
}

/// <summary>POST /api/embed: input is a string or an array of strings.</summary>
public sealed record EmbedRequest
{
    public required string Model { get; init; }
    public required JsonElement Input { get; init; }
    public bool? Truncate { get; init; }
    public int? Dimensions { get; init; }
    public JsonElement? KeepAlive { get; init; }
    public Dictionary<string, JsonElement>? Options { get; init; }
}

/// <summary>/api/embed's answer: one L2-normalised vector per input.</summary>
public sealed record EmbedResponse(string Model, List<float[]> Embeddings, long TotalDuration, long LoadDuration, int PromptEvalCount);

/// <summary>POST /api/embeddings (the older API): one prompt.</summary>
public sealed record EmbeddingRequest
{
    public required string Model { get; init; }
    public required string Prompt { get; init; }
    public JsonElement? KeepAlive { get; init; }
    public Dictionary<string, JsonElement>? Options { get; init; }
}

public sealed record EmbeddingResponse(float[] Embedding);

/// <summary>POST /api/show.</summary>
public sealed record ShowRequest
{
    public required string Model { get; init; }
    public bool? Verbose { get; init; }
}

/// <summary>A model's format, family, size and quantisation.</summary>
public sealed record ModelDetails(string ParentModel, string Format, string Family, List<string>? Families, string ParameterSize, string QuantizationLevel);

/// <summary>/api/show's answer.</summary>
public sealed record ShowResponse
{
    public string? License { get; init; }
    public string? Modelfile { get; init; }
    public string? Parameters { get; init; }
    public string? Template { get; init; }
    public string? System { get; init; }
    public ModelDetails? Details { get; init; }
    public Dictionary<string, JsonElement>? ModelInfo { get; init; }
    public List<string>? Capabilities { get; init; }
    public string? ModifiedAt { get; init; }
}

/// <summary>POST /api/pull.</summary>
public sealed record PullRequest
{
    public required string Model { get; init; }
    public bool? Insecure { get; init; }
    public bool? Stream { get; init; }
}

/// <summary>A progress line of /api/pull and /api/create (the last is status "success").</summary>
public sealed record ProgressResponse
{
    public required string Status { get; init; }
    public string? Digest { get; init; }
    public long? Total { get; init; }
    public long? Completed { get; init; }
    /// <summary>false for a catalog file without a published checksum.</summary>
    public bool? Verified { get; init; }
}

/// <summary>POST /api/copy.</summary>
public sealed record CopyRequest(string Source, string Destination);

/// <summary>DELETE /api/delete.</summary>
public sealed record DeleteRequest(string Model);

/// <summary>POST /api/create: from an uploaded GGUF (files: name → sha256 digest) or another model (from).</summary>
public sealed record CreateRequest
{
    public required string Model { get; init; }
    public string? From { get; init; }
    public Dictionary<string, string>? Files { get; init; }
    public string? Template { get; init; }
    public string? System { get; init; }
    public Dictionary<string, JsonElement>? Parameters { get; init; }
    public bool? Stream { get; init; }
}

/// <summary>A model of /api/tags.</summary>
public sealed record ListModelResponse(string Name, string Model, string ModifiedAt, long Size, string Digest, ModelDetails Details);

/// <summary>/api/tags' answer.</summary>
public sealed record ListResponse(List<ListModelResponse> Models);

/// <summary>A loaded model of /api/ps.</summary>
public sealed record ProcessModelResponse(string Name, string Model, long Size, string Digest, ModelDetails Details, string ExpiresAt, long SizeVram, int ContextLength, string Backend);

/// <summary>/api/ps' answer.</summary>
public sealed record ProcessResponse(List<ProcessModelResponse> Models);

/// <summary>/api/version's answer.</summary>
public sealed record VersionResponse(string Version);

/// <summary>An error of the native API.</summary>
public sealed record OllamaError(string Error);

/// <summary>The Ollama API's bodies, source-generated (snake_case, nulls left out).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GenerateRequest))]
[JsonSerializable(typeof(GenerateResponse))]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatResponse))]
[JsonSerializable(typeof(EmbedRequest))]
[JsonSerializable(typeof(EmbedResponse))]
[JsonSerializable(typeof(EmbeddingRequest))]
[JsonSerializable(typeof(EmbeddingResponse))]
[JsonSerializable(typeof(ShowRequest))]
[JsonSerializable(typeof(ShowResponse))]
[JsonSerializable(typeof(PullRequest))]
[JsonSerializable(typeof(ProgressResponse))]
[JsonSerializable(typeof(CopyRequest))]
[JsonSerializable(typeof(DeleteRequest))]
[JsonSerializable(typeof(CreateRequest))]
[JsonSerializable(typeof(ListResponse))]
[JsonSerializable(typeof(ProcessResponse))]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(OllamaError))]
public sealed partial class OllamaJson : JsonSerializerContext;
