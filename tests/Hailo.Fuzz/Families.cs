using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Hailo.Media;
using Hailo.TestSupport;
using SkiaSharp;

namespace Hailo.Fuzz;

/// <summary>The JSON error shapes of the API families.</summary>
public enum ErrorShape
{
    /// <summary>The project's own routes: {"error":{"code","message","status"}}.</summary>
    Project,
    /// <summary>OpenAI routes: {"error":{"message","type","param","code"}}.</summary>
    OpenAi,
    /// <summary>Ollama's native routes: {"error":"..."}.</summary>
    Ollama,
    /// <summary>The predecessor's florence routes: {"error": code, "message", "status"}.</summary>
    Florence,
}

/// <summary>
/// One endpoint family: the service that serves it, how to give that service its test model, well-formed seed
/// requests and a generator of mutated ones.
/// </summary>
public abstract class Family
{
    public abstract string Name { get; }
    public abstract string Service { get; }

    /// <summary>Writes the model(s) into a fresh models directory; returns the directory to pass as --models-dir.</summary>
    public abstract string PrepareModels(string scratch);

    /// <summary>Service options beyond port, models directory, no search paths, no config file.</summary>
    public virtual string[] ExtraArgs => ["--device", "cpu", "--threads", "1"];

    /// <summary>Environment of the service process beyond the fuzzer's own (the fake NPU's shim, for a service that has only an NPU path).</summary>
    public virtual IDictionary<string, string?>? Environment => null;

    public abstract ErrorShape Shape(string path);

    /// <summary>Well-formed requests that must be answered 200 (the memory check sends these).</summary>
    public abstract IReadOnlyList<FuzzRequest> Seeds();

    /// <summary>A new mutated request.</summary>
    public abstract FuzzRequest Generate(Mutator m);

    /// <summary>A mutation of a corpus request (byte level, or JSON-aware for JSON bodies).</summary>
    public virtual FuzzRequest MutateCorpus(FuzzRequest r, Mutator m) => r with
    {
        Body = r.ContentType?.StartsWith("application/json", StringComparison.Ordinal) == true ? m.Json(r.Body) : m.Bytes(r.Body),
    };

    protected static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "text/plain", "image/png", "image/jpeg", "multipart/form-data", "audio/wav",
        "application/octet-stream", "application/x-www-form-urlencoded", "", "application/json; charset=latin1", "APPLICATION/JSON", "*/*", ";;;",
    ];

    /// <summary>Sometimes replaces the content type with another (or none).</summary>
    protected static string? MaybeContentType(Mutator m, string? contentType) =>
        m.Chance(0.07) ? (m.Chance(0.2) ? null : m.Pick(ContentTypes)) : contentType;

    public static IReadOnlyList<Family> All { get; } =
    [
        new ImageFamily("ocr", "hailo-ocr", "/v1/ocr/extract",
            [("languages", ["en", "en,ch", "chi_sim", "", "xx", "en,,", "auto"]), ("use_angle_cls", ["true", "false", "1", "yes"]),
             ("det_threshold", ["0.3", "0", "1", "-1", "2"]), ("box_threshold", ["0.6", "0", "1.5"]), ("rec_threshold", ["0.5", "0", "-3"])]),
        new ImageFamily("pose", "hailo-pose", "/v1/pose/detect",
            [("confidence_threshold", ["0.25", "0", "1", "1.1"]), ("iou_threshold", ["0.45", "0", "1"]), ("max_detections", ["1", "300", "0", "301"]),
             ("keypoint_threshold", ["0.5", "-1"]), ("skeleton", ["true", "false"]), ("format", ["json", "coco", "png", "jpeg", "gif"]),
             ("annotate", ["none", "png", "jpeg", "bmp"]), ("image_id", ["1", "-1", "99999999999"])]),
        new ImageFamily("depth", "hailo-depth", "/v1/depth/estimate",
            [("output_format", ["numpy", "image", "both", "depth_png_16", "npy", "tiff"]), ("normalize", ["true", "false"]),
             ("colormap", ["viridis", "plasma", "magma", "turbo", "jet", "gray"]), ("statistics", ["true", "false", "maybe"]),
             ("resolution", ["image", "model", "full", ""])]),
        new StereoFamily(),
        new ImageFamily("scrfd", "hailo-scrfd", "/v1/detect",
            [("conf_threshold", ["0.5", "0", "1", "1.1"]), ("nms_threshold", ["0.4", "0", "1"]), ("max_faces", ["1", "500", "0", "501"]),
             ("min_face_size", ["0", "40", "-1"]), ("return_landmarks", ["true", "false"]), ("annotate", ["true", "false", "maybe"]),
             ("format", ["json", "coco", "xml"]), ("image_id", ["1", "-1"])]),
        new ImageFamily("scrfd-align", "hailo-scrfd", "/v1/align",
            [("conf_threshold", ["0.5", "0", "1", "1.1"]), ("nms_threshold", ["0.4", "0", "1"]), ("max_faces", ["1", "500", "0", "501"]),
             ("min_face_size", ["0", "40", "-1"]), ("format", ["jpeg", "png", "gif"])]),
        new FaceFamily(),
        new WhisperFamily(),
        new OllamaFamily(),
        new PiperFamily(),
        new ClipFamily(),
        new FlorenceFamily(),
        new VisionFamily(),
    ];
}

