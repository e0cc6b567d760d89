using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace HailoClip.Pipeline;

/// <summary>
/// A float array from a NumPy .npy file (format 1.x-3.x): little-endian float32 or float16, C order. The header is a
/// Python dict literal with 'descr', 'fortran_order' and 'shape'.
/// </summary>
internal sealed partial class NpyArray(float[] data, int[] shape)
{
    public float[] Data { get; } = data;
    public int[] Shape { get; } = shape;

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex Descr();
    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex Fortran();
    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeField();

    public static NpyArray Read(string path)
    {
        var name = Path.GetFileName(path);
        var bytes = File.ReadAllBytes(path);
        return Parse(bytes, name);
    }

    public static NpyArray Parse(ReadOnlySpan<byte> bytes, string name)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || !bytes[1..6].SequenceEqual("NUMPY"u8))
            throw new InvalidDataException($"{name}: not a .npy file");
        var major = bytes[6];
        int headerLength, offset;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]); offset = 10; }
        else if (major is 2 or 3 && bytes.Length >= 12) { headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..])); offset = 12; }
        else throw new InvalidDataException($"{name}: .npy format version {major} is not supported");
        if (offset + headerLength > bytes.Length) throw new InvalidDataException($"{name}: the header runs past the end of the file");
        var header = Encoding.Latin1.GetString(bytes.Slice(offset, headerLength));
        var descr = Descr().Match(header) is { Success: true } d ? d.Groups[1].Value : throw new InvalidDataException($"{name}: no 'descr' in the header");
        if (Fortran().Match(header) is not { Success: true } f || f.Groups[1].Value != "False")
            throw new InvalidDataException($"{name}: only C-order arrays are supported");
        var shapeText = ShapeField().Match(header) is { Success: true } s ? s.Groups[1].Value : throw new InvalidDataException($"{name}: no 'shape' in the header");
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(x => int.Parse(x, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
        long count = 1;
        foreach (var dim in shape) count = checked(count * dim);
        var data = bytes[(offset + headerLength)..];
        var size = descr switch { "<f4" => 4, "<f2" => 2, _ => throw new InvalidDataException($"{name}: element type '{descr}' is not supported (float32 or float16 little-endian)") };
        if (data.Length != count * size) throw new InvalidDataException($"{name}: {data.Length} data bytes for shape ({shapeText}) of {descr}");
        var values = new float[count];
        for (var i = 0; i < count; i++)
            values[i] = size == 4 ? BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..]) : (float)BinaryPrimitives.ReadHalfLittleEndian(data[(i * 2)..]);
        return new NpyArray(values, shape);
    }

    /// <summary>Writes a float32 .npy (format 1.0).</summary>
    public static byte[] Write(float[] data, params int[] shape)
    {
        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}";
        var total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        var result = new byte[10 + header.Length + data.Length * 4];
        result[0] = 0x93;
        "NUMPY"u8.CopyTo(result.AsSpan(1));
        result[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)header.Length);
        Encoding.Latin1.GetBytes(header, result.AsSpan(10));
        for (var i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(result.AsSpan(10 + header.Length + i * 4), data[i]);
        return result;
    }
}
