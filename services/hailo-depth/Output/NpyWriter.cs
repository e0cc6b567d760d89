using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace HailoDepth.Output;

/// <summary>
/// NumPy's .npy format (version 1.0) for a C-order float32 matrix, and .npz (a ZIP of .npy members, stored, as
/// numpy.savez writes it). Header: magic "\x93NUMPY", version 1.0, little-endian uint16 header length, then the
/// dict literal {'descr': '&lt;f4', 'fortran_order': False, 'shape': (H, W), } padded with spaces and ended by '\n'
/// so that magic + length + header is a multiple of 64 bytes. Both are written into one buffer of their final size,
/// the values passing through <see cref="ValueMap"/> on the way (maps of a few megabytes are written per request).
/// </summary>
internal static class NpyWriter
{
    public static byte[] Header(int rows, int columns)
    {
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}";
        var total = 10 + dict.Length + 1;
        var padded = (total + 63) / 64 * 64;
        var header = new byte[padded];
        header[0] = 0x93;
        "NUMPY"u8.CopyTo(header.AsSpan(1));
        header[6] = 1;
        header[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), (ushort)(padded - 10));
        Encoding.ASCII.GetBytes(dict, header.AsSpan(10));
        header.AsSpan(10 + dict.Length, padded - 10 - dict.Length - 1).Fill((byte)' ');
        header[^1] = (byte)'\n';
        return header;
    }

    /// <summary>A whole .npy file of a rows × columns float32 matrix, in a new array or one from <paramref name="allocate"/>.</summary>
    public static byte[] Npy(ReadOnlySpan<float> values, int rows, int columns, ValueMap map = default, Func<int, byte[]>? allocate = null)
    {
        Check(values, rows, columns);
        var header = Header(rows, columns);
        var file = Allocate(header.Length + values.Length * 4, allocate);
        WriteNpy(header, values, map, file);
        return file;
    }

    /// <summary>
    /// An .npz holding one array under <paramref name="key"/> (numpy.load(...)[key]): a ZIP with one stored member
    /// (local header, the .npy, central directory, end record; no data descriptor, dated 1980-01-01 00:00).
    /// </summary>
    public static byte[] Npz(string key, ReadOnlySpan<float> values, int rows, int columns, ValueMap map = default, Func<int, byte[]>? allocate = null)
    {
        Check(values, rows, columns);
        var name = Encoding.ASCII.GetBytes(key + ".npy");
        var header = Header(rows, columns);
        var npyLength = header.Length + values.Length * 4;
        const int local = 30, central = 46, end = 22;
        var zip = Allocate(local + name.Length + npyLength + central + name.Length + end, allocate);
        // Every byte outside the .npy is a header field, most of them 0; a reused array still holds its last file.
        zip.AsSpan(0, local + name.Length).Clear();
        zip.AsSpan(local + name.Length + npyLength).Clear();
        var npy = zip.AsSpan(local + name.Length, npyLength);
        WriteNpy(header, values, map, npy);
        var crc = Crc32.HashToUInt32(npy);

        var s = zip.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, 0x04034B50);
        EntryFields(s[4..], crc, npyLength, name.Length);
        name.CopyTo(s[local..]);

        var cd = s[(local + name.Length + npyLength)..];
        BinaryPrimitives.WriteUInt32LittleEndian(cd, 0x02014B50);
        BinaryPrimitives.WriteUInt16LittleEndian(cd[4..], 20); // made by: version 2.0
        EntryFields(cd[6..], crc, npyLength, name.Length);
        // comment length, disk number, internal and external attributes, local header offset: all 0.
        name.CopyTo(cd[central..]);

        var eocd = cd[(central + name.Length)..];
        BinaryPrimitives.WriteUInt32LittleEndian(eocd, 0x06054B50);
        BinaryPrimitives.WriteUInt16LittleEndian(eocd[8..], 1); // entries on this disk
        BinaryPrimitives.WriteUInt16LittleEndian(eocd[10..], 1); // entries in all
        BinaryPrimitives.WriteUInt32LittleEndian(eocd[12..], (uint)(central + name.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(eocd[16..], (uint)(local + name.Length + npyLength));
        return zip;
    }

    /// <summary>The fields local and central headers share, from "version needed" to the extra field's length.</summary>
    private static void EntryFields(Span<byte> s, uint crc, int size, int nameLength)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(s, 20); // version needed: 2.0
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], 0); // flags
        BinaryPrimitives.WriteUInt16LittleEndian(s[4..], 0); // method: stored
        BinaryPrimitives.WriteUInt16LittleEndian(s[6..], 0); // time 00:00:00
        BinaryPrimitives.WriteUInt16LittleEndian(s[8..], (1 << 5) | 1); // date 1980-01-01
        BinaryPrimitives.WriteUInt32LittleEndian(s[10..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(s[14..], (uint)size); // compressed
        BinaryPrimitives.WriteUInt32LittleEndian(s[18..], (uint)size); // uncompressed
        BinaryPrimitives.WriteUInt16LittleEndian(s[22..], (ushort)nameLength);
        BinaryPrimitives.WriteUInt16LittleEndian(s[24..], 0); // extra field length
    }

    private static byte[] Allocate(int length, Func<int, byte[]>? allocate)
    {
        var array = allocate?.Invoke(length) ?? new byte[length];
        if (array.Length != length) throw new InvalidOperationException($"the allocator returned {array.Length} bytes, not {length}");
        return array;
    }

    private static void Check(ReadOnlySpan<float> values, int rows, int columns)
    {
        if (values.Length != rows * columns) throw new ArgumentException($"expected {rows}×{columns} values", nameof(values));
    }

    private static void WriteNpy(byte[] header, ReadOnlySpan<float> values, ValueMap map, Span<byte> destination)
    {
        header.CopyTo(destination);
        var data = destination[header.Length..];
        if (BitConverter.IsLittleEndian)
        {
            map.Apply(values, MemoryMarshal.Cast<byte, float>(data));
            return;
        }
        var mapped = new float[values.Length];
        map.Apply(values, mapped);
        for (var i = 0; i < mapped.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(data[(4 * i)..], mapped[i]);
    }
}