/// <summary>hailo-ocr, hailo-pose, hailo-depth: one image route, as multipart, JSON base64 or raw body.</summary>
public sealed class ImageFamily(string name, string service, string path, (string Name, string[] Values)[] options) : Family
{
    public override string Name => name;
    public override string Service => service;
    public override ErrorShape Shape(string p) => ErrorShape.Project;

    public override string PrepareModels(string scratch)
    {
        switch (service)
        {
            case "hailo-ocr": return Repo.ModelsDir; // PaddleOCR from `make models` (HAILO_TEST_MODELS)
            case "hailo-pose": Hailo.Pose.Tests.PoseServiceFixture.WriteModel(scratch); return scratch;
            case "hailo-scrfd": Hailo.Scrfd.Tests.ScrfdServiceFixture.WriteModel(scratch); return scratch;
            default: Hailo.Depth.Tests.DepthServiceFixture.WriteModel(scratch); return scratch;
        }
    }

    private static readonly Lazy<(string Type, byte[] Bytes)[]> s_images = new(Images);

    /// <summary>Small images in every accepted format, one with dark bars (text-like, so OCR recognises), one huge-declared PNG.</summary>
    private static (string Type, byte[] Bytes)[] Images()
    {
        var list = new List<(string, byte[])>();
        using (var bars = Bars(320, 96)) { list.Add(("image/png", bars.Encode(ImageFormat.Png))); list.Add(("image/jpeg", bars.Encode(ImageFormat.Jpeg, 80))); }
        foreach (var (w, h) in new[] { (1, 1), (8, 8), (64, 48), (17, 700), (640, 360) })
        {
            using var img = RgbaImage.Filled(w, h, 90, 140, 200);
            list.Add(("image/png", img.Encode(ImageFormat.Png)));
            list.Add(("image/jpeg", img.Encode(ImageFormat.Jpeg, 70)));
        }
        using (var bmp = new SKBitmap(48, 32))
        {
            bmp.Erase(new SKColor(10, 200, 30));
            using var image = SKImage.FromBitmap(bmp);
            list.Add(("image/webp", image.Encode(SKEncodedImageFormat.Webp, 80).ToArray()));
        }
        list.Add(("image/bmp", Bmp(24, 16)));
        list.Add(("image/gif", Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")));
        using (var small = RgbaImage.Filled(8, 8, 1, 2, 3)) list.Add(("image/png", WithPngSize(small.Encode(ImageFormat.Png), 60000, 60000)));
        return [.. list];
    }

    private static RgbaImage Bars(int w, int h)
    {
        var px = new byte[w * h * 4];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var dark = y is > 30 and < 60 && x % 24 < 14 && x is > 20 and < 300;
                var i = (y * w + x) * 4;
                px[i] = px[i + 1] = px[i + 2] = dark ? (byte)20 : (byte)240;
                px[i + 3] = 255;
            }
        return RgbaImage.FromRgba(px, w, h);
    }

    private static byte[] Bmp(int w, int h)
    {
        var row = (w * 3 + 3) & ~3;
        var b = new byte[54 + row * h];
        b[0] = (byte)'B'; b[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(2), b.Length);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(28), 24);
        for (var i = 54; i < b.Length; i++) b[i] = (byte)(i * 7);
        return b;
    }

