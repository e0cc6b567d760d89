using System.Runtime.InteropServices;

namespace Hailo.Media;

/// <summary>
/// JPEG decoding through the system's libjpeg-turbo (Debian's <c>libturbojpeg0</c>), which is built with its SIMD
/// code (SSE2/AVX2 on x86-64, Neon on arm64). The libjpeg-turbo inside SkiaSharp's native library is built without
/// it, so its inverse DCT, upsampling and colour conversion run in plain C: decoding a 1280×720 frame at half size
/// takes about 60 % of Skia's time here (see shared/Hailo.Media/README.md). The library is opened on first use; when it is
/// missing, or when <c>HAILO_JPEG_DECODER=skia</c> is set, every JPEG goes through Skia as before.
/// </summary>
/// <remarks>
/// Skia still reads the header first (format, size, pixel limit, EXIF orientation), so only the pixel decode
/// moves here. An error, or data that ends early, sends the image back to Skia, whose verdicts (truncated, corrupt,
/// unsupported colour space such as CMYK) stay the ones clients see. Images are decoded with
/// <c>TJFLAG_LIMITSCANS</c>, which refuses the progressive files of hundreds of scans that keep a decoder busy for
/// minutes; those are rejected, not handed to Skia.
/// </remarks>
internal static unsafe class TurboJpeg
{
    private const int PixelFormatRgba = 7;        // TJPF_RGBA
    private const int ErrorWarning = 0;           // TJERR_WARNING
    private const int FlagLimitScans = 32768;     // TJFLAG_LIMITSCANS (libjpeg-turbo 2.1+)

    private static readonly delegate* unmanaged<nint> s_init;
    private static readonly delegate* unmanaged<nint, byte*, nuint, byte*, int, int, int, int, int, int> s_decompress;
    private static readonly delegate* unmanaged<nint, int> s_destroy;
    private static readonly delegate* unmanaged<nint, byte*> s_error;
    private static readonly delegate* unmanaged<nint, int> s_errorCode;

    /// <summary>What libjpeg-turbo made of a JPEG.</summary>
    public enum Outcome
    {
        /// <summary>Decoded without a warning.</summary>
        Decoded,
        /// <summary>Not decoded here (library missing, a warning, an error): Skia decodes it and gives the verdict.</summary>
        Declined,
        /// <summary>A progressive image with more scans than libjpeg-turbo's limit (500): refused outright.</summary>
        TooManyScans,
    }

    /// <summary>Why the system library is not used, or null when it is.</summary>
    public static string? Unavailable { get; }

    /// <summary>True when JPEG pixels are decoded by the system's libjpeg-turbo.</summary>
    public static bool IsAvailable => Unavailable is null;

    static TurboJpeg()
    {
        if (string.Equals(Environment.GetEnvironmentVariable("HAILO_JPEG_DECODER"), "skia", StringComparison.OrdinalIgnoreCase))
        {
            Unavailable = "HAILO_JPEG_DECODER=skia";
            return;
        }
        if (!NativeLibrary.TryLoad("libturbojpeg.so.0", out var lib))
        {
            Unavailable = "libturbojpeg.so.0 is not installed (apt install libturbojpeg0)";
            return;
        }
        // The packages depend on libturbojpeg0 (>= 2.1), the first release with TJFLAG_LIMITSCANS; tjGetErrorCode
        // (2.0) rules out anything older that was put in its place by hand.
        if (!NativeLibrary.TryGetExport(lib, "tjInitDecompress", out var init)
            || !NativeLibrary.TryGetExport(lib, "tjDecompress2", out var decompress)
            || !NativeLibrary.TryGetExport(lib, "tjDestroy", out var destroy)
            || !NativeLibrary.TryGetExport(lib, "tjGetErrorStr2", out var error)
            || !NativeLibrary.TryGetExport(lib, "tjGetErrorCode", out var errorCode))
        {
            Unavailable = "libturbojpeg.so.0 is older than 2.0";
            return;
        }
        s_init = (delegate* unmanaged<nint>)init;
        s_decompress = (delegate* unmanaged<nint, byte*, nuint, byte*, int, int, int, int, int, int>)decompress;
        s_destroy = (delegate* unmanaged<nint, int>)destroy;
        s_error = (delegate* unmanaged<nint, byte*>)error;
        s_errorCode = (delegate* unmanaged<nint, int>)errorCode;
    }

    /// <summary>
    /// Decodes <paramref name="jpeg"/> into <paramref name="pixels"/> (RGBA8888, <paramref name="rowBytes"/> apart) at
    /// <paramref name="width"/>×<paramref name="height"/>, which must be one of libjpeg's k/8 scaled sizes of the
    /// stored (not rotated) image.
    /// </summary>
    public static Outcome TryDecode(ReadOnlySpan<byte> jpeg, nint pixels, int width, int height, int rowBytes)
    {
        if (!IsAvailable) return Outcome.Declined;
        var handle = s_init();
        if (handle == 0) return Outcome.Declined;
        try
        {
            int rc;
            fixed (byte* src = jpeg)
                rc = s_decompress(handle, src, (nuint)jpeg.Length, (byte*)pixels, width, rowBytes, height, PixelFormatRgba, FlagLimitScans);
            if (rc == 0) return Outcome.Decoded;
            // -1 after a warning still leaves a whole image, as Skia's copy does: an extraneous byte or a bogus
            // progression is decoded through. A premature end of data is where Skia says "truncated": leave the verdict
            // to it. libjpeg-turbo's message at the limit: "Progressive JPEG image has more than 500 scans".
            var message = Marshal.PtrToStringUTF8((nint)s_error(handle)) ?? "";
            if (message.Contains("scans", StringComparison.Ordinal)) return Outcome.TooManyScans;
            return s_errorCode(handle) == ErrorWarning && !message.Contains("Premature end", StringComparison.Ordinal)
                ? Outcome.Decoded
                : Outcome.Declined;
        }
        finally
        {
            s_destroy(handle);
        }
    }
}
