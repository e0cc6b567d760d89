using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Hailo.Audio.Encoding;

/// <summary>The parts of libopus' encoder API used here (opus.h), bound from the library's exports.</summary>
internal sealed unsafe class OpusEncoderApi
{
    private static readonly ConcurrentDictionary<string, Lazy<(OpusEncoderApi?, string?)>> s_cache = new(StringComparer.Ordinal);

    public static (OpusEncoderApi? Api, string? Reason) Get(string? name) =>
        EncoderLibrary.Bind(s_cache, name, ["libopus.so.0", "libopus.so"], "opus", "libopus0", (_, e) => new OpusEncoderApi(e));

    public const int ApplicationAudio = 2049;
    public const int SetBitrateRequest = 4002;
    public const int GetLookaheadRequest = 4027;

    public readonly delegate* unmanaged<int, int, int, int*, IntPtr> Create;
    public readonly delegate* unmanaged<IntPtr, float*, int, byte*, int, int> EncodeFloat;
    public readonly delegate* unmanaged<IntPtr, void> Destroy;
    // opus_encoder_ctl is variadic; one int or pointer after the request is passed like a fixed argument on the
    // x86-64 System V and AArch64 Linux ABIs.
    public readonly delegate* unmanaged<IntPtr, int, int, int> CtlInt;
    public readonly delegate* unmanaged<IntPtr, int, int*, int> CtlGetInt;
    public readonly delegate* unmanaged<int, byte*> StrError;
    public readonly delegate* unmanaged<byte*> VersionString;

    private OpusEncoderApi(Func<string, IntPtr> export)
    {
        Create = (delegate* unmanaged<int, int, int, int*, IntPtr>)export("opus_encoder_create");
        EncodeFloat = (delegate* unmanaged<IntPtr, float*, int, byte*, int, int>)export("opus_encode_float");
        Destroy = (delegate* unmanaged<IntPtr, void>)export("opus_encoder_destroy");
        var ctl = export("opus_encoder_ctl");
        CtlInt = (delegate* unmanaged<IntPtr, int, int, int>)ctl;
        CtlGetInt = (delegate* unmanaged<IntPtr, int, int*, int>)ctl;
        StrError = (delegate* unmanaged<int, byte*>)export("opus_strerror");
        VersionString = (delegate* unmanaged<byte*>)export("opus_get_version_string");
    }

    public string Error(int code) => Marshal.PtrToStringUTF8((IntPtr)StrError(code)) ?? $"error {code}";
}

/// <summary>
/// Ogg Opus (RFC 7845), mono at 48 kHz, with libopus and an Ogg page writer of its own. Not libopusenc: it is one more
/// package to install, while libopus is already what Hailo.Audio decodes Opus with, and the Ogg framing needed for one
/// stream (two header pages, audio pages with granule positions and a CRC, an end-of-stream flag) is short. The input
/// is resampled to 48 kHz and cut into 20 ms packets; every write ends with a page holding the packets made so far,
/// so each sentence reaches the client when it is encoded. Completion pads the last packet with silence, and the last
/// page's granule position tells decoders where the audio really ends; the OpusHead's pre-skip the encoder's lookahead.
/// </summary>
internal sealed class OpusEncoder : EncoderBase
{
    private const int FrameSamples = AudioEncoders.OpusRate / 50;
    private const int MaxPacket = 4000;
    private readonly OpusEncoderApi _api;
    private readonly OggWriter _ogg;
    private readonly int _inputRate;
    private readonly int _preSkip;
    private readonly float[] _frame = new float[FrameSamples];
    private readonly byte[] _packet = new byte[MaxPacket];
    private IntPtr _opus;
    private int _inFrame;
    private long _samples, _granule;
    private bool _headersWritten;

    public unsafe OpusEncoder(OpusEncoderApi api, int inputRate, Stream output, AudioEncoderOptions options)
        : base(output, inputRate, AudioEncoders.OpusRate)
    {
        _api = api;
        _inputRate = inputRate;
        int error;
        _opus = api.Create(AudioEncoders.OpusRate, 1, OpusEncoderApi.ApplicationAudio, &error);
        if (_opus == IntPtr.Zero) throw new InvalidOperationException("libopus: " + api.Error(error));
        api.CtlInt(_opus, OpusEncoderApi.SetBitrateRequest, Math.Clamp(options.Bitrate ?? 32000, 6000, 510000));
        int lookahead;
        _preSkip = api.CtlGetInt(_opus, OpusEncoderApi.GetLookaheadRequest, &lookahead) == 0 ? lookahead : 312;
        _ogg = new OggWriter((uint)Random.Shared.Next());
    }