    /// <summary>A PNG whose IHDR declares another size (CRC fixed up): a decompression bomb's header on a tiny body.</summary>
    private static byte[] WithPngSize(byte[] png, int w, int h)
    {
        var b = (byte[])png.Clone();
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(16), w);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(20), h);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(29), Crc32.Compute(b.AsSpan(12, 17)));
        return b;
    }

    public override IReadOnlyList<FuzzRequest> Seeds()
    {
        var images = s_images.Value;
        var (type, bytes) = images[0];
        var (jtype, jpeg) = images[1];
        var (mp, body) = Multipart.Build([new Part("image", "a.png", type, bytes)]);
        return
        [
            new("POST", path, mp, body),
            new("POST", path, jtype, jpeg),
            new("POST", path, "application/json", Encoding.UTF8.GetBytes($"{{\"image\":\"{Convert.ToBase64String(bytes)}\"}}")),
            new("POST", path, "application/json", Encoding.UTF8.GetBytes($"{{\"image\":\"data:image/jpeg;base64,{Convert.ToBase64String(images[5].Bytes)}\"}}")),
            new("POST", path, images[10].Type, images[10].Bytes),
        ];
    }

    public override FuzzRequest Generate(Mutator m)
    {
        var images = s_images.Value;
        var (type, bytes) = m.Pick(images);
        if (m.Chance(0.5)) bytes = m.Bytes(bytes, 6, m.Pick(images).Bytes, protectHead: m.Chance(0.5) ? Math.Min(bytes.Length, 24 + m.Next(200)) : 0);
        var opts = new List<(string, string)>();
        foreach (var (n, values) in options)
            if (m.Chance(0.3)) opts.Add((n, m.Chance(0.8) ? m.Pick(values) : OddValue(m)));
        if (m.Chance(0.1)) opts.Add((m.Key(), OddValue(m)));
        FuzzRequest r;
        switch (m.Next(3))
        {
            case 0:
            {
                var parts = new List<Part> { new(m.Chance(0.9) ? "image" : m.Pick(["file", "img", "", "IMAGE"]), m.Chance(0.8) ? "x.png" : null, m.Chance(0.8) ? type : m.Pick(ContentTypes), bytes) };
                parts.AddRange(opts.Select(o => Part.Field(o.Item1, o.Item2)));
                if (m.Chance(0.1)) parts.Add(parts[0]);
                if (m.Chance(0.05)) parts.RemoveAt(0);
                var (ct, body) = Multipart.Build(parts, m);
                r = new("POST", path, ct, body);
                break;
            }
            case 1:
            {
                var b64 = Convert.ToBase64String(bytes);
                var image = m.Next(4) switch { 0 => "data:" + type + ";base64," + b64, 1 => "data:" + m.Pick(["", "text/plain", "image/png;charset=x"]) + ";base64," + b64, _ => b64 };
                var o = new System.Text.Json.Nodes.JsonObject { ["image"] = image };
                foreach (var (k, v) in opts) o[k] = double.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) && m.Chance(0.7) ? d : v is "true" or "false" && m.Chance(0.7) ? v == "true" : v;
                var json = Encoding.UTF8.GetBytes(o.ToJsonString());
                r = new("POST", path, "application/json", m.Chance(0.6) ? m.Json(json) : json);
                break;
            }
            default:
            {
                // Values stay short here: a request line past Kestrel's 8 KB is refused by the server before the service sees it.
                static string Short(string s) => s.Length > 500 ? s[..500] : s;
                var query = opts.Count == 0 ? "" : "?" + string.Join('&', opts.Select(o => Uri.EscapeDataString(Short(o.Item1)) + "=" + Uri.EscapeDataString(Short(o.Item2))));
                r = new("POST", path + query, type, bytes);
                break;
            }
        }
        if (m.Chance(0.1)) r = r with { Body = m.Bytes(r.Body, 4) };
        return r with { ContentType = MaybeContentType(m, r.ContentType) };
    }

    internal static string OddValue(Mutator m) => m.Next(3) switch
    {
        0 => m.Pick(Mutator.BoundaryNumbers),
        1 => m.Chance(0.2) ? m.HugeString() : m.Pick(["", "null", "NaN", "true ", "[1]", "{}", "\u0000", "é", "1,2", "0x10", "1e5"]),
        _ => ((char)(32 + m.Next(95))).ToString(),
    };
}

/// <summary>
/// hailo-depth's stereo route: a pair as multipart or JSON base64, mutated as a pair (one image missing or repeated, the
/// two of different sizes, one broken), with the matching and calibration options at good and odd values.
/// </summary>
public sealed class StereoFamily : Family
{
    private const string Route = "/v1/depth/stereo";
    public override string Name => "stereo";
    public override string Service => "hailo-depth";
    public override ErrorShape Shape(string p) => ErrorShape.Project;

    public override string PrepareModels(string scratch)
    {
        Hailo.Depth.Tests.DepthServiceFixture.WriteModel(scratch);
        return scratch;
    }

    private static readonly (string Name, string[] Values)[] Options =
    [
        ("num_disparities", ["16", "32", "1", "0", "512", "513", "-5"]), ("min_disparity", ["0", "-8", "8", "100", "-99999"]),
        ("half_resolution", ["true", "false", "1"]), ("focal_px", ["700", "0", "-1", "1e300"]), ("baseline_m", ["0.06", "0", "-0.1"]),
        ("output_format", ["numpy", "image", "both", "depth_png_16", "npy", "tiff"]), ("normalize", ["true", "false"]),
        ("colormap", ["viridis", "turbo", "rainbow"]), ("statistics", ["true", "false", "maybe"]),
    ];

    private static readonly Lazy<(byte[] Left, byte[] Right)[]> s_pairs = new(() =>
        [Pair(64, 32, 5), Pair(48, 40, 3), Pair(8, 8, 1), Pair(200, 8, 7)]);

