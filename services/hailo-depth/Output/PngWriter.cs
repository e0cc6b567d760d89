using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace HailoDepth.Output;

/// <summary>Fills row <paramref name="y"/> of an image with its samples (PNG byte order), before filtering.</summary>
internal delegate void PngRowWriter(int y, Span<byte> row);

/// <summary>
/// Writes the PNGs this service returns: 16-bit greyscale (Skia has no 16-bit grey encoder) and 8-bit palette images.
/// Depth maps are smooth, so every row uses the Sub filter (each byte minus the one a pixel to its left), which turns
/// them into long runs of small differences; the filtered rows are Huffman-coded without match search (zlib's
/// Huffman-only strategy at level 1). Answers are encoded per request: this is several times faster than default
/// deflate on unfiltered rows, and smaller.
/// </summary>
internal static class PngWriter
{
    private static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private static readonly ZLibCompressionOptions Compression = new() { CompressionLevel = 1, CompressionStrategy = ZLibCompressionStrategy.HuffmanOnly };
    private const byte SubFilter = 1;

    /// <summary>A 16-bit greyscale PNG (colour type 0, bit depth 16) whose rows (2·width bytes, big-endian samples as PNG requires) <paramref name="fill"/> writes.</summary>
    public static byte[] Gray16(int width, int height, PngRowWriter fill) => Write(width, height, bitDepth: 16, colourType: 0, bytesPerPixel: 2, fill);

    /// <summary>
    /// An 8-bit palette PNG (colour type 3): one index byte per pixel and a PLTE chunk of up to 256 RGB entries. A
    /// colormapped image is exactly this, at a third of the data to compress. <paramref name="fill"/> writes each row of indices.
    /// </summary>
    public static byte[] Indexed8(int width, int height, ReadOnlySpan<byte> paletteRgb, PngRowWriter fill)
    {
        if (paletteRgb.Length % 3 != 0 || paletteRgb.Length is 0 or > 768) throw new ArgumentException("a palette has 1 to 256 RGB entries", nameof(paletteRgb));
        return Write(width, height, bitDepth: 8, colourType: 3, bytesPerPixel: 1, fill, paletteRgb.ToArray());
    }

    private static byte[] Write(int width, int height, byte bitDepth, byte colourType, int bytesPerPixel, PngRowWriter fill, byte[]? palette = null)
    {
        var stride = 1 + width * bytesPerPixel;
        var length = height * stride;
        // Rows and the output stream are sized once (the output for data that does not compress at all): growing or
        // fresh buffers of a megabyte cost page faults on every request.
        var rows = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            for (var y = 0; y < height; y++)
            {
                var line = rows.AsSpan(y * stride, stride);
                var samples = line[1..];
                fill(y, samples);
                line[0] = SubFilter;
                // Sub: byte − the byte one pixel to the left (mod 256), right to left so the left byte is still unfiltered.
                for (var i = samples.Length - 1; i >= bytesPerPixel; i--) samples[i] -= samples[i - bytesPerPixel];
            }

            using var ms = new MemoryStream(length + length / 64 + 1024);
            ms.Write(Signature);
            Span<byte> ihdr = stackalloc byte[13];
            BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
            BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
            ihdr[8] = bitDepth;
            ihdr[9] = colourType;
            ihdr[10] = 0; // deflate
            ihdr[11] = 0; // adaptive filtering (every row: Sub)
            ihdr[12] = 0; // no interlace
            Chunk(ms, "IHDR"u8, ihdr);
            if (palette is not null) Chunk(ms, "PLTE"u8, palette);

            // IDAT compressed in place: length placeholder, type, zlib stream, then the length and CRC filled in.
            var at = (int)ms.Position;
            ms.Write([0, 0, 0, 0]);
            ms.Write("IDAT"u8);
            using (var zlib = new ZLibStream(ms, Compression, leaveOpen: true)) zlib.Write(rows, 0, length);
            var end = (int)ms.Position;
            var buffer = ms.GetBuffer();
            BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(at), end - at - 8);
            Span<byte> crc = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(buffer.AsSpan(at + 4, end - at - 4)));
            ms.Write(crc);

            Chunk(ms, "IEND"u8, []);
            return ms.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rows);
        }
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