    private unsafe void Headers()
    {
        if (_headersWritten) return;
        _headersWritten = true;
        var head = new byte[19];
        "OpusHead"u8.CopyTo(head);
        head[8] = 1; // version
        head[9] = 1; // channels
        BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(10), (ushort)_preSkip);
        BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(12), (uint)_inputRate);
        // output gain 0, channel mapping family 0 (mono or stereo, one stream)
        _ogg.AddPacket(head);
        _ogg.Page(granule: 0, beginning: true);
        var vendor = Marshal.PtrToStringUTF8((IntPtr)_api.VersionString()) ?? "libopus";
        var vendorBytes = System.Text.Encoding.UTF8.GetBytes(vendor);
        var tags = new byte[8 + 4 + vendorBytes.Length + 4];
        "OpusTags"u8.CopyTo(tags);
        BinaryPrimitives.WriteUInt32LittleEndian(tags.AsSpan(8), (uint)vendorBytes.Length);
        vendorBytes.CopyTo(tags.AsSpan(12));
        // no user comments
        _ogg.AddPacket(tags);
        _ogg.Page(granule: 0);
    }

    private unsafe void EncodeFrame()
    {
        int n;
        fixed (float* pcm = _frame)
        fixed (byte* data = _packet)
            n = _api.EncodeFloat(_opus, pcm, FrameSamples, data, MaxPacket);
        if (n < 0) throw new InvalidOperationException("libopus: " + _api.Error(n));
        _inFrame = 0;
        _granule += FrameSamples;
        // A page holds at most 255 lacing values: close it first if this packet would not fit.
        if (!_ogg.Fits(n)) _ogg.Page(_granule - FrameSamples);
        _ogg.AddPacket(_packet.AsSpan(0, n));
    }

    protected override async ValueTask EncodeAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        Headers();
        var span = samples.Span;
        _samples += span.Length;
        while (!span.IsEmpty)
        {
            var n = Math.Min(span.Length, FrameSamples - _inFrame);
            span[..n].CopyTo(_frame.AsSpan(_inFrame));
            _inFrame += n;
            span = span[n..];
            if (_inFrame == FrameSamples) EncodeFrame();
        }
        if (_ogg.HasPackets) _ogg.Page(_granule);
        await _ogg.WriteToAsync(Output, cancellationToken);
    }

    protected override async ValueTask FinishAsync(CancellationToken cancellationToken)
    {
        Headers();
        // Encode until the lookahead has passed the last real sample, padding with silence.
        while (_granule < _samples + _preSkip || _inFrame > 0)
        {
            _frame.AsSpan(_inFrame).Clear();
            EncodeFrame();
        }
        _ogg.Page(_samples + _preSkip, end: true);
        await _ogg.WriteToAsync(Output, cancellationToken);
    }

    protected override unsafe ValueTask ReleaseAsync()
    {
        if (_opus != IntPtr.Zero) _api.Destroy(_opus);
        _opus = IntPtr.Zero;
        return default;
    }
}

/// <summary>
/// The pages of one logical Ogg bitstream (RFC 3533): packets are collected with their lacing values and closed into
/// pages with a granule position, sequence number and CRC; the finished pages wait in a buffer for the output.
/// </summary>
internal sealed class OggWriter(uint serial)
{
    private static readonly uint[] s_crc = CrcTable();
    private readonly List<byte> _lacing = [];
    private readonly MemoryStream _body = new();
    private readonly MemoryStream _pages = new();
    private uint _sequence;

    public bool HasPackets => _lacing.Count > 0;

    /// <summary>Whether a packet of <paramref name="length"/> bytes fits on the open page.</summary>
    public bool Fits(int length) => _lacing.Count + length / 255 + 1 <= 255;

    public void AddPacket(ReadOnlySpan<byte> packet)
    {
        if (packet.Length / 255 + 1 > 255) throw new ArgumentException("packet too long for one Ogg page", nameof(packet));
        for (var left = packet.Length; ; left -= 255)
        {
            _lacing.Add((byte)Math.Min(left, 255));
            if (left < 255) break;
        }
        _body.Write(packet);
    }

    /// <summary>Closes the open page (may be empty only when <paramref name="end"/>).</summary>
    public void Page(long granule, bool beginning = false, bool end = false)
    {
        var header = new byte[27 + _lacing.Count];
        "OggS"u8.CopyTo(header);
        header[4] = 0; // version
        header[5] = (byte)((beginning ? 2 : 0) | (end ? 4 : 0));
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(6), granule);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(14), serial);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(18), _sequence++);
        header[26] = (byte)_lacing.Count;
        for (var i = 0; i < _lacing.Count; i++) header[27 + i] = _lacing[i];
        var body = _body.GetBuffer().AsSpan(0, (int)_body.Length);
        var crc = Crc(Crc(0, header), body);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(22), crc);
        _pages.Write(header);
        _pages.Write(body);
        _lacing.Clear();
        _body.SetLength(0);
    }

    /// <summary>Writes the closed pages to <paramref name="output"/>.</summary>
    public async ValueTask WriteToAsync(Stream output, CancellationToken cancellationToken)
    {
        if (_pages.Length == 0) return;
        await output.WriteAsync(_pages.GetBuffer().AsMemory(0, (int)_pages.Length), cancellationToken);
        _pages.SetLength(0);
    }

    /// <summary>Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value and final XOR 0.</summary>
    internal static uint Crc(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) crc = (crc << 8) ^ s_crc[(byte)(crc >> 24) ^ b];
        return crc;
    }

    private static uint[] CrcTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var r = i << 24;
            for (var j = 0; j < 8; j++) r = (r & 0x80000000) != 0 ? (r << 1) ^ 0x04C11DB7 : r << 1;
            table[i] = r;
        }
        return table;
    }
}
