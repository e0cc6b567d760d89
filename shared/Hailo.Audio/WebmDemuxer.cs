using System.Buffers.Binary;

namespace Hailo.Audio;

/// <summary>One frame (codec packet) of a WebM/Matroska track: where it lies in the file.</summary>
public readonly record struct WebmFrame(int Track, int Offset, int Length, long DiscardPaddingNs);

/// <summary>A track entry of the Tracks element (the fields an audio decoder needs).</summary>
public sealed record WebmTrack(int Number, int Type, string Codec, byte[] CodecPrivate, int Channels, double SampleRate, long CodecDelayNs,
    bool Encoded);

/// <summary>What <see cref="WebmDemuxer.Read"/> found: the DocType, every track, and every frame in file order.</summary>
public sealed record WebmFile(string DocType, IReadOnlyList<WebmTrack> Tracks, IReadOnlyList<WebmFrame> Frames);

/// <summary>The file is not well-formed WebM/Matroska (garbage, truncated, or an element this reader cannot follow).</summary>
public sealed class WebmException(string message) : Exception(message);

/// <summary>
/// A small EBML reader for what browsers' MediaRecorder and ffmpeg write: the EBML header, the first Segment, its
/// Tracks and its Clusters with SimpleBlocks and BlockGroups (Block, DiscardPadding); every other element is skipped
/// by its size. Segment and Cluster may have an unknown size (MediaRecorder writes both so while recording): such an
/// element ends where the data ends or where an element that cannot be its child begins. Blocks may use Xiph, EBML
/// or fixed-size lacing. Frames are positions in the caller's bytes (nothing is copied); any element that runs past
/// the end of the data is an error, so a truncated file is refused rather than read in part.
/// </summary>
public static class WebmDemuxer
{
    public const uint EbmlId = 0x1A45DFA3;
    private const uint DocTypeId = 0x4282;
    private const uint SegmentId = 0x18538067;
    private const uint ClusterId = 0x1F43B675;
    private const uint TracksId = 0x1654AE6B;
    private const uint TrackEntryId = 0xAE;
    private const uint TrackNumberId = 0xD7;
    private const uint TrackTypeId = 0x83;
    private const uint CodecId = 0x86;
    private const uint CodecPrivateId = 0x63A2;
    private const uint CodecDelayId = 0x56AA;
    private const uint AudioId = 0xE1;
    private const uint SamplingFrequencyId = 0xB5;
    private const uint ChannelsId = 0x9F;
    private const uint ContentEncodingsId = 0x6D80;
    private const uint SimpleBlockId = 0xA3;
    private const uint BlockGroupId = 0xA0;
    private const uint BlockId = 0xA1;
    private const uint DiscardPaddingId = 0x75A2;

    /// <summary>The Segment's children (level 1): one of these ends an unknown-size Cluster.</summary>
    private static readonly HashSet<uint> s_level1 =
    [
        0x114D9B74 /* SeekHead */, 0x1549A966 /* Info */, TracksId, ClusterId, 0x1C53BB6B /* Cues */, 0x1941A469 /* Attachments */,
        0x1043A770 /* Chapters */, 0x1254C367 /* Tags */, SegmentId, EbmlId,
    ];

    /// <summary>A Cluster's children: the only elements an unknown-size Cluster may contain.</summary>
    private static readonly HashSet<uint> s_clusterChildren =
    [
        0xE7 /* Timestamp */, 0x5854 /* SilentTracks */, 0xA7 /* Position */, 0xAB /* PrevSize */, SimpleBlockId, BlockGroupId,
        0xAF /* EncryptedBlock */, 0xEC /* Void */, 0xBF /* CRC-32 */,
    ];

    public static bool HasMagic(ReadOnlySpan<byte> d) => d.Length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(d) == EbmlId;

