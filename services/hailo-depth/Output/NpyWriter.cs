using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace HailoDepth.Output;

/// <summary>
/// NumPy's .npy format (version 1.0) for a C-order float32 matrix, and .npz (a ZIP of .npy members, stored, as
/// numpy.savez writes it). Header: magic "\x93NUMPY", version 1.0, little-endian uint16 header length, then the
/// dict literal {'descr': '&lt;f4', 'fortran_order': False, 'shape': (H, W), } padded with spaces and ended by '\n'
/// so that magic + length + header is a multiple of 64 bytes.
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

    /// <summary>A whole .npy file of a rows × columns float32 matrix.</summary>
    public static byte[] Npy(ReadOnlySpan<float> values, int rows, int columns)
    {
        if (values.Length != rows * columns) throw new ArgumentException($"expected {rows}×{columns} values", nameof(values));
        var header = Header(rows, columns);
        var file = new byte[header.Length + values.Length * 4];
        header.CopyTo(file, 0);
        WriteData(values, file.AsSpan(header.Length));
        return file;
    }

    /// <summary>An .npz holding one array under <paramref name="key"/> (numpy.load(...)[key]).</summary>
    public static byte[] Npz(string key, ReadOnlySpan<float> values, int rows, int columns)
    {
        var npy = Npy(values, rows, columns);
        using var ms = new MemoryStream(npy.Length + 256);
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            var entry = zip.CreateEntry(key + ".npy", CompressionLevel.NoCompression);
            entry.LastWriteTime = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);
            using var s = entry.Open();
            s.Write(npy);
        }
        return ms.ToArray();
    }

    private static void WriteData(ReadOnlySpan<float> values, Span<byte> destination)
    {
        if (BitConverter.IsLittleEndian)
        {
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).CopyTo(destination);
            return;
        }
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(destination[(4 * i)..], values[i]);
    }
}
