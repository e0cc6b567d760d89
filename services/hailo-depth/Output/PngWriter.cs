using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace HailoDepth.Output;

/// <summary>
/// Writes the PNGs this service returns: 16-bit greyscale (Skia has no 16-bit grey encoder) and 8-bit palette images. Rows use
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

    /// <summary>
    /// An 8-bit palette PNG (colour type 3): one index byte per pixel and a PLTE chunk of up to 256 RGB entries. A
    /// colormapped image is exactly this, at a third of the data to compress.
    /// </summary>
    public static byte[] Indexed8(ReadOnlySpan<byte> indices, int width, int height, ReadOnlySpan<byte> paletteRgb)
    {
        if (indices.Length != width * height) throw new ArgumentException($"expected {width}×{height} pixels", nameof(indices));
        if (paletteRgb.Length % 3 != 0 || paletteRgb.Length is 0 or > 768) throw new ArgumentException("a palette has 1 to 256 RGB entries", nameof(paletteRgb));
        var raw = new byte[height * (1 + width)];
        for (var y = 0; y < height; y++) indices.Slice(y * width, width).CopyTo(raw.AsSpan(y * (1 + width) + 1));
        return Write(width, height, bitDepth: 8, colourType: 3, raw, paletteRgb.ToArray());
    }

    private static byte[] Write(int width, int height, byte bitDepth, byte colourType, byte[] filteredRows, byte[]? palette = null)
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
        if (palette is not null) Chunk(ms, "PLTE"u8, palette);
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
        var crc = new Crc32();
        crc.Append(type);
        crc.Append(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
        s.Write(word);
    }
}