    public static WebmFile Read(ReadOnlySpan<byte> data)
    {
        var pos = 0;
        var header = Header(data, ref pos, data.Length);
        if (header.Id != EbmlId || header.Size < 0) throw new WebmException("it does not start with an EBML header");
        var docType = "matroska";
        var headerEnd = End(header, pos, data.Length);
        while (pos < headerEnd)
        {
            var e = Header(data, ref pos, headerEnd);
            var end = End(e, pos, headerEnd);
            if (e.Id == DocTypeId) docType = System.Text.Encoding.ASCII.GetString(data[pos..end]).TrimEnd('\0');
            pos = end;
        }
        if (docType is not ("webm" or "matroska"))
            throw new WebmException($"its EBML DocType is '{docType}', not webm or matroska");

        var tracks = new List<WebmTrack>();
        var frames = new List<WebmFrame>();
        while (pos < data.Length)
        {
            var e = Header(data, ref pos, data.Length);
            if (e.Id != SegmentId)
            {
                pos = End(e, pos, data.Length);
                continue;
            }
            ReadSegment(data, pos, e.Size < 0 ? data.Length : End(e, pos, data.Length), tracks, frames);
            // Only the first Segment: chained segments are not something recorders write.
            return new WebmFile(docType, tracks, frames);
        }
        throw new WebmException("it has no Segment");
    }

    private static void ReadSegment(ReadOnlySpan<byte> data, int pos, int segmentEnd, List<WebmTrack> tracks, List<WebmFrame> frames)
    {
        while (pos < segmentEnd)
        {
            var start = pos;
            var e = Header(data, ref pos, segmentEnd);
            if (e.Id == EbmlId || e.Id == SegmentId)
            {
                pos = start; // a next segment (or a chained file) begins: this one ends here
                break;
            }
            if (e.Id == ClusterId)
            {
                pos = ReadCluster(data, pos, e.Size < 0 ? segmentEnd : End(e, pos, segmentEnd), e.Size < 0, frames);
                continue;
            }
            var end = End(e, pos, segmentEnd);
            if (e.Id == TracksId) ReadTracks(data, pos, end, tracks);
            pos = end;
        }
    }

    /// <summary>Reads a Cluster's blocks; returns where the Cluster ends (for an unknown size: where a non-child begins).</summary>
    private static int ReadCluster(ReadOnlySpan<byte> data, int pos, int clusterEnd, bool unknownSize, List<WebmFrame> frames)
    {
        while (pos < clusterEnd)
        {
            var start = pos;
            var e = Header(data, ref pos, clusterEnd);
            if (unknownSize && !s_clusterChildren.Contains(e.Id))
            {
                if (s_level1.Contains(e.Id)) return start;
                throw new WebmException($"element 0x{e.Id:X} inside a Cluster of unknown size at byte {start}");
            }
            var end = End(e, pos, clusterEnd);
            if (e.Id == SimpleBlockId) ReadBlock(data, pos, end, 0, frames);
            else if (e.Id == BlockGroupId) ReadBlockGroup(data, pos, end, frames);
            pos = end;
        }
        return clusterEnd;
    }

    private static void ReadBlockGroup(ReadOnlySpan<byte> data, int pos, int groupEnd, List<WebmFrame> frames)
    {
        int blockStart = -1, blockEnd = -1;
        long discard = 0;
        while (pos < groupEnd)
        {
            var e = Header(data, ref pos, groupEnd);
            var end = End(e, pos, groupEnd);
            if (e.Id == BlockId) (blockStart, blockEnd) = (pos, end);
            else if (e.Id == DiscardPaddingId) discard = SignedInt(data[pos..end]);
            pos = end;
        }
        if (blockStart >= 0) ReadBlock(data, blockStart, blockEnd, discard, frames);
    }

