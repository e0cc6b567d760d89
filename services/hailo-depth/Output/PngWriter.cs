using System.Buffers.Binary;
using System.IO.Compression;

namespace HailoDepth.Output;

/// <summary>
/// Writes the PNGs this service returns: 16-bit greyscale (Skia has no 16-bit grey encoder) and 8-bit RGB. Rows use
/// filter type 0, the image data is one zlib stream at the fastest level: depth maps are large and answers are
/// encoded per request, so speed matters more than a few percent of size.
/// </summary>
internal static class PngWriter
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>A 16-bit greyscale PNG (colour type 0, bit depth 16; samples big-endian as PNG requires).</summary>
    public static byte[] Gray16(ReadOnlySpan<ushort> pixels, int width, int height)
    {
        if (pixels.Length != width * height) throw new ArgumentException($"expected {width}×{height} pixels", nameof(pixels));
        var raw = new byte[height * (1 + 2 * width)];
        for (var y = 0; y < height; y++)
        {
            var row = raw.AsSpan(y * (1 + 2 * width) + 1, 2 * width);
            var src = pixels.Slice(y * width, width);
            for (var x = 0; x < width; x++) BinaryPrimitives.WriteUInt16BigEndian(row[(2 * x)..], src[x]);
        }
        return Write(width, height, bitDepth: 16, colourType: 0, raw);
    }

    /// <summary>An 8-bit RGB PNG from packed RGB bytes.</summary>
    public static byte[] Rgb8(ReadOnlySpan<byte> rgb, int width, int height)
    {
        if (rgb.Length != 3 * width * height) throw new ArgumentException($"expected {width}×{height} RGB pixels", nameof(rgb));
        var raw = new byte[height * (1 + 3 * width)];
        for (var y = 0; y < height; y++) rgb.Slice(3 * y * width, 3 * width).CopyTo(raw.AsSpan(y * (1 + 3 * width) + 1));
        return Write(width, height, bitDepth: 8, colourType: 2, raw);
    }

    private static byte[] Write(int width, int height, byte bitDepth, byte colourType, byte[] filteredRows)
    {
        using var ms = new MemoryStream(filteredRows.Length / 2 + 1024);
        ms.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = bitDepth;
        ihdr[9] = colourType;
        ihdr[10] = 0; // deflate
        ihdr[11] = 0; // adaptive filtering (every row: type 0)
        ihdr[12] = 0; // no interlace
        Chunk(ms, "IHDR"u8, ihdr);
        using (var z = new MemoryStream(filteredRows.Length / 2 + 64))
        {
            using (var zlib = new ZLibStream(z, CompressionLevel.Fastest, leaveOpen: true)) zlib.Write(filteredRows);
            Chunk(ms, "IDAT"u8, z.GetBuffer().AsSpan(0, (int)z.Length));
        }
        Chunk(ms, "IEND"u8, []);
        return ms.ToArray();
    }

    private static void Chunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        s.Write(type);
        s.Write(data);
        var crc = Crc32.Update(Crc32.Update(0xFFFFFFFFu, type), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        s.Write(word);
    }
}

/// <summary>CRC-32 (ISO 3309, polynomial 0xEDB88320) as PNG chunks use it.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Build();

    private static uint[] Build()
    {
        var t = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }

    /// <summary>Continues a running CRC (start with 0xFFFFFFFF, finish by xor with 0xFFFFFFFF).</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