    /// <summary>A textured pair whose right image is the left shifted by <paramref name="shift"/> pixels (PNG).</summary>
    private static (byte[] Left, byte[] Right) Pair(int w, int h, int shift)
    {
        var random = new Random(w * 31 + h);
        var grey = new byte[w * h];
        random.NextBytes(grey);
        byte[] Encode(Func<int, int, byte> at)
        {
            var px = new byte[w * h * 4];
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var i = (y * w + x) * 4;
                    px[i] = px[i + 1] = px[i + 2] = at(x, y);
                    px[i + 3] = 255;
                }
            using var img = RgbaImage.FromRgba(px, w, h);
            return img.Encode(ImageFormat.Png);
        }
        return (Encode((x, y) => grey[y * w + x]), Encode((x, y) => grey[y * w + Math.Min(w - 1, x + shift)]));
    }

    public override IReadOnlyList<FuzzRequest> Seeds()
    {
        var (l, r) = s_pairs.Value[0];
        var (mp, body) = Multipart.Build([new Part("image_left", "l.png", "image/png", l), new Part("image_right", "r.png", "image/png", r), Part.Field("num_disparities", "16")]);
        return
        [
            new("POST", Route, mp, body),
            new("POST", Route, "application/json", Encoding.UTF8.GetBytes(
                $"{{\"image_left\":\"{Convert.ToBase64String(l)}\",\"image_right\":\"{Convert.ToBase64String(r)}\",\"num_disparities\":16,\"half_resolution\":true}}")),
        ];
    }

    public override FuzzRequest Generate(Mutator m)
    {
        var pairs = s_pairs.Value;
        var (left, right) = m.Pick(pairs);
        // Sometimes the right image of another pair (sizes differ) or a broken one.
        if (m.Chance(0.15)) right = m.Pick(pairs).Right;
        if (m.Chance(0.3)) left = m.Bytes(left, 6, right, protectHead: m.Chance(0.5) ? Math.Min(left.Length, 24 + m.Next(200)) : 0);
        if (m.Chance(0.2)) right = m.Bytes(right, 6);
        var opts = new List<(string, string)>();
        foreach (var (n, values) in Options)
            if (m.Chance(0.3)) opts.Add((n, m.Chance(0.8) ? m.Pick(values) : ImageFamily.OddValue(m)));
        if (m.Chance(0.1)) opts.Add((m.Key(), ImageFamily.OddValue(m)));
        FuzzRequest r;
        if (m.Chance(0.5))
        {
            var parts = new List<Part>();
            if (!m.Chance(0.07)) parts.Add(new(m.Chance(0.9) ? "image_left" : m.Pick(["image", "left", ""]), "l.png", "image/png", left));
            if (!m.Chance(0.07)) parts.Add(new(m.Chance(0.9) ? "image_right" : m.Pick(["image", "right", "IMAGE_RIGHT"]), "r.png", "image/png", right));
            if (m.Chance(0.05) && parts.Count > 0) parts.Add(parts[0]);
            parts.AddRange(opts.Select(o => Part.Field(o.Item1, o.Item2)));
            var (ct, body) = Multipart.Build(parts, m);
            r = new("POST", Route, ct, body);
        }
        else
        {
            var o = new System.Text.Json.Nodes.JsonObject();
            if (!m.Chance(0.07)) o["image_left"] = Convert.ToBase64String(left);
            if (!m.Chance(0.07)) o["image_right"] = m.Chance(0.8) ? Convert.ToBase64String(right) : "data:image/png;base64," + Convert.ToBase64String(right);
            foreach (var (k, v) in opts) o[k] = double.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) && m.Chance(0.7) ? d : v is "true" or "false" && m.Chance(0.7) ? v == "true" : v;
            var json = Encoding.UTF8.GetBytes(o.ToJsonString());
            r = new("POST", Route, "application/json", m.Chance(0.6) ? m.Json(json) : json);
        }
        if (m.Chance(0.1)) r = r with { Body = m.Bytes(r.Body, 4) };
        return r with { ContentType = MaybeContentType(m, r.ContentType) };
    }
}

/// <summary>hailo-whisper: multipart audio to the OpenAI routes and whisper.cpp's /inference; Wyoming frames on its TCP port.</summary>
public sealed class WhisperFamily : Family
{
    public override string Name => "whisper";
    public override string Service => "hailo-whisper";
    public override string[] ExtraArgs => [.. base.ExtraArgs, "--wyoming.enabled", "true", "--wyoming.port", "0", "--wyoming.host", "127.0.0.1"];
    public override ErrorShape Shape(string p) => ErrorShape.OpenAi;

    public override string PrepareModels(string scratch)
    {
        Hailo.Whisper.Tests.WhisperTestModels.WriteTiny(scratch);
        return scratch;
    }