    /// <summary>A (Simple)Block: track number, 16-bit timestamp, flags, then one frame or a laced run of frames.</summary>
    private static void ReadBlock(ReadOnlySpan<byte> data, int pos, int end, long discardPaddingNs, List<WebmFrame> frames)
    {
        var start = pos;
        var track = Vint(data, ref pos, end, out var trackLength, out _);
        if (trackLength > 4 || track > int.MaxValue) throw new WebmException($"block at byte {start} names track {track}");
        if (pos + 3 > end) throw new WebmException($"block at byte {start} is too short");
        var flags = data[pos + 2];
        pos += 3;
        var lacing = (flags >> 1) & 3;
        if (lacing == 0)
        {
            frames.Add(new WebmFrame((int)track, pos, end - pos, discardPaddingNs));
            return;
        }
        if (pos >= end) throw new WebmException($"laced block at byte {start} has no frame count");
        var count = data[pos++] + 1;
        Span<int> sizes = count <= 256 ? stackalloc int[count] : new int[count];
        long total = 0;
        switch (lacing)
        {
            case 1: // Xiph: each size but the last as a run of 255s plus a final byte below 255
                for (var i = 0; i < count - 1; i++)
                {
                    var size = 0;
                    byte b;
                    do
                    {
                        if (pos >= end) throw new WebmException($"Xiph lacing of the block at byte {start} runs past its end");
                        b = data[pos++];
                        size += b;
                    } while (b == 255);
                    sizes[i] = size;
                    total += size;
                }
                break;
            case 3: // EBML: the first size as a number, the others as signed differences to the previous
                {
                    var first = Vint(data, ref pos, end, out _, out var unknown);
                    if (unknown || first > int.MaxValue) throw new WebmException($"EBML lacing of the block at byte {start} has a bad size");
                    long size = (long)first;
                    sizes[0] = (int)size;
                    total = size;
                    for (var i = 1; i < count - 1; i++)
                    {
                        var raw = Vint(data, ref pos, end, out var length, out _);
                        size += (long)raw - ((1L << (7 * length - 1)) - 1);
                        if (size is < 0 or > int.MaxValue) throw new WebmException($"EBML lacing of the block at byte {start} has a bad size");
                        sizes[i] = (int)size;
                        total += size;
                    }
                    break;
                }
            default: // fixed-size: the rest split evenly
                if ((end - pos) % count != 0) throw new WebmException($"fixed-size lacing of the block at byte {start} does not divide its {end - pos} bytes by {count}");
                for (var i = 0; i < count - 1; i++) sizes[i] = (end - pos) / count;
                total = (long)(end - pos) / count * (count - 1);
                break;
        }
        if (total > end - pos) throw new WebmException($"the laced frames of the block at byte {start} are larger than the block");
        sizes[count - 1] = (int)(end - pos - total);
        foreach (var size in sizes)
        {
            frames.Add(new WebmFrame((int)track, pos, size, 0));
            pos += size;
        }
        // DiscardPadding applies to the end of the block, i.e. its last frame.
        if (discardPaddingNs != 0) frames[^1] = frames[^1] with { DiscardPaddingNs = discardPaddingNs };
    }

    private static void ReadTracks(ReadOnlySpan<byte> data, int pos, int tracksEnd, List<WebmTrack> tracks)
    {
        while (pos < tracksEnd)
        {
            var e = Header(data, ref pos, tracksEnd);
            var end = End(e, pos, tracksEnd);
            if (e.Id == TrackEntryId) tracks.Add(ReadTrack(data, pos, end));
            pos = end;
        }
    }

    private static WebmTrack ReadTrack(ReadOnlySpan<byte> data, int pos, int trackEnd)
    {
        int number = 0, type = 0, channels = 1;
        double rate = 8000;
        long delay = 0;
        var codec = "";
        byte[] codecPrivate = [];
        var encoded = false;
        while (pos < trackEnd)
        {
            var e = Header(data, ref pos, trackEnd);
            var end = End(e, pos, trackEnd);
            var body = data[pos..end];
            switch (e.Id)
            {
                case TrackNumberId: number = (int)Math.Min(UnsignedInt(body), int.MaxValue); break;
                case TrackTypeId: type = (int)Math.Min(UnsignedInt(body), int.MaxValue); break;
                case CodecId: codec = System.Text.Encoding.ASCII.GetString(body).TrimEnd('\0'); break;
                case CodecPrivateId: codecPrivate = body.ToArray(); break;
                case CodecDelayId: delay = (long)Math.Min(UnsignedInt(body), long.MaxValue); break;
                case ContentEncodingsId: encoded = true; break;
                case AudioId:
                    var p = pos;
                    while (p < end)
                    {
                        var a = Header(data, ref p, end);
                        var aEnd = End(a, p, end);
                        if (a.Id == SamplingFrequencyId) rate = Float(data[p..aEnd]);
                        else if (a.Id == ChannelsId) channels = (int)Math.Min(UnsignedInt(data[p..aEnd]), int.MaxValue);
                        p = aEnd;
                    }
                    break;
            }
            pos = end;
        }
        return new WebmTrack(number, type, codec, codecPrivate, channels, rate, delay, encoded);
    }

