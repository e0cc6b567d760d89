using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Hailo.Audio.Encoding;

/// <summary>The parts of libFLAC's stream encoder API used here (FLAC/stream_encoder.h), bound from the library's exports.</summary>
internal sealed unsafe class FlacApi
{
    private static readonly ConcurrentDictionary<string, Lazy<(FlacApi?, string?)>> s_cache = new(StringComparer.Ordinal);

    // Debian 12 ships libFLAC.so.12 (libflac12), Debian 13 libFLAC.so.14 (libflac14); the calls used here are the same.
    public static (FlacApi? Api, string? Reason) Get(string? name) =>
        EncoderLibrary.Bind(s_cache, name, ["libFLAC.so.12", "libFLAC.so.14"], "flac", Package(), (_, e) => new FlacApi(e));

    /// <summary>The package to name: libflac12 on Debian 12 (Bookworm), libflac14 on later releases.</summary>
    internal static string Package(string osRelease = "/etc/os-release")
    {
        try
        {
            foreach (var line in File.ReadLines(osRelease))
                if (line.StartsWith("VERSION_ID=", StringComparison.Ordinal))
                    return int.TryParse(line["VERSION_ID=".Length..].Trim('"'), out var version) && version >= 13 ? "libflac14" : "libflac12";
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return "libflac12";
    }

    public readonly delegate* unmanaged<IntPtr> New;
    public readonly delegate* unmanaged<IntPtr, uint, int> SetChannels;
    public readonly delegate* unmanaged<IntPtr, uint, int> SetBitsPerSample;
    public readonly delegate* unmanaged<IntPtr, uint, int> SetSampleRate;
    public readonly delegate* unmanaged<IntPtr, uint, int> SetCompressionLevel;
    public readonly delegate* unmanaged<IntPtr, ulong, int> SetTotalSamplesEstimate;
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int> InitStream;
    public readonly delegate* unmanaged<IntPtr, int*, uint, int> ProcessInterleaved;
    public readonly delegate* unmanaged<IntPtr, int> Finish;
    public readonly delegate* unmanaged<IntPtr, void> Delete;
    public readonly delegate* unmanaged<IntPtr, byte*> StateString;

    private FlacApi(Func<string, IntPtr> export)
    {
        New = (delegate* unmanaged<IntPtr>)export("FLAC__stream_encoder_new");
        SetChannels = (delegate* unmanaged<IntPtr, uint, int>)export("FLAC__stream_encoder_set_channels");
        SetBitsPerSample = (delegate* unmanaged<IntPtr, uint, int>)export("FLAC__stream_encoder_set_bits_per_sample");
        SetSampleRate = (delegate* unmanaged<IntPtr, uint, int>)export("FLAC__stream_encoder_set_sample_rate");
        SetCompressionLevel = (delegate* unmanaged<IntPtr, uint, int>)export("FLAC__stream_encoder_set_compression_level");
        SetTotalSamplesEstimate = (delegate* unmanaged<IntPtr, ulong, int>)export("FLAC__stream_encoder_set_total_samples_estimate");
        InitStream = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, IntPtr, int>)export("FLAC__stream_encoder_init_stream");
        ProcessInterleaved = (delegate* unmanaged<IntPtr, int*, uint, int>)export("FLAC__stream_encoder_process_interleaved");
        Finish = (delegate* unmanaged<IntPtr, int>)export("FLAC__stream_encoder_finish");
        Delete = (delegate* unmanaged<IntPtr, void>)export("FLAC__stream_encoder_delete");
        StateString = (delegate* unmanaged<IntPtr, byte*>)export("FLAC__stream_encoder_get_resolved_state_string");
    }

    public string State(IntPtr encoder) => Marshal.PtrToStringUTF8((IntPtr)StateString(encoder)) ?? "unknown state";
}

/// <summary>
/// FLAC, 16-bit mono at the input rate, with libFLAC's stream encoder. Its write callback runs inside libFLAC's calls,
/// which are synchronous: the bytes are collected there (with the offset libFLAC means them for) and written to the
/// output asynchronously once the call returns. On an output that can seek, libFLAC is also given seek and tell
/// callbacks, and at completion goes back to fill STREAMINFO's sample count and MD5; streamed, those stay 0
/// ("unknown"), which FLAC allows and decoders accept.
/// </summary>
internal sealed class FlacEncoder : EncoderBase
{
    private const int WriteOk = 0, WriteFatal = 1, SeekOk = 0, SeekError = 1, TellOk = 0;
    private readonly FlacApi _api;
    private readonly long _start;
    private readonly List<(long Offset, byte[] Bytes)> _pending = [];
    private GCHandle _self;
    private IntPtr _flac;
    private int[] _ints = new int[4096];
    private long _position, _written, _end;

