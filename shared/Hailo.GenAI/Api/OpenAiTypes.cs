using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hailo.GenAI.Api;

// The OpenAI-compatible API's request and response bodies (/v1/*). Fields that take more than one JSON type (content,
// stop, prompt, input) are JsonElement. Serialised with OpenAiJson (snake_case, nulls left out).

/// <summary>A chat message; content is a string or an array of content parts ({"type": "text", "text": ...}).</summary>
public sealed record OpenAiMessage
{
    /// <summary>system, developer, user, assistant or tool.</summary>
    public required string Role { get; init; }
    public JsonElement? Content { get; init; }
    public string? Name { get; init; }
    public List<OpenAiToolCall>? ToolCalls { get; init; }
    public string? ToolCallId { get; init; }
}

/// <summary>A tool call; its arguments are a JSON text. Stream chunks number them (index).</summary>
public sealed record OpenAiToolCall(string Id, string Type, OpenAiFunctionCall Function, int? Index = null);

public sealed record OpenAiFunctionCall(string Name, string Arguments);

/// <summary>A tool the model may call.</summary>
public sealed record OpenAiTool(string Type, OpenAiFunction Function);

public sealed record OpenAiFunction(string Name, string? Description, JsonElement? Parameters);

public sealed record OpenAiStreamOptions(bool? IncludeUsage);

/// <summary>response_format: text, json_object or json_schema (with json_schema.schema).</summary>
public sealed record OpenAiResponseFormat(string Type, OpenAiJsonSchema? JsonSchema);

public sealed record OpenAiJsonSchema(string? Name, JsonElement Schema, bool? Strict);

/// <summary>POST /v1/chat/completions.</summary>
public sealed record OpenAiChatRequest
{
    public required string Model { get; init; }
    public required List<OpenAiMessage> Messages { get; init; }
    public bool? Stream { get; init; }
    public OpenAiStreamOptions? StreamOptions { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public double? FrequencyPenalty { get; init; }
    public double? PresencePenalty { get; init; }
    public int? Seed { get; init; }
    public int? MaxTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    /// <summary>A string or an array of strings.</summary>
    public JsonElement? Stop { get; init; }
    /// <summary>Only 1.</summary>
    public int? N { get; init; }
    public List<OpenAiTool>? Tools { get; init; }
    public OpenAiResponseFormat? ResponseFormat { get; init; }
}

/// <summary>POST /v1/completions.</summary>
public sealed record OpenAiCompletionRequest
{
    public required string Model { get; init; }
    /// <summary>A string, or an array holding one string.</summary>
    public required JsonElement Prompt { get; init; }
    public bool? Stream { get; init; }
    public OpenAiStreamOptions? StreamOptions { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public double? FrequencyPenalty { get; init; }
    public double? PresencePenalty { get; init; }
    public int? Seed { get; init; }
    public int? MaxTokens { get; init; }
    public JsonElement? Stop { get; init; }
    public int? N { get; init; }
    public string? Suffix { get; init; }
}

/// <summary>
/// The one element of "choices": a whole chat reply has a message, a stream chunk a delta, a text completion text (and
/// logprobs: null when whole); finish_reason is null until the last chunk.
/// </summary>
public sealed record OpenAiChoice
{
    public required int Index { get; init; }
    public OpenAiMessage? Message { get; init; }
    public OpenAiMessage? Delta { get; init; }
    public string? Text { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

public sealed record OpenAiUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>
/// A chat.completion, a chat.completion.chunk (SSE) or a text_completion; the last chunk of a stream with
/// stream_options.include_usage has empty choices and the usage.
/// </summary>
public sealed record OpenAiCompletion
{
    public required string Id { get; init; }
    public required string Object { get; init; }
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required string SystemFingerprint { get; init; }
    public required List<OpenAiChoice> Choices { get; init; }
    public OpenAiUsage? Usage { get; init; }
}

/// <summary>POST /v1/embeddings: input is a string or an array of strings.</summary>
public sealed record OpenAiEmbeddingRequest
{
    public required string Model { get; init; }
    public required JsonElement Input { get; init; }
    /// <summary>float (default) or base64 (little-endian float32).</summary>
    public string? EncodingFormat { get; init; }
    public int? Dimensions { get; init; }
}

/// <summary>One embedding: an array of floats, or base64 text with encoding_format base64.</summary>
public sealed record OpenAiEmbedding(string Object, JsonElement Embedding, int Index);

public sealed record OpenAiEmbeddingUsage(int PromptTokens, int TotalTokens);

/// <summary>/v1/embeddings' answer.</summary>
public sealed record OpenAiEmbeddingList(string Object, List<OpenAiEmbedding> Data, string Model, OpenAiEmbeddingUsage Usage);

/// <summary>A model, OpenAI's shape.</summary>
public sealed record OpenAiModel(string Id, string Object, long Created, string OwnedBy);

/// <summary>/v1/models' answer.</summary>
public sealed record OpenAiModelList(string Object, List<OpenAiModel> Data);

/// <summary>An error of the OpenAI-compatible API.</summary>
public sealed record OpenAiError(OpenAiErrorBody Error);

public sealed record OpenAiErrorBody(string Message, string Type, string? Param, string Code);

/// <summary>The OpenAI-compatible API's bodies, source-generated (snake_case, nulls left out).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OpenAiChatRequest))]
[JsonSerializable(typeof(OpenAiCompletionRequest))]
[JsonSerializable(typeof(OpenAiCompletion))]
[JsonSerializable(typeof(OpenAiEmbeddingRequest))]
[JsonSerializable(typeof(OpenAiEmbeddingList))]
[JsonSerializable(typeof(OpenAiModel))]
[JsonSerializable(typeof(OpenAiModelList))]
[JsonSerializable(typeof(OpenAiError))]
public sealed partial class OpenAiJson : JsonSerializerContext;
