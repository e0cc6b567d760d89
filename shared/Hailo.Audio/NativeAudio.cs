using System.Reflection;
using System.Runtime.InteropServices;

namespace Hailo.Audio;

/// <summary>
/// Finds Debian's libsndfile (libsndfile1), libsoxr (libsoxr0) and libopus (libopus0) by their sonames at run time. A missing library is
/// reported as a sentence with the package that provides it, never as a crash.
/// </summary>
public static class NativeAudio
{
    internal const string SndFile = "hailo-audio-sndfile";
    internal const string Soxr = "hailo-audio-soxr";
    internal const string Opus = "hailo-audio-opus";

    // libsndfile and libsoxr decode every upload; libopus only WebM/Matroska with Opus (libsndfile links it anyway).
    private static readonly (string Import, string[] Names, string Package, bool Required)[] s_libraries =
    [
        (SndFile, ["libsndfile.so.1", "libsndfile.so"], "libsndfile1", true),
        (Soxr, ["libsoxr.so.0", "libsoxr.so"], "libsoxr0", true),
        (Opus, ["libopus.so.0", "libopus.so"], "libopus0", false),
    ];

    private static readonly Lazy<(bool Ok, string Reason)> s_probe = new(Probe);
    private static readonly Lazy<string?> s_opusMissing = new(() => Missing(s_libraries[2]));
    private static int s_resolverSet;

    /// <summary>Registers the resolver (idempotent); called before any P/Invoke into the libraries.</summary>
    internal static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref s_resolverSet, 1) == 0)
            NativeLibrary.SetDllImportResolver(typeof(NativeAudio).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        foreach (var (import, names, _, _) in s_libraries)
        {
            if (import != name) continue;
            foreach (var n in names)
                if (NativeLibrary.TryLoad(n, out var handle)) return handle;
        }
        return IntPtr.Zero;
    }

    /// <summary>True when both libraries load; otherwise a reason naming the Debian packages to install.</summary>
    public static bool Available => s_probe.Value.Ok;

    /// <summary>"" when available, else e.g. "libsoxr.so.0 not found (install libsoxr0)".</summary>
    public static string Reason => s_probe.Value.Reason;

    /// <summary>The command that fixes a missing library.</summary>
    public static string Fix => "sudo apt install libsndfile1 libsoxr0";

    private static (bool, string) Probe()
    {
        EnsureResolver();
        var missing = s_libraries.Where(l => l.Required).Select(Missing).OfType<string>().ToList();
        if (missing.Count > 0) return (false, string.Join("; ", missing));
        try
        {
            var version = SndFileApi.Version();
            // libsndfile decodes MP3 from 1.1.0 on (Debian 12 has 1.2.0, Raspberry Pi OS Trixie 1.2.2).
            if (!SndFileApi.HasMpeg)
                return (false, $"{version} cannot decode MP3 (libsndfile 1.1 or later is needed)");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return (false, "libsndfile1 could not be used: " + e.Message);
        }
        return (true, "");
    }

    private static string? Missing((string Import, string[] Names, string Package, bool Required) library)
    {
        foreach (var n in library.Names)
        {
            if (!NativeLibrary.TryLoad(n, out var h)) continue;
            NativeLibrary.Free(h);
            return null;
        }
        return $"{library.Names[0]} not found (install {library.Package})";
    }

    /// <summary>Throws the reason when the libraries are not there.</summary>
    internal static void EnsureAvailable()
    {
        if (!Available) throw new AudioUnavailableException(Reason, Fix);
    }

    /// <summary>Throws the reason when libopus (WebM/Matroska Opus) is not there.</summary>
    internal static void EnsureOpus()
    {
        EnsureAvailable();
        if (s_opusMissing.Value is { } reason) throw new AudioUnavailableException(reason, "sudo apt install libopus0");
    }
}

/// <summary>The audio libraries cannot be loaded on this machine.</summary>
public sealed class AudioUnavailableException(string reason, string fix) : Exception($"audio decoding is unavailable: {reason}; fix: {fix}")
{
    public string Reason { get; } = reason;
    public string Fix { get; } = fix;
}

/// <summary>SF_INFO.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SfInfo
{
    public long Frames;
    public int SampleRate;
    public int Channels;
    public int Format;
    public int Sections;
    public int Seekable;
}

/// <summary>SF_VIRTUAL_IO: five callbacks over the caller's memory.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SfVirtualIo
{
    public delegate* unmanaged<IntPtr, long> GetFileLen;
    public delegate* unmanaged<long, int, IntPtr, long> Seek;
    public delegate* unmanaged<void*, long, IntPtr, long> Read;
    public delegate* unmanaged<void*, long, IntPtr, long> Write;
    public delegate* unmanaged<IntPtr, long> Tell;
}

/// <summary>The parts of libsndfile's C API used here (sndfile.h).</summary>
internal static unsafe partial class SndFileApi
{
    public const int ModeRead = 0x10;
    public const int FormatTypeMask = 0x0FFF0000;
    public const int FormatSubMask = 0x0000FFFF;
    private const int CmdGetLibVersion = 0x1000;
    private const int CmdGetFormatMajorCount = 0x1030;
    private const int CmdGetFormatMajor = 0x1031;

    static SndFileApi() => NativeAudio.EnsureResolver();

