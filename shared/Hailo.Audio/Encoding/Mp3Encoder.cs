using System.Collections.Concurrent;

namespace Hailo.Audio.Encoding;

/// <summary>The parts of LAME's C API used here (lame.h), bound from the library's exports.</summary>
internal sealed unsafe class LameApi
{
    private static readonly ConcurrentDictionary<string, Lazy<(LameApi?, string?)>> s_cache = new(StringComparer.Ordinal);

    public static (LameApi? Api, string? Reason) Get(string? name) =>
        EncoderLibrary.Bind(s_cache, name, ["libmp3lame.so.0", "libmp3lame.so"], "mp3", "libmp3lame0", (_, e) => new LameApi(e));

    public readonly delegate* unmanaged<IntPtr> Init;
    public readonly delegate* unmanaged<IntPtr, int, int> SetInSampleRate;
    public readonly delegate* unmanaged<IntPtr, int, int> SetOutSampleRate;
    public readonly delegate* unmanaged<IntPtr, int, int> SetNumChannels;
    public readonly delegate* unmanaged<IntPtr, int, int> SetMode;
    public readonly delegate* unmanaged<IntPtr, int, int> SetBitrate;
    public readonly delegate* unmanaged<IntPtr, int, int> SetVbr;
    public readonly delegate* unmanaged<IntPtr, float, int> SetVbrQuality;
    public readonly delegate* unmanaged<IntPtr, int, int> SetQuality;
    public readonly delegate* unmanaged<IntPtr, int, int> SetWriteVbrTag;
    public readonly delegate* unmanaged<IntPtr, int> InitParams;
    public readonly delegate* unmanaged<IntPtr, int> GetOutSampleRate;
    public readonly delegate* unmanaged<IntPtr, float*, float*, int, byte*, int, int> EncodeFloat;
    public readonly delegate* unmanaged<IntPtr, byte*, int, int> Flush;
    public readonly delegate* unmanaged<IntPtr, int> Close;

    private LameApi(Func<string, IntPtr> export)
    {
        Init = (delegate* unmanaged<IntPtr>)export("lame_init");
        SetInSampleRate = (delegate* unmanaged<IntPtr, int, int>)export("lame_set_in_samplerate");
        SetOutSampleRate = (delegate* unmanaged<IntPtr, int, int>)export("lame_set_out_samplerate");
        SetNumChannels = (delegate* unmanaged<IntPtr, int, int>)export("lame_set_num_channels");
        SetMode = (delegate* unmanaged<IntPtr, int, int>)export("lame_set_mode");
        SetBitrate = (delegate* unmanaged<IntPtr, int, int>)export("lame_set_brate");
        SetVbr = (delegate* unmanaged<IntPtr, int, int>)export("lame_set_VBR");
        SetVbrQuality = (delegate* unmanaged<IntPtr, float, int>)export("lame_set_VBR_quality");
        SetQuality = (delegate* unmanaged<IntPtr, int, int>)export("lame_set_quality");
        SetWriteVbrTag = (delegate* unmanaged<IntPtr, int, int>)export("lame_set_bWriteVbrTag");
        InitParams = (delegate* unmanaged<IntPtr, int>)export("lame_init_params");
        GetOutSampleRate = (delegate* unmanaged<IntPtr, int>)export("lame_get_out_samplerate");
        EncodeFloat = (delegate* unmanaged<IntPtr, float*, float*, int, byte*, int, int>)export("lame_encode_buffer_ieee_float");
        Flush = (delegate* unmanaged<IntPtr, byte*, int, int>)export("lame_encode_flush");
        Close = (delegate* unmanaged<IntPtr, int>)export("lame_close");
    }
}

/// <summary>
/// MP3 with LAME: mono, CBR at the chosen bitrate (or VBR at a quality), at the input rate when MPEG allows it (else
/// the rate LAME picks). No Xing/LAME tag: a stream cannot go back to write one, so decoders see LAME's encoder delay
/// (about 1100 samples) and the last frame's padding as silence.
/// </summary>
internal sealed class Mp3Encoder : EncoderBase
{
    private const int ModeMono = 3, VbrOff = 0, VbrDefault = 4;
    private static readonly int[] s_mpegRates = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
    private readonly LameApi _api;
    private IntPtr _lame;
    private byte[] _buffer = new byte[16384];

    public Mp3Encoder(LameApi api, int inputRate, Stream output, AudioEncoderOptions options)
        : base(output, Configure(api, inputRate, options, out var lame))
    {
        _api = api;
        _lame = lame;
    }

    private static unsafe int Configure(LameApi api, int inputRate, AudioEncoderOptions options, out IntPtr lame)
    {
        lame = api.Init();
        if (lame == IntPtr.Zero) throw new InvalidOperationException("libmp3lame: lame_init failed");
        api.SetInSampleRate(lame, inputRate);
        if (Array.IndexOf(s_mpegRates, inputRate) >= 0) api.SetOutSampleRate(lame, inputRate);
        api.SetNumChannels(lame, 1);
        api.SetMode(lame, ModeMono);
        api.SetWriteVbrTag(lame, 0);
        // LAME's "good speed" setting: a Pi 5 core encodes speech far faster than it is synthesised.
        api.SetQuality(lame, 5);
        if (options.Mp3VbrQuality is { } quality)
        {
            api.SetVbr(lame, VbrDefault);
            api.SetVbrQuality(lame, Math.Clamp(quality, 0f, 9.999f));
        }
        else
        {
            api.SetVbr(lame, VbrOff);
            api.SetBitrate(lame, Math.Clamp((options.Bitrate ?? 64000) / 1000, 8, 320));
        }
        var status = api.InitParams(lame);
        if (status < 0)
        {
            api.Close(lame);
            lame = IntPtr.Zero;
            throw new InvalidOperationException($"libmp3lame: lame_init_params failed ({status}) for {inputRate} Hz");
        }
        // The rate LAME encodes at (it resamples an input rate MPEG does not have).
        return api.GetOutSampleRate(lame);
    }

    protected override async ValueTask EncodeAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        // LAME takes at most a few seconds at a time comfortably; the worst case of its output is 1.25 n + 7200 bytes.
        const int Block = 16384;
        for (var at = 0; at < samples.Length; at += Block)
        {
            var n = Math.Min(Block, samples.Length - at);
            var need = n + n / 4 + 7200;
            if (_buffer.Length < need) _buffer = new byte[need];
            var made = Encode(samples.Span.Slice(at, n));
            if (made < 0) throw new InvalidOperationException($"libmp3lame: encoding failed ({made})");
            if (made > 0) await Output.WriteAsync(_buffer.AsMemory(0, made), cancellationToken);
        }
    }

    private unsafe int Encode(ReadOnlySpan<float> samples)
    {
        fixed (float* pcm = samples)
        fixed (byte* mp3 = _buffer)
            return _api.EncodeFloat(_lame, pcm, pcm, samples.Length, mp3, _buffer.Length);
    }

    private unsafe int Flush()
    {
        fixed (byte* mp3 = _buffer)
            return _api.Flush(_lame, mp3, _buffer.Length);
    }

    protected override async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        var made = Flush();
        if (made < 0) throw new InvalidOperationException($"libmp3lame: flushing failed ({made})");
        if (made > 0) await Output.WriteAsync(_buffer.AsMemory(0, made), cancellationToken);
    }

    protected override unsafe ValueTask ReleaseAsync()
    {
        if (_lame != IntPtr.Zero) _api.Close(_lame);
        _lame = IntPtr.Zero;
        return default;
    }
}
