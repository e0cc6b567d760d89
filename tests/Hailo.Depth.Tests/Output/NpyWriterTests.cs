using System.IO.Compression;
using System.Text;
using HailoDepth.Output;
using Xunit;

namespace Hailo.Depth.Tests.Output;

/// <summary>.npy (format 1.0, '&lt;f4', C order) and .npz as NumPy writes and reads them.</summary>
public sealed class NpyWriterTests
{
    [Theory]
    [InlineData(2, 3)]
    [InlineData(720, 1280)]
    [InlineData(1, 1)]
    public void Header_is_byte_exact_per_the_npy_spec(int rows, int cols)
    {
        // What numpy 1.24's np.save writes for a float32 array of this shape (the spec: magic, version 1.0, uint16 LE
        // header length, the dict literal, space padding and '\n' up to a multiple of 64 bytes).
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}";
        var expected = new byte[128];
        expected[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(expected, 1);
        (expected[6], expected[7], expected[8], expected[9]) = (1, 0, 0x76, 0);
        Encoding.ASCII.GetBytes(dict).CopyTo(expected, 10);
        for (var i = 10 + dict.Length; i < 127; i++) expected[i] = (byte)' ';
        expected[127] = (byte)'\n';
        Assert.Equal(expected, NpyWriter.Header(rows, cols));
    }

    [Fact]
    public void Data_follows_the_header_little_endian_in_row_major_order()
    {
        float[] values = [1f, -2.5f, 3.25f, 0f, float.MaxValue, 1e-7f];
        var file = NpyWriter.Npy(values, 2, 3);
        Assert.Equal(128 + 24, file.Length);
        for (var i = 0; i < values.Length; i++) Assert.Equal(values[i], BitConverter.ToSingle(file, 128 + 4 * i));
        Assert.Throws<ArgumentException>(() => NpyWriter.Npy(values, 4, 2));
    }

    [Fact]
    public void Npz_holds_the_npy_under_its_key_stored()
    {
        float[] values = [1, 2, 3, 4];
        var npz = NpyWriter.Npz("depth", values, 2, 2);
        using var zip = new ZipArchive(new MemoryStream(npz), ZipArchiveMode.Read);
        var entry = Assert.Single(zip.Entries);
        Assert.Equal("depth.npy", entry.FullName);
        Assert.Equal(entry.Length, entry.CompressedLength); // numpy.savez stores members uncompressed
        using var ms = new MemoryStream();
        entry.Open().CopyTo(ms);
        Assert.Equal(NpyWriter.Npy(values, 2, 2), ms.ToArray());
    }

    [Fact]
    public void A_reused_array_full_of_old_bytes_gives_the_same_files()
    {
        // The service writes files into arrays kept from earlier requests: nothing of the old content may survive.
        float[] values = [1, 2, 3, 4, 5, 6];
        var cache = new HailoDepth.Pipeline.ArrayCache<byte>(1 << 20);
        byte[] Dirty(int n)
        {
            var a = cache.Rent(n);
            a.AsSpan().Fill(0xA5);
            return a;
        }
        Assert.Equal(NpyWriter.Npz("depth", values, 2, 3), NpyWriter.Npz("depth", values, 2, 3, allocate: Dirty));
        Assert.Equal(NpyWriter.Npy(values, 3, 2), NpyWriter.Npy(values, 3, 2, allocate: Dirty));
        var map = ValueMap.Normalized(1, 6);
        Assert.Equal(NpyWriter.Npz("depth", values, 2, 3, map), NpyWriter.Npz("depth", values, 2, 3, map, Dirty));
        Assert.Throws<InvalidOperationException>(() => NpyWriter.Npy(values, 3, 2, allocate: n => new byte[n + 1]));
    }

    [Fact]
    public void Numpy_loads_both_files_when_it_is_installed()
    {
        // CI installs python3-numpy (.ci/install-deps); this is the check that numpy itself reads what we write.
        var dir = Directory.CreateTempSubdirectory("npy-").FullName;
        try
        {
            float[] values = [0.5f, 1.5f, -2f, 3.75f, 4f, 5f];
            File.WriteAllBytes(Path.Combine(dir, "d.npy"), NpyWriter.Npy(values, 2, 3));
            File.WriteAllBytes(Path.Combine(dir, "d.npz"), NpyWriter.Npz("depth", values, 2, 3));
            var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3",
                ["-c", "import numpy as np,sys; a=np.load(sys.argv[1]); b=np.load(sys.argv[2])['depth']; " +
                       "assert a.dtype==np.float32 and a.shape==(2,3) and (a==b).all(); print(' '.join(repr(float(x)) for x in a.ravel()))",
                 Path.Combine(dir, "d.npy"), Path.Combine(dir, "d.npz")]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = System.Diagnostics.Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEnd();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"numpy could not load the files: {stderr}");
            Assert.Equal("0.5 1.5 -2.0 3.75 4.0 5.0", stdout.Trim());
        }
        finally { Directory.Delete(dir, true); }
    }
}