    private readonly record struct Element(uint Id, long Size);

    /// <summary>An element's ID (marker bits kept, 1-4 bytes) and size (-1: unknown).</summary>
    private static Element Header(ReadOnlySpan<byte> data, ref int pos, int limit)
    {
        var start = pos;
        if (pos >= limit) throw Truncated(start);
        var first = data[pos];
        var idLength = first == 0 ? 9 : System.Numerics.BitOperations.LeadingZeroCount((uint)first) - 23;
        if (idLength > 4) throw new WebmException($"invalid element ID at byte {start}");
        if (pos + idLength > limit) throw Truncated(start);
        uint id = 0;
        for (var i = 0; i < idLength; i++) id = (id << 8) | data[pos + i];
        pos += idLength;
        var size = Vint(data, ref pos, limit, out _, out var unknown);
        if (!unknown && size > int.MaxValue) throw new WebmException($"element 0x{id:X} at byte {start} declares {size} bytes");
        return new Element(id, unknown ? -1 : (long)size);
    }

    /// <summary>Where an element of known size ends; an unknown size is only allowed for Segment and Cluster.</summary>
    private static int End(Element e, int pos, int limit)
    {
        if (e.Size < 0) throw new WebmException($"element 0x{e.Id:X} at byte {pos} has an unknown size, which only Segment and Cluster may have");
        if (pos + e.Size > limit) throw Truncated(pos);
        return pos + (int)e.Size;
    }

    /// <summary>A variable-length integer without its marker bit (1-8 bytes); all value bits set means "unknown".</summary>
    private static ulong Vint(ReadOnlySpan<byte> data, ref int pos, int limit, out int length, out bool unknown)
    {
        if (pos >= limit) throw Truncated(pos);
        var first = data[pos];
        if (first == 0) throw new WebmException($"invalid variable-length number at byte {pos}");
        length = System.Numerics.BitOperations.LeadingZeroCount((uint)first) - 23;
        if (pos + length > limit) throw Truncated(pos);
        ulong value = (ulong)(first & (0xFF >> length));
        for (var i = 1; i < length; i++) value = (value << 8) | data[pos + i];
        pos += length;
        unknown = value == (1UL << (7 * length)) - 1;
        return value;
    }

    private static ulong UnsignedInt(ReadOnlySpan<byte> body)
    {
        if (body.Length > 8) throw new WebmException("an integer element is longer than 8 bytes");
        ulong v = 0;
        foreach (var b in body) v = (v << 8) | b;
        return v;
    }

    private static long SignedInt(ReadOnlySpan<byte> body)
    {
        if (body.Length == 0) return 0;
        if (body.Length > 8) throw new WebmException("an integer element is longer than 8 bytes");
        long v = (sbyte)body[0];
        for (var i = 1; i < body.Length; i++) v = (v << 8) | body[i];
        return v;
    }

    private static double Float(ReadOnlySpan<byte> body) => body.Length switch
    {
        4 => BinaryPrimitives.ReadSingleBigEndian(body),
        8 => BinaryPrimitives.ReadDoubleBigEndian(body),
        0 => 0,
        _ => throw new WebmException($"a float element has {body.Length} bytes"),
    };

    private static WebmException Truncated(int at) => new($"it is truncated (an element at byte {at} runs past the end of the data)");
}
