using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Hailo.Audio.Encoding;

/// <summary>The output formats of OpenAI's <c>POST /v1/audio/speech</c> (<c>response_format</c>).</summary>
public enum AudioFormat { Mp3, Opus, Aac, Flac, Wav, Pcm }

/// <summary>
/// Choices for an encoder. Every member has a default; the library names replace Debian's sonames (a build of the
/// library elsewhere, or a test of the missing-library path).
/// </summary>
public sealed record AudioEncoderOptions
{
    /// <summary>Bits per second for mp3 (CBR; default 64 000), opus (default 32 000) and aac (default 64 000).</summary>
    public int? Bitrate { get; init; }

    /// <summary>mp3 as VBR at this LAME quality (0 best … 9 smallest) instead of CBR at <see cref="Bitrate"/>.</summary>
    public float? Mp3VbrQuality { get; init; }

    /// <summary>libFLAC's compression level, 0 (fastest) … 8 (smallest); 5 is flac's own default.</summary>
    public int FlacCompressionLevel { get; init; } = 5;

    /// <summary>How ffmpeg (the aac encoder) is found: Hailo.Audio's locator and its setting <c>audio.ffmpeg</c>.</summary>
    public FfmpegOptions Ffmpeg { get; init; } = new();

    /// <summary>The LAME library to load instead of libmp3lame.so.0.</summary>
    public string? Mp3Library { get; init; }

    /// <summary>The libFLAC library to load instead of libFLAC.so.12 (Debian 12) or libFLAC.so.14 (Debian 13).</summary>
    public string? FlacLibrary { get; init; }

    /// <summary>The libopus library to load instead of libopus.so.0.</summary>
    public string? OpusLibrary { get; init; }

    internal static readonly AudioEncoderOptions Default = new();
}

/// <summary>
/// Encodes mono float audio as it arrives, writing each piece to the output as soon as the format allows (a sentence
/// of synthesised speech can be sent before the next one is made). One caller at a time: writes, then one completion,
/// then disposal (which also ends an encoder that was not completed). A write or completion that fails or is
/// cancelled leaves the encoder refusing more audio; the output then holds an unfinished stream.
/// </summary>
public interface IAudioEncoder : IAsyncDisposable
{
    /// <summary>The sample rate of the encoded audio.</summary>
    int OutputRate { get; }

    /// <summary>Encodes mono samples in [-1, 1] at the input rate and writes what is ready to the output.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken = default);

    /// <summary>Flushes the encoder and writes the format's trailer; the output stays open.</summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken = default);
}

/// <summary>An output format cannot be encoded on this machine; <see cref="Exception.Message"/> says what to install.</summary>
public sealed class AudioEncoderUnavailableException(AudioFormat format, string reason) : Exception(reason)
{
    public AudioFormat Format { get; } = format;
}

/// <summary>
/// The encoders behind OpenAI's speech formats. wav and pcm are written here, mp3 with libmp3lame, flac with libFLAC,
/// opus with libopus in an Ogg stream written here, aac with an ffmpeg subprocess. A library that is not installed
/// makes its format unavailable (<see cref="Unavailable"/>), never a crash.
/// </summary>
public static class AudioEncoders
{
    /// <summary>The rate of <see cref="AudioFormat.Pcm"/>: OpenAI documents raw 24 kHz 16-bit signed little-endian samples.</summary>
    public const int PcmRate = 24000;

    /// <summary>The rate of <see cref="AudioFormat.Opus"/>: Opus' native rate.</summary>
    public const int OpusRate = 48000;

    /// <summary>Parses an OpenAI <c>response_format</c> name (mp3, opus, aac, flac, wav, pcm), case-insensitive.</summary>
    public static bool TryParse(string? name, out AudioFormat format)
    {
        format = default;
        switch (name?.Trim().ToLowerInvariant())
        {
            case "mp3": format = AudioFormat.Mp3; return true;
            case "opus": format = AudioFormat.Opus; return true;
            case "aac": format = AudioFormat.Aac; return true;
            case "flac": format = AudioFormat.Flac; return true;
            case "wav": format = AudioFormat.Wav; return true;
            case "pcm": format = AudioFormat.Pcm; return true;
            default: return false;
        }
    }

