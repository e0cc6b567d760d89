using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Hailo.Runtime.Npu;

/// <summary>
/// What LLMs and VLMs share: generation defaults, KV-cache usage, clearing the context, and the rule of one
/// generation at a time per model, enforced here before the shim is asked.
/// </summary>
public abstract class GenAiModel : IDisposable
{
    private int _busy;

    private protected GenAiModel(string hefPath) => HefPath = hefPath;

    public string HefPath { get; }

    /// <summary>A generation that produces no text for this long is aborted and fails with HAILO_TIMEOUT.</summary>
    public TimeSpan PieceTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>True while a generation's native completion is alive.</summary>
    public bool IsGenerating => Volatile.Read(ref _busy) != 0;

    /// <summary>The model's default generation parameters (every field set).</summary>
    public abstract GenerationParameters GetGenerationDefaults();

    /// <summary>KV-cache capacity and current usage in tokens.</summary>
    public abstract ContextUsage GetContextUsage();

    /// <summary>Forgets the conversation (the KV cache). Not while a generation is running.</summary>
    public void ClearContext()
    {
        if (IsGenerating) throw Busy("clear the context of");
        ClearContextCore();
    }

    private protected abstract void ClearContextCore();

    private protected abstract string Kind { get; }

    private protected void BeginGeneration()
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0) throw Busy("start a generation on");
    }

    internal void EndGeneration() => Volatile.Write(ref _busy, 0);

    private InvalidOperationException Busy(string action) => new(
        $"cannot {action} {Kind} {Path.GetFileName(HefPath)}: it is already generating. One generation runs at a time per model; " +
        "read it to the end, abort it or dispose it first.");

    public abstract void Dispose();

    /// <summary>Builds a JSON array of chat messages ({"role", "content"}) without reflection.</summary>
    public static string MessagesJson(params ReadOnlySpan<(string Role, string Content)> messages)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var (role, content) in messages)
            {
                w.WriteStartObject();
                w.WriteString("role", role);
                w.WriteString("content", content);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>A loaded LLM (HailoRT genai::LLM). It holds the device's single KV cache for its lifetime.</summary>
public sealed unsafe class LlmModel : GenAiModel
{
    private readonly LlmHandle _handle;

    private LlmModel(LlmHandle handle, string hefPath) : base(hefPath) => _handle = handle;

    internal LlmHandle Handle => _handle;

    private protected override string Kind => "LLM";

    /// <summary>Loads an LLM; fails with HAILO_INVALID_OPERATION (6) while another LLM/VLM holds the KV cache.</summary>
    public static LlmModel Create(VDevice vdevice, string hefPath, GenAiOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vdevice);
        ArgumentException.ThrowIfNullOrEmpty(hefPath);
        NpuRuntime.EnsureLoaded();
        var p = (options ?? new GenAiOptions()).ToNative();
        var st = NativeMethods.hs_llm_create(vdevice.Handle, hefPath, &p, out var handle);
        if (st != 0) throw Shim.ErrorDisposing(st, handle);
        return new LlmModel(handle, hefPath);
    }

    public override GenerationParameters GetGenerationDefaults()
    {
        HsGenParams p;
        Shim.Check(NativeMethods.hs_llm_generation_defaults(_handle, &p));
        return GenerationParameters.FromNative(p);
    }

    public override ContextUsage GetContextUsage()
    {
        uint max, used;
        Shim.Check(NativeMethods.hs_llm_context_info(_handle, &max, &used));
        return new ContextUsage((int)max, (int)used);
    }

    private protected override void ClearContextCore() => Shim.Check(NativeMethods.hs_llm_clear_context(_handle));

    /// <summary>The chat template (Jinja) embedded in the HEF.</summary>
    public string GetPromptTemplate() =>
        Shim.ReadString((buf, cap, len) => NativeMethods.hs_llm_prompt_template(_handle, (byte*)buf, cap, (nuint*)len));

    /// <summary>Token ids of <paramref name="text"/>, e.g. for context accounting.</summary>
    public int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cap = Math.Max(16, text.Length);
        while (true)
        {
            var ids = new int[cap];
            nuint count;
            int st;
            fixed (int* p = ids) st = NativeMethods.hs_llm_tokenize(_handle, text, p, (nuint)cap, &count);
            if (st == (int)HailoStatus.BufferTooSmall && count > (nuint)cap)
            {
                cap = checked((int)count);
                continue;
            }
            Shim.Check(st);
            return ids.AsSpan(0, (int)count).ToArray();
        }
    }

    /// <summary>The stop strings (for an LLM they replace the built-in end of sequence).</summary>
    public IReadOnlyList<string> GetStopTokens()
    {
        var json = Shim.ReadString((buf, cap, len) => NativeMethods.hs_llm_get_stop_tokens(_handle, (byte*)buf, cap, (nuint*)len));
        using var doc = JsonDocument.Parse(json);
        var list = new List<string>();
        foreach (var e in doc.RootElement.EnumerateArray()) list.Add(e.GetString() ?? "");
        return list;
    }

    public void SetStopTokens(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var t in tokens) w.WriteStringValue(t);
            w.WriteEndArray();
        }
        Shim.Check(NativeMethods.hs_llm_set_stop_tokens(_handle, Encoding.UTF8.GetString(buffer.WrittenSpan)));
    }

    /// <summary>Generates from a raw, already templated prompt.</summary>
    /// <exception cref="InvalidOperationException">Another generation of this model is still running.</exception>
    public NpuGeneration Generate(string rawPrompt, GenerationParameters? parameters = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(rawPrompt);
        return Start(parameters, rawPrompt, null, null, cancellationToken);
    }

    /// <summary>
    /// Generates from a JSON array of messages rendered with the HEF's template, plus an optional JSON array of
    /// tools (HailoRT ≥ 5.2; system messages and tools only on a fresh context).
    /// </summary>
    /// <exception cref="InvalidOperationException">Another generation of this model is still running.</exception>
    public NpuGeneration GenerateChat(string messagesJson, string? toolsJson = null, GenerationParameters? parameters = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messagesJson);
        return Start(parameters, null, messagesJson, toolsJson, cancellationToken);
    }

    private NpuGeneration Start(GenerationParameters? parameters, string? raw, string? messages, string? tools, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        var p = (parameters ?? new GenerationParameters()).ToNative();
        BeginGeneration();
        try
        {
            var st = NativeMethods.hs_llm_generate_start(_handle, &p, raw, messages, tools, out var completion);
            if (st != 0) throw Shim.ErrorDisposing(st, completion);
            return new NpuGeneration(this, completion, PieceTimeout, ct);
        }
        catch
        {
            EndGeneration();
            throw;
        }
    }

    /// <summary>Unloads the model; a running generation keeps it (and the KV cache) alive until it ends.</summary>
    public override void Dispose() => _handle.Dispose();
}

