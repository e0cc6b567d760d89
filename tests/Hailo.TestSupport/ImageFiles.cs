using System.Buffers.Binary;
using System.Text;

namespace Hailo.TestSupport;

/// <summary>
/// Writes small image files byte by byte (BMP, GIF, PNG headers, EXIF segments) so the decoder is tested on
/// formats Skia cannot encode and on hostile files no encoder would produce.
/// </summary>
public static class ImageFiles
{
    /// <summary>A 24-bit bottom-up BMP from RGBA pixels.</summary>
    public static byte[] Bmp(ReadOnlySpan<byte> rgba, int width, int height)
    {
        var rowBytes = (width * 3 + 3) & ~3;
        var data = new byte[54 + rowBytes * height];
        data[0] = (byte)'B'; data[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(2), data.Length);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(28), 24);
        for (var y = 0; y < height; y++)
        {
            var row = 54 + (height - 1 - y) * rowBytes;
            for (var x = 0; x < width; x++)
            {
                var s = (y * width + x) * 4;
                data[row + x * 3] = rgba[s + 2];
                data[row + x * 3 + 1] = rgba[s + 1];
                data[row + x * 3 + 2] = rgba[s];
            }
        }
        return data;
    }

    /// <summary>
    /// A GIF with one frame per entry of <paramref name="frameColours"/>, each frame filled with that palette
    /// index. LZW codes stay 9 bits wide by emitting a clear code every 254 pixels (valid, uncompressed-style).
    /// </summary>
    public static byte[] Gif(int width, int height, (byte R, byte G, byte B)[] palette, byte[] frameColours)
    {
        var ms = new MemoryStream();
        ms.Write("GIF89a"u8);
        Span<byte> lsd = stackalloc byte[7];
        BinaryPrimitives.WriteUInt16LittleEndian(lsd, (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(lsd[2..], (ushort)height);
        lsd[4] = 0xF7; // global colour table, 256 entries
        ms.Write(lsd);
        for (var i = 0; i < 256; i++)
        {
            var c = i < palette.Length ? palette[i] : ((byte)0, (byte)0, (byte)0);
            ms.WriteByte(c.Item1); ms.WriteByte(c.Item2); ms.WriteByte(c.Item3);
        }
        // Netscape loop extension so decoders treat it as an animation.
        ms.Write([0x21, 0xFF, 0x0B]);
        ms.Write("NETSCAPE2.0"u8);
        ms.Write([0x03, 0x01, 0x00, 0x00, 0x00]);
        var desc = new byte[10];
        foreach (var colour in frameColours)
        {
            ms.Write([0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00]); // graphic control: 100 ms
            desc[0] = 0x2C;
            BinaryPrimitives.WriteUInt16LittleEndian(desc.AsSpan(5), (ushort)width);
            BinaryPrimitives.WriteUInt16LittleEndian(desc.AsSpan(7), (ushort)height);
            ms.Write(desc);
            ms.WriteByte(8); // LZW minimum code size
            var bits = new BitWriter();
            const int clear = 256, end = 257;
            var pixels = width * height;
            for (var i = 0; i < pixels; i++)
            {
                if (i % 254 == 0) bits.Write(clear, 9);
                bits.Write(colour, 9);
            }
            bits.Write(end, 9);
            var lzw = bits.ToArray();
            for (var o = 0; o < lzw.Length; o += 255)
            {
                var n = Math.Min(255, lzw.Length - o);
                ms.WriteByte((byte)n);
                ms.Write(lzw, o, n);
            }
            ms.WriteByte(0);
        }
        ms.WriteByte(0x3B);
        return ms.ToArray();
    }

    /// <summary>A PNG that is only a signature and an IHDR claiming the given size, plus an empty IDAT and IEND.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
        Chunk(ms, "IHDR", ihdr);
        Chunk(ms, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    /// <summary>Inserts an EXIF APP1 segment with the given orientation right after a JPEG's SOI marker.</summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        if (jpeg[0] != 0xFF || jpeg[1] != 0xD8) throw new ArgumentException("not a JPEG");
        var tiff = new byte[26];
        tiff[0] = (byte)'I'; tiff[1] = (byte)'I';
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(8), 1);          // one IFD entry
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(10), 0x0112);    // Orientation
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(12), 3);         // SHORT
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(18), (ushort)orientation);
        BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(22), 0);         // no next IFD
        var payload = Encoding.ASCII.GetBytes("Exif\0\0").Concat(tiff).ToArray();
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF; segment[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return [.. jpeg[..2], .. segment, .. jpeg[2..]];
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(len, Crc32(typed));
        s.Write(len);
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    private sealed class BitWriter
    {
        private readonly List<byte> _bytes = [];
        private int _acc, _n;

        public void Write(int code, int width)
        {
            _acc |= code << _n;
            _n += width;
            while (_n >= 8)
            {
                _bytes.Add((byte)(_acc & 0xFF));
                _acc >>= 8;
                _n -= 8;
            }
        }

        public byte[] ToArray()
        {
            if (_n > 0) _bytes.Add((byte)(_acc & 0xFF));
            return [.. _bytes];
        }
    }
}