    [LibraryImport(NativeAudio.SndFile)] public static partial IntPtr sf_open_virtual(SfVirtualIo* io, int mode, SfInfo* info, IntPtr userData);
    [LibraryImport(NativeAudio.SndFile)] public static partial long sf_readf_float(IntPtr file, float* buffer, long frames);
    [LibraryImport(NativeAudio.SndFile)] public static partial int sf_close(IntPtr file);
    [LibraryImport(NativeAudio.SndFile)] public static partial byte* sf_strerror(IntPtr file);
    [LibraryImport(NativeAudio.SndFile)] public static partial int sf_command(IntPtr file, int command, void* data, int size);

    [StructLayout(LayoutKind.Sequential)]
    private struct FormatInfo
    {
        public int Format;
        public byte* Name;
        public byte* Extension;
    }

    public static string Error(IntPtr file) => Marshal.PtrToStringUTF8((IntPtr)sf_strerror(file)) ?? "unknown libsndfile error";

    public static string Version()
    {
        var buffer = stackalloc byte[128];
        sf_command(IntPtr.Zero, CmdGetLibVersion, buffer, 128);
        return Marshal.PtrToStringUTF8((IntPtr)buffer) ?? "libsndfile";
    }

    /// <summary>Whether this libsndfile lists the MPEG major format (1.1.0 and later, when built with mpg123).</summary>
    public static bool HasMpeg
    {
        get
        {
            int count;
            sf_command(IntPtr.Zero, CmdGetFormatMajorCount, &count, sizeof(int));
            for (var i = 0; i < count; i++)
            {
                var info = new FormatInfo { Format = i };
                sf_command(IntPtr.Zero, CmdGetFormatMajor, &info, sizeof(FormatInfo));
                if ((info.Format & FormatTypeMask) == (int)SfMajor.Mpeg) return true;
            }
            return false;
        }
    }
}

/// <summary>libsndfile major formats (SF_FORMAT_*).</summary>
internal enum SfMajor
{
    Wav = 0x010000, Aiff = 0x020000, Au = 0x030000, Raw = 0x040000, W64 = 0x0B0000, WavEx = 0x130000,
    Flac = 0x170000, Caf = 0x180000, Ogg = 0x200000, Rf64 = 0x220000, Mpeg = 0x230000,
}

/// <summary>libsndfile sub formats (SF_FORMAT_*).</summary>
internal enum SfSub
{
    PcmS8 = 0x0001, Pcm16 = 0x0002, Pcm24 = 0x0003, Pcm32 = 0x0004, PcmU8 = 0x0005, Float = 0x0006, Double = 0x0007,
    Ulaw = 0x0010, Alaw = 0x0011, ImaAdpcm = 0x0012, MsAdpcm = 0x0013, Vorbis = 0x0060, Opus = 0x0064,
    MpegLayer1 = 0x0080, MpegLayer2 = 0x0081, MpegLayer3 = 0x0082,
}

/// <summary>The parts of libsoxr's C API used here (soxr.h).</summary>
internal static unsafe partial class SoxrApi
{
    /// <summary>SOXR_HQ: 20-bit precision, the library's recommended default.</summary>
    public const uint RecipeHq = 4;

    static SoxrApi() => NativeAudio.EnsureResolver();

    [StructLayout(LayoutKind.Sequential)]
    public struct QualitySpec
    {
        public double Precision, PhaseResponse, PassbandEnd, StopbandBegin;
        public IntPtr E;
        public nuint Flags;
    }

    [LibraryImport(NativeAudio.Soxr)] public static partial QualitySpec soxr_quality_spec(nuint recipe, nuint flags);

    [LibraryImport(NativeAudio.Soxr)]
    public static partial IntPtr soxr_create(double inputRate, double outputRate, uint channels, byte** error, void* ioSpec, QualitySpec* qualitySpec, void* runtimeSpec);

    /// <summary>Input null with length 0 drains the filter's tail.</summary>
    [LibraryImport(NativeAudio.Soxr)]
    public static partial byte* soxr_process(IntPtr resampler, float* input, nuint inLen, nuint* inDone, float* output, nuint outLen, nuint* outDone);

    [LibraryImport(NativeAudio.Soxr)] public static partial void soxr_delete(IntPtr resampler);
}

/// <summary>The parts of libopus's decoder API used here (opus.h).</summary>
internal static unsafe partial class OpusApi
{
    /// <summary>The longest Opus packet: 120 ms at 48 kHz.</summary>
    public const int MaxFrameSamples = 5760;

    static OpusApi() => NativeAudio.EnsureResolver();

    [LibraryImport(NativeAudio.Opus)] public static partial IntPtr opus_decoder_create(int sampleRate, int channels, int* error);
    [LibraryImport(NativeAudio.Opus)] public static partial int opus_decode_float(IntPtr decoder, byte* data, int length, float* pcm, int frameSize, int decodeFec);
    [LibraryImport(NativeAudio.Opus)] public static partial void opus_decoder_destroy(IntPtr decoder);
    [LibraryImport(NativeAudio.Opus)] public static partial int opus_packet_get_nb_samples(byte* packet, int length, int sampleRate);
    [LibraryImport(NativeAudio.Opus)] public static partial byte* opus_strerror(int error);

    public static string Error(int code) => Marshal.PtrToStringUTF8((IntPtr)opus_strerror(code)) ?? $"error {code}";
}