    private static readonly string[] Paths = ["/v1/audio/transcriptions", "/v1/audio/translations", "/inference"];

    private static readonly (string Name, string[] Values)[] Fields =
    [
        ("model", ["whisper-1", "whisper-base", "", "gpt-4"]), ("language", ["en", "de", "xx", "", "english", "zh"]), ("prompt", ["Names: Ada.", ""]),
        ("response_format", ["json", "text", "srt", "verbose_json", "vtt", "xml"]), ("temperature", ["0", "0.2", "1", "-1", "2", "nan"]),
        ("timestamp_granularities[]", ["word", "segment", "char"]), ("translate", ["true", "false"]),
    ];

    private static readonly Lazy<(string Name, byte[] Bytes)[]> s_audio = new(() =>
    [
        ("tone.wav", Wav(16000, 1, 16, 1.0)), ("short.wav", Wav(16000, 1, 16, 0.05)), ("stereo8.wav", Wav(8000, 2, 8, 0.5)),
        ("float.wav", Wav(44100, 1, 32, 0.3, floatingPoint: true)), ("empty.wav", Wav(16000, 1, 16, 0)), ("x.mp3", [0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0]),
        ("x.ogg", Encoding.ASCII.GetBytes("OggS\0\u0002\0\0\0\0\0\0\0\0")), ("x.flac", Encoding.ASCII.GetBytes("fLaC\0\0\0\u0022")),
    ]);

