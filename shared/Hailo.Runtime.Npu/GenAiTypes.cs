namespace Hailo.Runtime.Npu;

/// <summary>How a generation ended (HailoRT LLMGeneratorCompletion::Status).</summary>
public enum GenerationStatus
{
    Generating = 0,
    /// <summary>max_generated_tokens reached, or the context (KV cache) is full.</summary>
    MaxTokensReached = 1,
    /// <summary>The model ended the reply (end or stop token).</summary>
    LogicalEnd = 2,
    /// <summary>Aborted by the caller (cancellation, <see cref="NpuGeneration.Abort"/> or dispose).</summary>
    Aborted = 3,
}

/// <summary>Generation parameters; null fields take the model's defaults.</summary>
public sealed record GenerationParameters
{
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public float? FrequencyPenalty { get; init; }
    /// <summary>Includes special tokens, excludes HailoRT's recovery sequence.</summary>
    public int? MaxGeneratedTokens { get; init; }
    /// <summary>false = greedy decoding.</summary>
    public bool? DoSample { get; init; }
    /// <summary>A fixed seed; <see cref="uint.MaxValue"/> asks for a random one.</summary>
    public uint? Seed { get; init; }

    internal HsGenParams ToNative()
    {
        var p = NativeMethods.hs_gen_default_params();
        if (Temperature is { } t) p.Temperature = t;
        if (TopP is { } tp) p.TopP = tp;
        if (TopK is { } k) p.TopK = checked((uint)k);
        if (FrequencyPenalty is { } f) p.FrequencyPenalty = f;
        if (MaxGeneratedTokens is { } m) p.MaxGeneratedTokens = checked((uint)m);
        if (DoSample is { } d) p.DoSample = d ? 1 : 0;
        if (Seed is { } s)
        {
            p.UseSeed = 1;
            p.Seed = s;
        }
        return p;
    }

    internal static GenerationParameters FromNative(in HsGenParams p) => new()
    {
        Temperature = float.IsNaN(p.Temperature) ? null : p.Temperature,
        TopP = float.IsNaN(p.TopP) ? null : p.TopP,
        TopK = p.TopK == 0 ? null : (int)p.TopK,
        FrequencyPenalty = float.IsNaN(p.FrequencyPenalty) ? null : p.FrequencyPenalty,
        MaxGeneratedTokens = p.MaxGeneratedTokens == 0 ? null : (int)p.MaxGeneratedTokens,
        DoSample = p.DoSample < 0 ? null : p.DoSample != 0,
        Seed = p.UseSeed != 0 ? p.Seed : null,
    };
}

/// <summary>KV-cache capacity and usage in tokens.</summary>
public readonly record struct ContextUsage(int MaxTokens, int UsedTokens)
{
    public int FreeTokens => MaxTokens - UsedTokens;
}

/// <summary>Options for loading an LLM or VLM.</summary>
public sealed record GenAiOptions
{
    /// <summary>LoRA adapter name inside the HEF ("" = none; LLM only).</summary>
    public string LoraName { get; init; } = "";
    /// <summary>Host-side tokenizer; needs a HailoRT built with HAILO_BUILD_CLIENT_TOKENIZER.</summary>
    public bool OptimizeMemoryOnDevice { get; init; }

    internal unsafe HsGenAiParams ToNative()
    {
        var p = NativeMethods.hs_genai_default_params();
        FixedString.Write(p.LoraName, 128, LoraName, nameof(LoraName));
        p.OptimizeMemoryOnDevice = OptimizeMemoryOnDevice ? 1 : 0;
        return p;
    }
}

/// <summary>The outcome of one generation.</summary>
/// <param name="Status">How it ended: max tokens, logical end or aborted.</param>
/// <param name="Text">Every piece concatenated.</param>
/// <param name="PieceCount">Non-empty pieces read; HailoRT hands out one token per read, so this is the token count
/// except where the shim merged the bytes of a multi-byte character split across tokens.</param>
/// <param name="Context">KV-cache usage right after the generation ended (null if it could not be read).</param>
/// <param name="Elapsed">From start to the final status.</param>
public sealed record GenerationResult(GenerationStatus Status, string Text, int PieceCount, ContextUsage? Context, TimeSpan Elapsed);
