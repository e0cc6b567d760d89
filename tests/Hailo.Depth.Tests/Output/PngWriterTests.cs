using System.Buffers.Binary;
using System.IO.Compression;
using Hailo.Media;
using HailoDepth.Output;
using Xunit;

namespace Hailo.Depth.Tests.Output;

/// <summary>The PNG writer: chunk structure and CRCs, 16-bit big-endian samples, and images a real decoder (Skia) reads.</summary>
public sealed class PngWriterTests
{
    /// <summary>A whole buffer of samples through the row writer the service uses.</summary>
    private static byte[] Gray16(ushort[] pixels, int width, int height) => PngWriter.Gray16(width, height, (y, row) =>
    {
        for (var x = 0; x < width; x++) BinaryPrimitives.WriteUInt16BigEndian(row[(2 * x)..], pixels[y * width + x]);
    });

    private static byte[] Indexed8(byte[] indices, int width, int height, byte[] palette) =>
        PngWriter.Indexed8(width, height, palette, (y, row) => indices.AsSpan(y * width, width).CopyTo(row));

    private static List<(string Type, byte[] Data, uint Crc)> Chunks(byte[] png)
    {
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        var chunks = new List<(string, byte[], uint)>();
        for (var o = 8; o < png.Length;)
        {
            var len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(o));
            var type = System.Text.Encoding.ASCII.GetString(png, o + 4, 4);
            chunks.Add((type, png.AsSpan(o + 8, len).ToArray(), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(o + 8 + len))));
            o += 12 + len;
        }
        return chunks;
    }

    [Fact]
    public void Gray16_has_16_bit_grey_header_and_big_endian_rows()
    {
        ushort[] px = [0, 1, 256, 65535, 4660, 32768];
        var png = Gray16(px, 3, 2);
        var chunks = Chunks(png);
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        Assert.Equal([0, 0, 0, 3, 0, 0, 0, 2, 16, 0, 0, 0, 0], chunks[0].Data);
        Assert.Equal(0xAE426082u, chunks[2].Crc); // IEND's CRC is the same in every PNG
        Assert.Equal(chunks[0].Crc, Crc(chunks[0]));
        Assert.Equal(chunks[1].Crc, Crc(chunks[1]));
        using var z = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        Assert.Equal([0, 0, 0, 1, 1, 0, 255, 255, 0x12, 0x34, 0x80, 0x00], Unfilter(raw.ToArray(), rowBytes: 6, bytesPerPixel: 2));
    }

    /// <summary>The PNG specification's reconstruction of filtered rows (types None, Sub, Up; others fail the test).</summary>
    private static byte[] Unfilter(byte[] filtered, int rowBytes, int bytesPerPixel)
    {
        Assert.Equal(0, filtered.Length % (rowBytes + 1));
        var rows = filtered.Length / (rowBytes + 1);
        var result = new byte[rows * rowBytes];
        for (var y = 0; y < rows; y++)
        {
            var type = filtered[y * (rowBytes + 1)];
            for (var x = 0; x < rowBytes; x++)
            {
                var f = filtered[y * (rowBytes + 1) + 1 + x];
                var left = x >= bytesPerPixel ? result[y * rowBytes + x - bytesPerPixel] : 0;
                var up = y > 0 ? result[(y - 1) * rowBytes + x] : 0;
                result[y * rowBytes + x] = type switch
                {
                    0 => f,
                    1 => (byte)(f + left),
                    2 => (byte)(f + up),
                    _ => throw new Xunit.Sdk.XunitException($"row {y}: filter type {type} not expected"),
                };
            }
        }
        return result;
    }

    // Bitwise CRC-32 straight from the PNG specification's sample code (no table).
    private static uint Crc((string Type, byte[] Data, uint Crc) chunk)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in System.Text.Encoding.ASCII.GetBytes(chunk.Type).Concat(chunk.Data))
        {
            c ^= b;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return c ^ 0xFFFFFFFFu;
    }

    [Fact]
    public void A_real_decoder_reads_both_kinds()
    {
        var w = 40; var h = 7;
        var gray = new ushort[w * h];
        for (var i = 0; i < gray.Length; i++) gray[i] = (ushort)(i * 200);
        using (var img = ImageDecoder.Decode(Gray16(gray, w, h)))
        {
            Assert.Equal((w, h), (img.Width, img.Height));
            Assert.InRange(img.Row(3)[4 * 10], (3 * w + 10) * 200 / 256 - 1, (3 * w + 10) * 200 / 256 + 1);
        }
        var palette = new byte[3 * 256];
        for (var i = 0; i < palette.Length; i++) palette[i] = (byte)(i * 7 + 3);
        var indices = new byte[w * h];
        for (var i = 0; i < indices.Length; i++) indices[i] = (byte)(i * 13);
        using (var img = ImageDecoder.Decode(Indexed8(indices, w, h, palette)))
        {
            Assert.Equal((w, h), (img.Width, img.Height));
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var k = 3 * indices[y * w + x];
                    Assert.Equal((palette[k], palette[k + 1], palette[k + 2]), (img.Row(y)[4 * x], img.Row(y)[4 * x + 1], img.Row(y)[4 * x + 2]));
                }
        }
    }
}
