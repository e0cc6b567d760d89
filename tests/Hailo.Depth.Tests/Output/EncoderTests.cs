using System.IO.Compression;
using Hailo.Hosting.Metrics;
using Hailo.Media;
using HailoDepth;
using HailoDepth.Output;
using HailoDepth.Pipeline;
using Xunit;

namespace Hailo.Depth.Tests.Output;

/// <summary>
/// The encoders write values straight into their files (vectorised range and normalisation, filtered PNG rows); these
/// compare every pixel and value with the plain formulas the API promises.
/// </summary>
public sealed class EncoderTests
{
    private static DepthResult Map(int width, int height, Func<int, int, float> f)
    {
        var depth = new float[width * height];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++) depth[y * width + x] = f(x, y);
        return new DepthResult(depth, width, height, DepthStats.Of(depth), new StageTimer());
    }

    private static readonly DepthResult Smooth = Map(97, 31, (x, y) => 0.4f + 3 * MathF.Sin(x / 9f) * MathF.Cos(y / 7f) + x * 0.01f);

    [Fact]
    public void Range_ignores_nan_wherever_it_sits()
    {
        var values = Enumerable.Range(0, 53).Select(i => (float)Math.Sin(i)).ToArray();
        var expected = (values.Min(), values.Max());
        foreach (var at in new[] { 0, 1, 7, 8, 15, 31, 52 })
        {
            var withNan = values.ToArray();
            withNan[at] = float.NaN;
            var rest = withNan.Where(v => !float.IsNaN(v)).ToArray();
            Assert.Equal((rest.Min(), rest.Max()), DepthEncoder.Range(withNan));
        }
        Assert.Equal(expected, DepthEncoder.Range(values));
        Assert.Equal((float.PositiveInfinity, float.NegativeInfinity), DepthEncoder.Range(Enumerable.Repeat(float.NaN, 20).ToArray()));
    }

    [Theory]
    [InlineData("viridis")]
    [InlineData("turbo")]
    public void Colour_image_pixels_are_the_colormap_of_one_minus_the_normalised_depth(string colormap)
    {
        var r = Smooth;
        var (min, max) = DepthEncoder.Range(r.Depth);
        using var image = ImageDecoder.Decode(DepthEncoder.ColourImage(r, colormap, min, max));
        Assert.Equal((r.Width, r.Height), (image.Width, image.Height));
        for (var y = 0; y < r.Height; y++)
            for (var x = 0; x < r.Width; x++)
            {
                var v = (r.Depth[y * r.Width + x] - min) * (1 / (max - min));
                var px = image.Row(y).Slice(4 * x, 3);
                Assert.Equal(Colormaps.Colour(colormap, 1 - v), (px[0], px[1], px[2]));
            }
    }

    [Fact]
    public void Vectorised_indices_equal_the_scalar_formula_including_nan_infinities_and_out_of_range()
    {
        var rng = new Random(4);
        var depth = Enumerable.Range(0, 1000).Select(_ => rng.NextSingle() * 6 - 1).ToArray();
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 2f, 2.0000002f, 5f, 4.9999995f, -1e30f, 1e30f];
        special.CopyTo(depth, 0);
        special.CopyTo(depth, 500);
        special.CopyTo(depth, 991);
        foreach (var (min, max) in new[] { (2f, 5f), (0f, 1f), (-1f, 5f) })
        {
            var k = 1 / (max - min);
            var row = new byte[depth.Length];
            DepthEncoder.Indices(depth, min, k, row);
            for (var i = 0; i < depth.Length; i++) Assert.Equal((byte)Colormaps.Index(1 - (depth[i] - min) * k), row[i]);
        }
    }

    [Fact]
    public void A_flat_map_is_the_bright_end_everywhere()
    {
        var r = Map(10, 3, (_, _) => 2.5f);
        using var image = ImageDecoder.Decode(DepthEncoder.ColourImage(r, "viridis", 2.5f, 2.5f));
        var (cr, cg, cb) = Colormaps.Colour("viridis", 1);
        for (var y = 0; y < 3; y++)
            for (var x = 0; x < 10; x++) Assert.Equal((cr, cg, cb), (image.Row(y)[4 * x], image.Row(y)[4 * x + 1], image.Row(y)[4 * x + 2]));
    }

    [Theory]
    [InlineData("numpy", true)]
    [InlineData("numpy", false)]
    [InlineData("npy", true)]
    [InlineData("both", true)]
    public void Arrays_hold_the_map_normalised_or_raw(string format, bool normalize)
    {
        var r = Smooth;
        var encoded = DepthEncoder.Encode(r, DepthModels.MidasSmall, new DepthService.Resolved(format, "viridis", normalize, false));
        var npy = format == "npy" ? encoded.Npy! : Member(encoded.Npz!);
        var (min, max) = (r.Depth.Min(), r.Depth.Max());
        var header = NpyWriter.Header(r.Height, r.Width).Length;
        for (var i = 0; i < r.Depth.Length; i++)
        {
            var expected = normalize ? (r.Depth[i] - min) * (1 / (max - min)) : r.Depth[i];
            Assert.Equal(expected, BitConverter.ToSingle(npy, header + 4 * i));
        }
        if (normalize)
        {
            var values = Enumerable.Range(0, r.Depth.Length).Select(i => BitConverter.ToSingle(npy, header + 4 * i)).ToArray();
            Assert.Equal(0f, values.Min());
            Assert.Equal(1f, values.Max(), 1e-6f);
        }
        Assert.Equal(format == "both", encoded.Image is not null);
    }

    [Fact]
    public void A_flat_map_normalises_to_zeros()
    {
        var r = Map(9, 2, (_, _) => 7f);
        var npy = DepthEncoder.Encode(r, DepthModels.MidasSmall, new DepthService.Resolved("npy", "viridis", true, false)).Npy!;
        var header = NpyWriter.Header(2, 9).Length;
        for (var i = 0; i < 18; i++) Assert.Equal(0f, BitConverter.ToSingle(npy, header + 4 * i));
    }

    [Fact]
    public void Png16_holds_millimetres_of_a_metric_model_and_the_spread_range_otherwise()
    {
        var r = Map(33, 5, (x, y) => 0.5f + x * 0.25f + y);
        var (png, scale, offset) = DepthEncoder.Png16(r, DepthModels.ScdepthV3Hailo, normalize: false, 0, 0);
        Assert.Equal((0.001, 0.0), (scale, offset));
        var samples = Samples16(png, r.Width, r.Height);
        for (var i = 0; i < samples.Length; i++) Assert.Equal((int)MathF.Round(r.Depth[i] * 1000), samples[i]);

        var (min, max) = DepthEncoder.Range(r.Depth);
        (png, scale, offset) = DepthEncoder.Png16(r, DepthModels.MidasSmall, normalize: false, min, max);
        Assert.Equal(((max - min) / 65535.0, (double)min), (scale, offset));
        samples = Samples16(png, r.Width, r.Height);
        Assert.Equal(0, samples.Min());
        Assert.Equal(65535, samples.Max());
        for (var i = 0; i < samples.Length; i++) Assert.Equal(r.Depth[i], offset + samples[i] * scale, (max - min) / 65535.0);
    }

    private static byte[] Member(byte[] npz)
    {
        using var zip = new ZipArchive(new MemoryStream(npz), ZipArchiveMode.Read);
        using var ms = new MemoryStream();
        zip.GetEntry("depth.npy")!.Open().CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>A 16-bit grey PNG's samples: IDAT inflated, Sub-filtered rows reconstructed, big-endian.</summary>
    private static int[] Samples16(byte[] png, int width, int height)
    {
        var idat = new MemoryStream();
        for (var o = 8; o < png.Length;)
        {
            var len = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(o));
            if (png.AsSpan(o + 4, 4).SequenceEqual("IDAT"u8)) idat.Write(png, o + 8, len);
            o += 12 + len;
        }
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        var bytes = raw.ToArray();
        var stride = 1 + 2 * width;
        Assert.Equal(height * stride, bytes.Length);
        var samples = new int[width * height];
        for (var y = 0; y < height; y++)
        {
            var row = bytes.AsSpan(y * stride + 1, 2 * width).ToArray();
            Assert.Equal(1, bytes[y * stride]); // Sub
            for (var i = 2; i < row.Length; i++) row[i] += row[i - 2];
            for (var x = 0; x < width; x++) samples[y * width + x] = row[2 * x] << 8 | row[2 * x + 1];
        }
        return samples;
    }
}