    /// <summary>A sine of 440 Hz as a RIFF WAVE file (PCM or IEEE float).</summary>
    public static byte[] Wav(int rate, int channels, int bits, double seconds, bool floatingPoint = false)
    {
        var frames = (int)(rate * seconds);
        var bytesPerSample = bits / 8;
        var data = new byte[frames * channels * bytesPerSample];
        for (var i = 0; i < frames; i++)
        {
            var v = 0.5 * Math.Sin(2 * Math.PI * 440 * i / rate);
            for (var c = 0; c < channels; c++)
            {
                var o = (i * channels + c) * bytesPerSample;
                if (floatingPoint) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(o), (float)v);
                else if (bits == 8) data[o] = (byte)(128 + v * 127);
                else BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(o), (short)(v * 32767));
            }
        }
        var b = new byte[44 + data.Length];
        Encoding.ASCII.GetBytes("RIFF").CopyTo(b, 0);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), 36 + data.Length);
        Encoding.ASCII.GetBytes("WAVEfmt ").CopyTo(b, 8);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(20), (short)(floatingPoint ? 3 : 1));
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(22), (short)channels);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24), rate);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(28), rate * channels * bytesPerSample);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(32), (short)(channels * bytesPerSample));
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(34), (short)bits);
        Encoding.ASCII.GetBytes("data").CopyTo(b, 36);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(40), data.Length);
        data.CopyTo(b, 44);
        return b;
    }

    public override IReadOnlyList<FuzzRequest> Seeds()
    {
        var tone = s_audio.Value[0].Bytes;
        FuzzRequest Form(string p, params Part[] extra)
        {
            var (ct, body) = Multipart.Build([new Part("file", "tone.wav", "audio/wav", tone), .. extra]);
            return new("POST", p, ct, body);
        }
        return
        [
            Form("/v1/audio/transcriptions", Part.Field("model", "whisper-1"), Part.Field("language", "en")),
            Form("/v1/audio/transcriptions", Part.Field("response_format", "verbose_json"), Part.Field("timestamp_granularities[]", "word")),
            Form("/v1/audio/translations", Part.Field("response_format", "srt")),
            Form("/inference", Part.Field("response_format", "text")),
            Wyoming(WyomingSession(s_audio.Value[0].Bytes[44..], "en")),
        ];
    }

    public override FuzzRequest Generate(Mutator m)
    {
        if (m.Chance(0.3)) return Wyoming(MutateWyoming(m));
        var (file, bytes) = m.Pick(s_audio.Value);
        if (m.Chance(0.6)) bytes = m.Bytes(bytes, 6, m.Pick(s_audio.Value).Bytes, protectHead: m.Chance(0.5) ? Math.Min(bytes.Length, 12 + m.Next(40)) : 0);
        var parts = new List<Part> { new(m.Chance(0.9) ? "file" : m.Pick(["audio", "", "FILE"]), m.Chance(0.9) ? file : m.Pick([null, "", "../x", "a\"b.wav"]), m.Chance(0.8) ? "audio/wav" : m.Pick(ContentTypes), bytes) };
        foreach (var (n, values) in Fields)
            if (m.Chance(0.3)) parts.Add(Part.Field(n, m.Chance(0.8) ? m.Pick(values) : ImageFamily.OddValue(m)));
        if (m.Chance(0.1)) parts.Add(Part.Field(m.Key(), ImageFamily.OddValue(m)));
        if (m.Chance(0.08)) parts.Add(parts[0]);
        if (m.Chance(0.05)) parts.RemoveAt(0);
        var (ct, body) = Multipart.Build(parts, m);
        if (m.Chance(0.08)) body = m.Bytes(body, 4);
        return new FuzzRequest("POST", m.Pick(Paths), MaybeContentType(m, ct), body);
    }

    public override FuzzRequest MutateCorpus(FuzzRequest r, Mutator m) =>
        r.Wyoming ? FuzzRequest.ForWyoming(m.Bytes(r.Body, 6)) : r with { Body = m.Bytes(r.Body) };

    private static FuzzRequest Wyoming(byte[] bytes) => FuzzRequest.ForWyoming(bytes);

    /// <summary>A Wyoming event: header line, then data and payload blocks.</summary>
    public static byte[] Event(string type, string? dataJson, byte[]? payload, string? headerOverride = null)
    {
        var data = dataJson is null ? [] : Encoding.UTF8.GetBytes(dataJson);
        var header = headerOverride ?? $"{{\"type\":\"{type}\",\"version\":\"1.5.3\",\"data_length\":{data.Length},\"payload_length\":{payload?.Length ?? 0}}}";
        return [.. Encoding.UTF8.GetBytes(header + "\n"), .. data, .. payload ?? []];
    }

    public static byte[] WyomingSession(byte[] pcm, string language) =>
    [
        .. Event("transcribe", $"{{\"language\":\"{language}\"}}", null),
        .. Event("audio-start", "{\"rate\":16000,\"width\":2,\"channels\":1}", null),
        .. Event("audio-chunk", "{\"rate\":16000,\"width\":2,\"channels\":1}", pcm),
        .. Event("audio-stop", "{}", null),
    ];

    private static byte[] MutateWyoming(Mutator m)
    {
        var pcm = s_audio.Value[1].Bytes[44..];
        var events = new List<(string Type, string? Data, byte[]? Payload)>
        {
            ("describe", null, null), ("transcribe", "{\"language\":\"en\"}", null), ("audio-start", "{\"rate\":16000,\"width\":2,\"channels\":1}", null),
            ("audio-chunk", "{\"rate\":16000,\"width\":2,\"channels\":1}", pcm), ("audio-stop", "{}", null),
        };
        if (m.Chance(0.3)) events.RemoveAt(m.Next(events.Count));
        if (m.Chance(0.3)) { var i = m.Next(events.Count); events.Insert(m.Next(events.Count + 1), events[i]); }
        var stream = new List<byte>();
        foreach (var (type, data, payload) in events)
        {
            if (!m.Chance(0.3)) { stream.AddRange(Event(type, data, payload)); continue; }
            switch (m.Next(5))
            {
                case 0:
                    var dataBytes = data is null ? "{}" : Encoding.UTF8.GetString(m.Json(Encoding.UTF8.GetBytes(data)));
                    stream.AddRange(Event(type, dataBytes, payload));
                    break;
                case 1:
                    var header = Encoding.UTF8.GetString(m.Json(Encoding.UTF8.GetBytes($"{{\"type\":\"{type}\",\"data\":{data ?? "{}"},\"payload_length\":{payload?.Length ?? 0}}}")));
                    stream.AddRange(Event(type, null, payload, header.Replace('\n', ' ')));
                    break;
                case 2:
                    stream.AddRange(Event(type, data, payload, $"{{\"type\":\"{type}\",\"data_length\":{m.Pick(Mutator.BoundaryNumbers)},\"payload_length\":{m.Pick(Mutator.BoundaryNumbers)}}}"));
                    break;
                case 3:
                    stream.AddRange(Event(type, data, payload is null ? null : m.Bytes(payload, 4)));
                    break;
                default:
                    stream.AddRange(Encoding.UTF8.GetBytes(m.Chance(0.5) ? new string('x', 70_000) : "{\"type\":" + new string('[', 3000)));
                    break;
            }
        }
        var bytes = stream.ToArray();
        return m.Chance(0.2) ? m.Bytes(bytes, 4) : bytes;
    }
}

/// <summary>hailo-ollama: Ollama's native JSON API and OpenAI's chat completions, on a generated stand-in GGUF.</summary>
public sealed class OllamaFamily : Family
{
    public const string Model = "qwen2.5:0.5b";
    public const string Bare = "bare:tiny";
    public override string Name => "ollama";
    public override string Service => "hailo-ollama";

    // A small context bounds every generation, however large num_predict gets.
    public override string[] ExtraArgs => [.. base.ExtraArgs, "--ollama.num_ctx", "256", "--ollama.max_num_ctx", "1024"];

    public override ErrorShape Shape(string p) => p.StartsWith("/v1/", StringComparison.Ordinal) ? ErrorShape.OpenAi : ErrorShape.Ollama;

