using System.Buffers.Binary;
using System.Text;

namespace HailoOllama.Gguf;

/// <summary>An array value of a GGUF header: its element type and length; string arrays up to a size are kept.</summary>
public sealed record GgufArray(GgufType ElementType, long Count, IReadOnlyList<string>? Strings = null);

public enum GgufType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9,
    UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>
/// The key/value header of a GGUF file (version 2 or 3), read without loading the weights: what /api/show and
/// /api/tags report (architecture, context length, chat template, parameter count, quantisation).
/// </summary>
public sealed class GgufInfo
{
    public required uint Version { get; init; }
    public required long TensorCount { get; init; }
    public required IReadOnlyDictionary<string, object> Metadata { get; init; }
    /// <summary>Sum of the element counts of every tensor (the model's parameter count).</summary>
    public long ParameterCount { get; init; }

    public string? String(string key) => Metadata.TryGetValue(key, out var v) ? v as string : null;

    public long? Integer(string key) => Metadata.TryGetValue(key, out var v) ? v switch
    {
        byte b => b, sbyte sb => sb, ushort us => us, short s => s, uint ui => ui, int i => i, ulong ul => (long)ul, long l => l,
        _ => null,
    } : null;

    public string Architecture => String("general.architecture") ?? "unknown";
    public string? ChatTemplate => String("tokenizer.chat_template");
    public long? ContextLength => Integer(Architecture + ".context_length");
    public long? EmbeddingLength => Integer(Architecture + ".embedding_length");

    /// <summary>llama.cpp's general.file_type as the name Ollama shows (Q4_K_M, F16, ...).</summary>
    public string QuantizationLevel => Integer("general.file_type") switch
    {
        0 => "F32", 1 => "F16", 2 => "Q4_0", 3 => "Q4_1", 7 => "Q8_0", 8 => "Q5_0", 9 => "Q5_1", 10 => "Q2_K", 11 => "Q3_K_S",
        12 => "Q3_K_M", 13 => "Q3_K_L", 14 => "Q4_K_S", 15 => "Q4_K_M", 16 => "Q5_K_S", 17 => "Q5_K_M", 18 => "Q6_K", 32 => "BF16",
        null => "unknown", var n => "type " + n,
    };

    /// <summary>"494.03M", "1.5B": Ollama's parameter_size.</summary>
    public string ParameterSize => ParameterCount switch
    {
        >= 1_000_000_000 => $"{ParameterCount / 1e9:0.##}B",
        >= 1_000_000 => $"{ParameterCount / 1e6:0.##}M",
        >= 1_000 => $"{ParameterCount / 1e3:0.##}K",
        _ => ParameterCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Reads the header of <paramref name="path"/>; throws <see cref="InvalidDataException"/> when it is not GGUF.</summary>
    public static GgufInfo Read(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(s);
    }

    public static bool LooksLikeGguf(Stream s)
    {
        Span<byte> magic = stackalloc byte[4];
        return s.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("GGUF"u8);
    }

    public static GgufInfo Read(Stream stream)
    {
        var r = new Reader(stream);
        if (!r.Bytes(4).SequenceEqual("GGUF"u8.ToArray())) throw new InvalidDataException("not a GGUF file (no GGUF magic)");
        var version = r.U32();
        if (version is < 2 or > 3) throw new InvalidDataException($"GGUF version {version} is not supported (2 or 3)");
        var tensors = r.I64();
        var kvs = r.I64();
        if (tensors < 0 || kvs < 0 || kvs > 1_000_000 || tensors > 10_000_000) throw new InvalidDataException("GGUF header counts are out of range");
        var meta = new Dictionary<string, object>(StringComparer.Ordinal);
        for (long i = 0; i < kvs; i++)
        {
            var key = r.Str();
            var type = (GgufType)r.U32();
            meta[key] = r.Value(type, keepStrings: key is "tokenizer.ggml.tokens" ? 0 : 64);
        }
        long parameters = 0;
        for (long i = 0; i < tensors; i++)
        {
            _ = r.Str();
            var dims = r.U32();
            if (dims > 8) throw new InvalidDataException("GGUF tensor with more than 8 dimensions");
            long n = 1;
            for (var d = 0; d < dims; d++) n *= r.I64();
            _ = r.U32(); // type
            _ = r.I64(); // offset
            parameters += n;
        }
        return new GgufInfo { Version = version, TensorCount = tensors, Metadata = meta, ParameterCount = parameters };
    }

    private sealed class Reader(Stream s)
    {
        private readonly byte[] _b = new byte[8];

        public byte[] Bytes(int n)
        {
            var b = new byte[n];
            s.ReadExactly(b);
            return b;
        }

        private ReadOnlySpan<byte> Fixed(int n)
        {
            s.ReadExactly(_b, 0, n);
            return _b.AsSpan(0, n);
        }

        public uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Fixed(4));
        public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Fixed(8));

        public string Str()
        {
            var len = I64();
            if (len is < 0 or > 64 << 20) throw new InvalidDataException("GGUF string length out of range");
            return Encoding.UTF8.GetString(Bytes((int)len));
        }

        private void SkipStr()
        {
            var len = I64();
            if (len < 0) throw new InvalidDataException("GGUF string length out of range");
            s.Seek(len, SeekOrigin.Current);
        }

        public object Value(GgufType t, int keepStrings) => t switch
        {
            GgufType.UInt8 => Fixed(1)[0],
            GgufType.Int8 => (sbyte)Fixed(1)[0],
            GgufType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(Fixed(2)),
            GgufType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(Fixed(2)),
            GgufType.UInt32 => U32(),
            GgufType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(Fixed(4)),
            GgufType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(Fixed(4)),
            GgufType.Bool => Fixed(1)[0] != 0,
            GgufType.String => Str(),
            GgufType.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(Fixed(8)),
            GgufType.Int64 => I64(),
            GgufType.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(Fixed(8)),
            GgufType.Array => Array(keepStrings),
            _ => throw new InvalidDataException($"unknown GGUF value type {(uint)t}"),
        };

        private GgufArray Array(int keepStrings)
        {
            var et = (GgufType)U32();
            var n = I64();
            if (n < 0) throw new InvalidDataException("GGUF array length out of range");
            var size = et switch
            {
                GgufType.UInt8 or GgufType.Int8 or GgufType.Bool => 1,
                GgufType.UInt16 or GgufType.Int16 => 2,
                GgufType.UInt32 or GgufType.Int32 or GgufType.Float32 => 4,
                GgufType.UInt64 or GgufType.Int64 or GgufType.Float64 => 8,
                GgufType.String => -1,
                _ => throw new InvalidDataException($"GGUF array of type {(uint)et} is not supported"),
            };
            if (size > 0)
            {
                s.Seek(n * size, SeekOrigin.Current);
                return new GgufArray(et, n);
            }
            List<string>? kept = n <= keepStrings ? [] : null;
            for (long i = 0; i < n; i++)
            {
                if (kept is not null) kept.Add(Str());
                else SkipStr();
            }
            return new GgufArray(et, n, kept);
        }
    }
}