    /// <summary>The OpenAI name of a format (what <see cref="TryParse"/> reads).</summary>
    public static string Name(AudioFormat format) => format switch
    {
        AudioFormat.Mp3 => "mp3",
        AudioFormat.Opus => "opus",
        AudioFormat.Aac => "aac",
        AudioFormat.Flac => "flac",
        AudioFormat.Wav => "wav",
        AudioFormat.Pcm => "pcm",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>The names <see cref="TryParse"/> accepts, for an error message.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mp3", "opus", "aac", "flac", "wav", "pcm"];

    public static string ContentType(AudioFormat format) => format switch
    {
        AudioFormat.Mp3 => "audio/mpeg",
        AudioFormat.Opus => "audio/ogg",
        AudioFormat.Aac => "audio/aac",
        AudioFormat.Flac => "audio/flac",
        AudioFormat.Wav => "audio/wav",
        AudioFormat.Pcm => "audio/pcm",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    public static string FileExtension(AudioFormat format) => format switch
    {
        AudioFormat.Mp3 => ".mp3",
        AudioFormat.Opus => ".opus",
        AudioFormat.Aac => ".aac",
        AudioFormat.Flac => ".flac",
        AudioFormat.Wav => ".wav",
        AudioFormat.Pcm => ".pcm",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    /// <summary>
    /// Null when <paramref name="format"/> can be encoded here; otherwise why not, as a sentence a user can act on
    /// ("… install libmp3lame0 …"). The libraries are probed once per name.
    /// </summary>
    public static string? Unavailable(AudioFormat format, AudioEncoderOptions? options = null)
    {
        options ??= AudioEncoderOptions.Default;
        switch (format)
        {
            case AudioFormat.Wav:
                return null;
            case AudioFormat.Pcm:
                return Resampling(format);
            case AudioFormat.Mp3:
                return LameApi.Get(options.Mp3Library).Reason;
            case AudioFormat.Flac:
                return FlacApi.Get(options.FlacLibrary).Reason;
            case AudioFormat.Opus:
                return OpusEncoderApi.Get(options.OpusLibrary).Reason ?? Resampling(format);
            case AudioFormat.Aac:
                return options.Ffmpeg.Locate(out var why) is null
                    ? $"aac is encoded with ffmpeg, but {why}: install it (sudo apt install ffmpeg) or set audio.ffmpeg to its path"
                    : null;
            default:
                throw new ArgumentOutOfRangeException(nameof(format));
        }
    }

    // pcm and opus have fixed rates, met with Hailo.Audio's libsoxr resampler (which needs the decoding libraries).
    private static string? Resampling(AudioFormat format) => NativeAudio.Available
        ? null
        : $"{Name(format)} is resampled with libsoxr, which cannot be used: {NativeAudio.Reason}; fix: {NativeAudio.Fix}";

    /// <summary>
    /// An encoder writing to <paramref name="output"/> as samples arrive (mono float in [-1, 1] at
    /// <paramref name="inputRate"/>). pcm (24 kHz) and opus (48 kHz) are resampled; the others keep the input rate
    /// (mp3 and aac where the format allows it). Throws <see cref="AudioEncoderUnavailableException"/> when
    /// <see cref="Unavailable"/> says why not.
    /// </summary>
    public static IAudioEncoder Create(AudioFormat format, int inputRate, Stream output, AudioEncoderOptions? options = null) =>
        Create(format, inputRate, output, options, totalSamples: null);

    /// <summary>
    /// Encodes the whole audio at once. wav then carries its exact sizes even on an output that cannot seek.
    /// </summary>
    public static async ValueTask EncodeAsync(AudioFormat format, ReadOnlyMemory<float> samples, int inputRate, Stream output,
        AudioEncoderOptions? options = null, CancellationToken cancellationToken = default)
    {
        await using var encoder = Create(format, inputRate, output, options, samples.Length);
        await encoder.WriteAsync(samples, cancellationToken);
        await encoder.CompleteAsync(cancellationToken);
    }

    private static IAudioEncoder Create(AudioFormat format, int inputRate, Stream output, AudioEncoderOptions? options, long? totalSamples)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputRate, 1000);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(inputRate, 384000);
        if (!output.CanWrite) throw new ArgumentException("the output stream is not writable", nameof(output));
        options ??= AudioEncoderOptions.Default;
        if (Unavailable(format, options) is { } reason) throw new AudioEncoderUnavailableException(format, reason);
        return format switch
        {
            AudioFormat.Wav => new WavEncoder(inputRate, output, totalSamples),
            AudioFormat.Pcm => new PcmEncoder(inputRate, output),
            AudioFormat.Mp3 => new Mp3Encoder(LameApi.Get(options.Mp3Library).Api!, inputRate, output, options),
            AudioFormat.Flac => new FlacEncoder(FlacApi.Get(options.FlacLibrary).Api!, inputRate, output, options),
            AudioFormat.Opus => new OpusEncoder(OpusEncoderApi.Get(options.OpusLibrary).Api!, inputRate, output, options),
            AudioFormat.Aac => AacEncoder.Start(options.Ffmpeg.Locate(out _)!, inputRate, output, options),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }
}

/// <summary>
/// The encoders' native libraries, loaded by name with <see cref="NativeLibrary.TryLoad(string, out IntPtr)"/> once
/// and bound through function pointers from their exports (no resolver: the name can differ per call, see
/// <see cref="AudioEncoderOptions"/>), kept loaded for the life of the process.
/// </summary>
internal static class EncoderLibrary
{
    private static readonly ConcurrentDictionary<string, Lazy<IntPtr>> s_handles = new(StringComparer.Ordinal);

    /// <summary>The first of <paramref name="names"/> that loads, or zero.</summary>
    public static IntPtr Load(IEnumerable<string> names, out string loaded)
    {
        loaded = "";
        foreach (var name in names)
        {
            var handle = s_handles.GetOrAdd(name, n => new Lazy<IntPtr>(() => NativeLibrary.TryLoad(n, out var h) ? h : IntPtr.Zero)).Value;
            if (handle == IntPtr.Zero) continue;
            loaded = name;
            return handle;
        }
        return IntPtr.Zero;
    }

    /// <summary>Binds a library once per name: the API, or the sentence saying what to install.</summary>
    public static (T? Api, string? Reason) Bind<T>(ConcurrentDictionary<string, Lazy<(T?, string?)>> cache, string? name, string[] defaults,
        string format, string package, Func<IntPtr, Func<string, IntPtr>, T> bind) where T : class =>
        cache.GetOrAdd(name ?? "", _ => new Lazy<(T?, string?)>(() =>
        {
            var names = name is null ? defaults : [name];
            var handle = Load(names, out var loaded);
            if (handle == IntPtr.Zero)
                return (null, $"{format} needs {string.Join(" or ", names)}, which is not installed: install {package} (sudo apt install {package})");
            string? missing = null;
            IntPtr Export(string symbol)
            {
                if (NativeLibrary.TryGetExport(handle, symbol, out var address)) return address;
                missing ??= symbol;
                return IntPtr.Zero;
            }
            var api = bind(handle, Export);
            return missing is null
                ? (api, null)
                : (null, $"{format} needs {missing} from {loaded}, which this version lacks: install a current {package} (sudo apt install {package})");
        })).Value;
}
