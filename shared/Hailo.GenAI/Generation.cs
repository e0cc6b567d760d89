using System.Text.Json;
using Hailo.GenAI.Chat;

namespace Hailo.GenAI;

/// <summary>Sampling and length options of one request, after defaults (Ollama's) and checks.</summary>
public sealed record SamplingOptions
{
    public float Temperature { get; init; } = 0.8f;
    public int TopK { get; init; } = 40;
    public float TopP { get; init; } = 0.9f;
    public float MinP { get; init; }
    public float TypicalP { get; init; } = 1f;
    public float RepeatPenalty { get; init; } = 1.1f;
    public int RepeatLastN { get; init; } = 64;
    public float PresencePenalty { get; init; }
    public float FrequencyPenalty { get; init; }
    /// <summary>null: a random seed.</summary>
    public uint? Seed { get; init; }
    /// <summary>-1: until the end of the reply or the context; -2: until the context is full; else at most this many tokens.</summary>
    public int NumPredict { get; init; } = -1;
    /// <summary>null: the service's default (ollama.num_ctx).</summary>
    public int? NumCtx { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    public int? NumThread { get; init; }
}

/// <summary>What the engine generates from: a token-ready prompt plus options and an optional grammar.</summary>
public sealed record GenerationInput(string Prompt, SamplingOptions Options, int NumCtx, string? Grammar, bool AddSpecial,
    IReadOnlyList<ChatTurn>? Turns = null, IReadOnlyList<JsonElement>? Tools = null)
{
    /// <summary>Set by the consumer to end the generation normally (a stop string was seen): stats still arrive.</summary>
    public StopSignal Signal { get; } = new();

    /// <summary>
    /// Called by the runner whenever the generation moves on (a prompt batch evaluated, a token generated), so that
    /// the watchdog can tell a long generation from a stuck one.
    /// </summary>
    public Action? Progress { get; set; }
}

public sealed class StopSignal
{
    private volatile bool _requested;
    public bool Requested => _requested;
    public void Request() => _requested = true;
}

/// <summary>How a generation ended, in Ollama's done_reason words.</summary>
public enum FinishReason { Stop, Length }

/// <summary>Counts and times of one generation (ns for Ollama's fields).</summary>
public sealed record GenerationStats(int PromptTokens, long PromptEvalNs, int EvalTokens, long EvalNs, FinishReason Reason, int[] Context, int TruncatedTokens);

/// <summary>One event of a running generation: a text piece, or the end with its stats.</summary>
public readonly record struct GenerationEvent(string? Piece, GenerationStats? Done);

/// <summary>A loaded model on one backend.</summary>
public interface IModelRunner : IDisposable
{
    Hailo.Core.Backend Backend { get; }
    /// <summary>The context this runner serves now (tokens).</summary>
    int ContextSize { get; }
    /// <summary>The model's trained context length.</summary>
    int TrainedContext { get; }
    bool CanEmbed { get; }
    /// <summary>Approximate bytes the model takes in memory (weights + KV cache).</summary>
    long MemoryBytes { get; }
    int CountTokens(string text, bool addSpecial);
    /// <summary>The tail of the prompt's tokens when it does not fit (for documented truncation).</summary>
    string Detokenize(ReadOnlySpan<int> tokens);
    int[] Tokenize(string text, bool addSpecial);
    IAsyncEnumerable<GenerationEvent> GenerateAsync(GenerationInput input, CancellationToken ct);
    /// <summary>
    /// The chat as a prompt by the backend's own template code, for a model whose template family the service does not
    /// render; null when the backend has none (the request is then refused).
    /// </summary>
    string? RenderChat(IReadOnlyList<ChatTurn> turns);
    /// <summary>One embedding per input, L2-normalised; and the token count.</summary>
    (float[][] Vectors, int Tokens) Embed(IReadOnlyList<string> inputs, bool truncate, int numCtx, CancellationToken ct);
}

/// <summary>
/// A request that cannot be served as asked (400 unless said; 503 with a retry time when busy or failing). It names no
/// API family: a service maps it to its HTTP error, <see cref="Param"/> being the request field at fault, if any.
/// </summary>
public sealed class GenAiException(int status, string message, int? retryAfter = null) : Exception(Hailo.Core.ClientText.Cap(message))
{
    public int Status { get; } = status;
    public int? RetryAfter { get; } = retryAfter;
    public string? Param { get; init; }
    /// <summary>True for a 503 because the NPU's one KV cache is held by another model or service (a caller may run the request elsewhere).</summary>
    public bool KvCacheBusy { get; init; }
}

/// <summary>A model file a runner loads: its name, the backend it runs on (cpu or npu) and its path.</summary>
public interface IModelFile
{
    string Name { get; }
    Hailo.Core.Backend Backend { get; }
    string Path { get; }
}