    public override string PrepareModels(string scratch)
    {
        var dir = Path.Combine(scratch, Model);
        Directory.CreateDirectory(dir);
        GgufWriter.Write(Path.Combine(dir, "qwen2.5-0.5b-instruct-q4_k_m.gguf"), new GgufWriter.Spec("qwen2", Seed: 1));
        // A second model whose GGUF carries no chat template (a base model), recorded the way pulled models are.
        // (Not an empty one: LLamaSharp cannot load a GGUF with an empty string value at all, a failure of the file,
        // not of a request.)
        Directory.CreateDirectory(Path.Combine(scratch, Bare));
        GgufWriter.Write(Path.Combine(scratch, Bare, "bare.gguf"), new GgufWriter.Spec("qwen2", Seed: 2, NoChatTemplate: true));
        Directory.CreateDirectory(Path.Combine(scratch, "manifests"));
        File.WriteAllText(Path.Combine(scratch, "manifests", Bare.Replace(':', '@') + ".json"),
            $$"""{"name":"{{Bare}}","backend":"cpu","path":"{{Bare}}/bare.gguf","modified_at":"2026-01-01T00:00:00Z","family":"fuzz","stored":false}""");
        return scratch;
    }

    private static FuzzRequest Json(string path, string json) => new("POST", path, "application/json", Encoding.UTF8.GetBytes(json));

    private static readonly Lazy<FuzzRequest[]> s_seeds = new(() =>
    [
        Json("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"Hello","stream":false,"options":{"num_predict":4,"temperature":0.5,"seed":3}}"""),
        Json("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"Why?","system":"Be brief.","stream":true,"format":"json","keep_alive":"5m","options":{"num_predict":3,"top_k":20,"stop":["\n"]}}"""),
        Json("/api/generate", """{"model":"qwen2.5:0.5b","prompt":"Hi","raw":true,"stream":false,"options":{"num_predict":2}}"""),
        Json("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":4}}"""),
        Json("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"weather?"}],"stream":true,"tools":[{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"options":{"num_predict":3}}"""),
        Json("/api/chat", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"json"}],"stream":false,"format":{"type":"object","properties":{"a":{"type":"integer"}}},"options":{"num_predict":4}}"""),
        Json("/api/create", """{"model":"fuzz-a","from":"qwen2.5:0.5b","system":"You are terse.","template":"{{ if .System }}{{ .System }}{{ end }}{{ .Prompt }}","parameters":{"temperature":0.2,"num_predict":3}}"""),
        Json("/api/show", """{"model":"qwen2.5:0.5b"}"""),
        Json("/api/generate", """{"model":"bare:tiny","prompt":"Hello","stream":false,"options":{"num_predict":3}}"""),
        Json("/api/show", """{"name":"qwen2.5:0.5b","verbose":true}"""),
        Json("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[{"role":"user","content":"hi"}],"max_tokens":4}"""),
        Json("/v1/chat/completions", """{"model":"qwen2.5:0.5b","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":3,"stream":true,"response_format":{"type":"json_object"},"temperature":0.7,"seed":1}"""),
    ]);

    public override IReadOnlyList<FuzzRequest> Seeds() => s_seeds.Value;

    private static readonly string[] Paths = ["/api/generate", "/api/chat", "/api/create", "/api/show", "/v1/chat/completions"];

    public override FuzzRequest Generate(Mutator m)
    {
        var seed = m.Pick(s_seeds.Value);
        var path = m.Chance(0.05) ? m.Pick(Paths) : seed.Path;
        var body = m.Json(seed.Body);
        if (m.Chance(0.05)) body = m.Bytes(body, 6, m.Pick(s_seeds.Value).Body);
        return new FuzzRequest("POST", path, MaybeContentType(m, "application/json"), body);
    }
}

/// <summary>
/// hailo-piper: OpenAI's /v1/audio/speech and the earlier /v1/synthesize as JSON, Wyoming synthesize events on its TCP
/// port. The default voice (espeak-ng) is built in, so the models directory stays empty.
/// </summary>
public sealed class PiperFamily : Family
{
    public override string Name => "piper";
    public override string Service => "hailo-piper";
    public override string[] ExtraArgs => [.. base.ExtraArgs, "--wyoming.enabled", "true", "--wyoming.port", "0", "--wyoming.host", "127.0.0.1"];
    public override ErrorShape Shape(string p) => ErrorShape.OpenAi;
    public override string PrepareModels(string scratch) => scratch;

    private static FuzzRequest Json(string path, string json) => new("POST", path, "application/json", Encoding.UTF8.GetBytes(json));

