using System.Buffers.Binary;
using System.Text;

namespace Hailo.TestSupport;

/// <summary>
/// Writes small ONNX models (the protobuf wire format, by hand) so tests can make models with the real I/O
/// signature of a network the registries do not ship: constants, arithmetic and reductions are enough to
/// encode known answers or to echo the input back.
/// </summary>
public sealed class OnnxWriter
{
    public const int Float = 1, Int64 = 7, Bool = 9;

    private readonly List<byte[]> _nodes = [];
    private readonly List<byte[]> _initializers = [];
    private readonly List<byte[]> _inputs = [];
    private readonly List<byte[]> _outputs = [];
    private int _auto;

    /// <summary>A graph input; use -1 (or a name via <paramref name="symbolic"/>) for dynamic dimensions.</summary>
    public OnnxWriter Input(string name, long[] shape, int elemType = Float, string?[]? symbolic = null)
    {
        _inputs.Add(ValueInfo(name, elemType, shape, symbolic));
        return this;
    }

    public OnnxWriter Output(string name, long[] shape, int elemType = Float, string?[]? symbolic = null)
    {
        _outputs.Add(ValueInfo(name, elemType, shape, symbolic));
        return this;
    }

    /// <summary>A float constant tensor (initializer); returns its name.</summary>
    public string Constant(float[] data, long[] shape, string? name = null)
    {
        name ??= $"const_{_auto++}";
        var t = new Proto();
        foreach (var d in shape) t.Varint(1, (ulong)d);
        t.Varint(2, Float);
        t.String(8, name);
        var raw = new byte[data.Length * 4];
        for (var i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), data[i]);
        t.Bytes(9, raw);
        _initializers.Add(t.ToArray());
        return name;
    }

    /// <summary>An int64 constant tensor (e.g. a shape or axes); returns its name.</summary>
    public string ConstantInt64(long[] data, long[] shape, string? name = null)
    {
        name ??= $"const_{_auto++}";
        var t = new Proto();
        foreach (var d in shape) t.Varint(1, (ulong)d);
        t.Varint(2, Int64);
        t.String(8, name);
        var raw = new byte[data.Length * 8];
        for (var i = 0; i < data.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8), data[i]);
        t.Bytes(9, raw);
        _initializers.Add(t.ToArray());
        return name;
    }

    /// <summary>Adds a node; returns the name of its (single) output.</summary>
    public string Node(string opType, string[] inputs, string? output = null, params (string Name, object Value)[] attributes)
    {
        output ??= $"{opType.ToLowerInvariant()}_{_auto++}";
        var n = new Proto();
        foreach (var i in inputs) n.String(1, i);
        n.String(2, output);
        n.String(3, $"n{_auto++}");
        n.String(4, opType);
        foreach (var (name, value) in attributes)
        {
            var a = new Proto();
            a.String(1, name);
            switch (value)
            {
                case long l: a.Varint(3, (ulong)l); a.Varint(20, 2); break;
                case int i: a.Varint(3, (ulong)(long)i); a.Varint(20, 2); break;
                case float f: a.Fixed32(2, f); a.Varint(20, 1); break;
                case long[] ls: foreach (var v in ls) a.Varint(8, (ulong)v); a.Varint(20, 7); break;
                case string s: a.Bytes(4, Encoding.UTF8.GetBytes(s)); a.Varint(20, 3); break;
                default: throw new ArgumentException($"attribute type {value.GetType()} not supported");
            }
            n.Message(5, a);
        }
        _nodes.Add(n.ToArray());
        return output;
    }

    /// <summary>The serialised ModelProto (IR version 8, default opset 17).</summary>
    public byte[] ToBytes(string graphName = "test", int opset = 17)
    {
        var g = new Proto();
        foreach (var n in _nodes) g.Bytes(1, n);
        g.String(2, graphName);
        foreach (var t in _initializers) g.Bytes(5, t);
        foreach (var i in _inputs) g.Bytes(11, i);
        foreach (var o in _outputs) g.Bytes(12, o);

        var m = new Proto();
        m.Varint(1, 8);
        m.String(2, "hailo-tests");
        var op = new Proto();
        op.String(1, "");
        op.Varint(2, (ulong)opset);
        m.Message(8, op);
        m.Bytes(7, g.ToArray());
        return m.ToArray();
    }

    public void Save(string path) => File.WriteAllBytes(path, ToBytes());

    private static byte[] ValueInfo(string name, int elemType, long[] shape, string?[]? symbolic)
    {
        var dims = new Proto();
        for (var i = 0; i < shape.Length; i++)
        {
            var d = new Proto();
            if (symbolic?[i] is { } sym) d.String(2, sym);
            else if (shape[i] >= 0) d.Varint(1, (ulong)shape[i]);
            else d.String(2, $"d{i}");
            dims.Message(1, d);
        }
        var tensor = new Proto();
        tensor.Varint(1, (ulong)elemType);
        tensor.Message(2, dims);
        var type = new Proto();
        type.Message(1, tensor);
        var vi = new Proto();
        vi.String(1, name);
        vi.Message(2, type);
        return vi.ToArray();
    }

    /// <summary>Protobuf wire-format writer: varints, length-delimited fields, fixed32.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _s = new();

        private void Tag(int field, int wire) => Raw((ulong)((field << 3) | wire));

        private void Raw(ulong v)
        {
            while (v >= 0x80)
            {
                _s.WriteByte((byte)(v | 0x80));
                v >>= 7;
            }
            _s.WriteByte((byte)v);
        }

        public void Varint(int field, ulong v) { Tag(field, 0); Raw(v); }
        public void Fixed32(int field, float v) { Tag(field, 5); Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteSingleLittleEndian(b, v); _s.Write(b); }
        public void Bytes(int field, byte[] data) { Tag(field, 2); Raw((ulong)data.Length); _s.Write(data); }
        public void String(int field, string s) => Bytes(field, Encoding.UTF8.GetBytes(s));
        public void Message(int field, Proto p) => Bytes(field, p.ToArray());
        public byte[] ToArray() => _s.ToArray();
    }
}