    public unsafe FlacEncoder(FlacApi api, int rate, Stream output, AudioEncoderOptions options) : base(output, rate)
    {
        _api = api;
        _start = output.CanSeek ? output.Position : -1;
        _flac = api.New();
        if (_flac == IntPtr.Zero) throw new InvalidOperationException("libFLAC: FLAC__stream_encoder_new failed");
        _self = GCHandle.Alloc(this);
        api.SetChannels(_flac, 1);
        api.SetBitsPerSample(_flac, 16);
        api.SetSampleRate(_flac, (uint)rate);
        api.SetCompressionLevel(_flac, (uint)Math.Clamp(options.FlacCompressionLevel, 0, 8));
        var seekable = _start >= 0;
        var status = api.InitStream(_flac, (IntPtr)(delegate* unmanaged<IntPtr, byte*, nuint, uint, uint, IntPtr, int>)&OnWrite,
            seekable ? (IntPtr)(delegate* unmanaged<IntPtr, ulong, IntPtr, int>)&OnSeek : IntPtr.Zero,
            seekable ? (IntPtr)(delegate* unmanaged<IntPtr, ulong*, IntPtr, int>)&OnTell : IntPtr.Zero,
            IntPtr.Zero, GCHandle.ToIntPtr(_self));
        if (status != 0)
        {
            var state = api.State(_flac);
            Free();
            throw new InvalidOperationException($"libFLAC: the encoder did not start (init status {status}, {state})");
        }
    }

    [UnmanagedCallersOnly]
    private static unsafe int OnWrite(IntPtr encoder, byte* buffer, nuint bytes, uint samples, uint frame, IntPtr client)
    {
        try
        {
            var self = (FlacEncoder)GCHandle.FromIntPtr(client).Target!;
            self._pending.Add((self._position, new ReadOnlySpan<byte>(buffer, checked((int)bytes)).ToArray()));
            self._position += (long)bytes;
            return WriteOk;
        }
        catch (Exception)
        {
            return WriteFatal;
        }
    }

    [UnmanagedCallersOnly]
    private static int OnSeek(IntPtr encoder, ulong offset, IntPtr client)
    {
        var self = (FlacEncoder)GCHandle.FromIntPtr(client).Target!;
        if (offset > long.MaxValue) return SeekError;
        self._position = (long)offset;
        return SeekOk;
    }

    [UnmanagedCallersOnly]
    private static unsafe int OnTell(IntPtr encoder, ulong* offset, IntPtr client)
    {
        var self = (FlacEncoder)GCHandle.FromIntPtr(client).Target!;
        *offset = (ulong)self._position;
        return TellOk;
    }

    /// <summary>Writes what libFLAC produced, seeking where it went back (only on a seekable output).</summary>
    private async ValueTask WritePendingAsync(CancellationToken cancellationToken)
    {
        foreach (var (offset, bytes) in _pending)
        {
            if (offset != _written) Output.Position = _start + offset;
            await Output.WriteAsync(bytes, cancellationToken);
            _written = offset + bytes.Length;
            _end = Math.Max(_end, _written);
        }
        _pending.Clear();
    }

    protected override async ValueTask EncodeAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        if (_ints.Length < samples.Length) _ints = new int[samples.Length];
        var span = samples.Span;
        for (var i = 0; i < span.Length; i++) _ints[i] = ToInt16(span[i]);
        if (span.Length > 0)
        {
            if (Process(span.Length) == 0) throw new InvalidOperationException("libFLAC: encoding failed (" + _api.State(_flac) + ")");
        }
        await WritePendingAsync(cancellationToken);
    }

    private unsafe int Process(int count)
    {
        fixed (int* p = _ints) return _api.ProcessInterleaved(_flac, p, (uint)count);
    }

    protected override async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        var ok = FinishNative();
        await WritePendingAsync(cancellationToken);
        if (_start >= 0 && _written != _end) Output.Position = _start + _end;
        if (ok == 0) throw new InvalidOperationException("libFLAC: finishing failed (" + _api.State(_flac) + ")");
    }

    private unsafe int FinishNative() => _api.Finish(_flac);

    private unsafe void Free()
    {
        if (_flac != IntPtr.Zero) _api.Delete(_flac);
        _flac = IntPtr.Zero;
        if (_self.IsAllocated) _self.Free();
    }

    protected override ValueTask ReleaseAsync()
    {
        Free();
        return default;
    }
}