    private static readonly Lazy<FuzzRequest[]> s_seeds = new(() =>
    [
        Json("/v1/audio/speech", """{"model":"tts-1","input":"Hello there. How are you?","voice":"alloy","response_format":"wav"}"""),
        Json("/v1/audio/speech", """{"model":"tts-1-hd","input":"Streaming speech.","voice":"nova","response_format":"pcm","speed":1.5,"stream_format":"sse"}"""),
        Json("/v1/audio/speech", """{"model":"piper","input":"An object voice.","voice":{"id":"espeak:en-us"},"response_format":"pcm","speed":0.5,"instructions":"calm"}"""),
        Json("/v1/synthesize", """{"text":"The earlier route.","voice":"espeak:en-us","length_scale":1.2,"noise_scale":0.667,"noise_w":0.8,"sentence_silence":0.1}"""),
        Json("/v1/synthesize", """{"text":"Just text."}"""),
        Wyoming([.. WhisperFamily.Event("describe", null, null), .. WhisperFamily.Event("synthesize", """{"text":"Hello.","voice":{"name":"espeak:en-us"}}""", null)]),
        Wyoming([.. WhisperFamily.Event("synthesize-start", """{"voice":{"name":"espeak:en-us"}}""", null),
            .. WhisperFamily.Event("synthesize-chunk", """{"text":"One. Tw"}""", null), .. WhisperFamily.Event("synthesize-chunk", """{"text":"o."}""", null),
            .. WhisperFamily.Event("synthesize", """{"text":"One. Two."}""", null), .. WhisperFamily.Event("synthesize-stop", null, null)]),
    ]);

    public override IReadOnlyList<FuzzRequest> Seeds() => s_seeds.Value;

    private static readonly string[] Paths = ["/v1/audio/speech", "/v1/synthesize"];

    private static readonly (string Name, string[] Values)[] Fields =
    [
        ("model", ["tts-1", "tts-1-hd", "piper", "espeak:en-us", "gpt-4o-mini-tts", "", "en_US-lessac-medium"]),
        ("voice", ["alloy", "nova", "espeak:en-us", "espeak:de", "espeak:../../x", "nobody", "", "en_US-amy-low"]),
        ("response_format", ["wav", "pcm", "mp3", "opus", "aac", "flac", "ogg", ""]), ("speed", ["1", "0.25", "4", "0", "100", "-1", "1e308"]),
        ("stream_format", ["audio", "sse", "ws"]), ("input", ["Hi.", "", " ", "a\u0000b", "\ud800", "Dr. Who? Yes! No.", "\n\n\n"]),
    ];

    public override FuzzRequest Generate(Mutator m)
    {
        if (m.Chance(0.25)) return Wyoming(MutateWyoming(m));
        var seed = m.Pick(s_seeds.Value.Where(s => !s.Wyoming).ToArray());
        var body = m.Json(seed.Body);
        if (seed.Path == "/v1/audio/speech" && m.Chance(0.4))
        {
            var fields = Fields.Where(_ => m.Chance(0.5)).Select(f => $"\"{f.Name}\":{(f.Name == "speed" ? m.Pick(f.Values) : "\"" + m.Pick(f.Values) + "\"")}");
            body = Encoding.UTF8.GetBytes("{" + string.Join(",", fields) + "}");
        }
        if (m.Chance(0.05)) body = m.Bytes(body, 6, m.Pick(s_seeds.Value).Body);
        return new FuzzRequest("POST", m.Chance(0.05) ? m.Pick(Paths) : seed.Path, MaybeContentType(m, "application/json"), body);
    }

    public override FuzzRequest MutateCorpus(FuzzRequest r, Mutator m) =>
        r.Wyoming ? FuzzRequest.ForWyoming(m.Bytes(r.Body, 6)) : base.MutateCorpus(r, m);

    private static FuzzRequest Wyoming(byte[] bytes) => FuzzRequest.ForWyoming(bytes);

    private static byte[] MutateWyoming(Mutator m)
    {
        var events = new List<(string Type, string? Data)>
        {
            ("describe", null), ("synthesize", """{"text":"Hi.","voice":{"name":"espeak:en-us","speaker":"x"}}"""), ("synthesize-start", """{"voice":{"name":"alloy"}}"""),
            ("synthesize-chunk", """{"text":"One. "}"""), ("synthesize-chunk", """{"text":"Two"}"""), ("synthesize-stop", null),
        };
        if (m.Chance(0.3)) events.RemoveAt(m.Next(events.Count));
        if (m.Chance(0.3)) { var i = m.Next(events.Count); events.Insert(m.Next(events.Count + 1), events[i]); }
        var stream = new List<byte>();
        foreach (var (type, data) in events)
            stream.AddRange(m.Chance(0.3)
                ? WhisperFamily.Event(type, Encoding.UTF8.GetString(m.Json(Encoding.UTF8.GetBytes(data ?? "{}"))), null)
                : WhisperFamily.Event(type, data, null));
        var bytes = stream.ToArray();
        return m.Chance(0.2) ? m.Bytes(bytes, 4) : bytes;
    }
}

/// <summary>CRC-32 (IEEE) for PNG chunks.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