/// <summary>Shape, type and size every VLM input frame must have.</summary>
public sealed record FrameSpec(int Height, int Width, int Features, NpuFormatType FormatType, NpuFormatOrder FormatOrder, long FrameSize);

/// <summary>A loaded VLM (HailoRT genai::VLM). It holds the device's single KV cache for its lifetime.</summary>
public sealed unsafe class VlmModel : GenAiModel
{
    private readonly VlmHandle _handle;

    private VlmModel(VlmHandle handle, string hefPath, FrameSpec spec) : base(hefPath)
    {
        _handle = handle;
        FrameSpec = spec;
    }

    private protected override string Kind => "VLM";

    public FrameSpec FrameSpec { get; }

    /// <summary>Loads a VLM; fails with HAILO_INVALID_OPERATION (6) while another LLM/VLM holds the KV cache.</summary>
    public static VlmModel Create(VDevice vdevice, string hefPath, GenAiOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vdevice);
        ArgumentException.ThrowIfNullOrEmpty(hefPath);
        NpuRuntime.EnsureLoaded();
        var p = (options ?? new GenAiOptions()).ToNative();
        var st = NativeMethods.hs_vlm_create(vdevice.Handle, hefPath, &p, out var handle);
        if (st != 0) throw Shim.ErrorDisposing(st, handle);
        try
        {
            HsFrameSpec s;
            Shim.Check(NativeMethods.hs_vlm_frame_spec(handle, &s));
            var spec = new FrameSpec((int)s.Height, (int)s.Width, (int)s.Features, (NpuFormatType)s.FormatType,
                (NpuFormatOrder)s.FormatOrder, checked((long)s.FrameSize));
            return new VlmModel(handle, hefPath, spec);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public override GenerationParameters GetGenerationDefaults()
    {
        HsGenParams p;
        Shim.Check(NativeMethods.hs_vlm_generation_defaults(_handle, &p));
        return GenerationParameters.FromNative(p);
    }

    public override ContextUsage GetContextUsage()
    {
        uint max, used;
        Shim.Check(NativeMethods.hs_vlm_context_info(_handle, &max, &used));
        return new ContextUsage((int)max, (int)used);
    }

    private protected override void ClearContextCore() => Shim.Check(NativeMethods.hs_vlm_clear_context(_handle));

    /// <summary>
    /// Generates from JSON messages holding one {"type":"image"} per frame; every frame is exactly
    /// <see cref="FrameSpec"/>.FrameSize bytes and is copied by the shim before this returns.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another generation of this model is still running.</exception>
    public NpuGeneration Generate(string messagesJson, ReadOnlySpan<ReadOnlyMemory<byte>> frames, GenerationParameters? parameters = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(messagesJson);
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        for (var k = 0; k < frames.Length; k++)
            if (frames[k].Length != FrameSpec.FrameSize)
                throw new ArgumentException($"frame {k} is {frames[k].Length} bytes; the model wants {FrameSpec.FrameSize}", nameof(frames));
        var p = (parameters ?? new GenerationParameters()).ToNative();
        BeginGeneration();
        var pins = new MemoryHandle[frames.Length];
        try
        {
            var ptrs = stackalloc void*[Math.Max(1, frames.Length)];
            var sizes = stackalloc nuint[Math.Max(1, frames.Length)];
            for (var k = 0; k < frames.Length; k++)
            {
                pins[k] = frames[k].Pin();
                ptrs[k] = pins[k].Pointer;
                sizes[k] = (nuint)frames[k].Length;
            }
            var st = NativeMethods.hs_vlm_generate_start(_handle, &p, messagesJson, ptrs, sizes, (uint)frames.Length, out var completion);
            if (st != 0) throw Shim.ErrorDisposing(st, completion);
            return new NpuGeneration(this, completion, PieceTimeout, cancellationToken);
        }
        catch
        {
            EndGeneration();
            throw;
        }
        finally
        {
            foreach (var pin in pins) pin.Dispose();
        }
    }

    /// <summary>A one-message conversation: <paramref name="imageCount"/> image parts followed by the text.</summary>
    public static string UserMessageJson(string text, int imageCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(imageCount);
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            w.WriteStartObject();
            w.WriteString("role", "user");
            w.WriteStartArray("content");
            for (var i = 0; i < imageCount; i++)
            {
                w.WriteStartObject();
                w.WriteString("type", "image");
                w.WriteEndObject();
            }
            w.WriteStartObject();
            w.WriteString("type", "text");
            w.WriteString("text", text);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Unloads the model; a running generation keeps it alive until it ends.</summary>
    public override void Dispose() => _handle.Dispose();
}
