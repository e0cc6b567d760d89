using System.Numerics;
using Hailo.Media;
using Hailo.Runtime.Npu;
using HailoOcr.Pipeline;
using Xunit;
using static Hailo.Ocr.Tests.Npu.FakeOcrTensors;

namespace Hailo.Ocr.Tests.Npu;

/// <summary>
/// The NPU adapters against fake "HEFs" with the real I/O shapes and realistic quantisation, whose canned outputs
/// encode known content. They prove the adapter side: stream discovery, input layout (NHWC RGB, letterbox, padding),
/// de-quantisation with the stream's scale/zero point, output layout, the map-to-image mapping and CTC decoding.
/// They do not prove anything about a real HEF's accuracy (the fake ignores its input): that needs a Pi 5 with
/// the Hailo-10H and the hailo-apps ocr_det/ocr HEFs.
/// </summary>
[Collection("fake-shim")]
public sealed class NpuOcrAdapterTests : IDisposable
{
    private readonly VDevice _vd;

    public NpuOcrAdapterTests()
    {
        _ = NpuTestShim.Runtime;
        _vd = VDevice.Open();
    }

    public void Dispose() => _vd.Dispose();

    // ------------------------------------------------------------------ detection

    private static float UnclipDistance(float w, float h) => w * h * new DbOptions().UnclipRatio / (2 * (w + h));

    /// <summary>Runs the detector and maps every box back exactly as OcrPipeline does: (corner − Offset) · Scale.</summary>
    private static List<Vector2[]> DetectInImage(NpuTextDetector detector, RgbaImage image, out ProbabilityMap map)
    {
        map = detector.Run(image, OcrStages.NewTimer());
        var m = map;
        return DbPostProcess.Detect(m.Data, m.Width, m.Height, new DbOptions())
            .Select(b => b.Corners.Select(c => new Vector2((c.X - m.OffsetX) * m.ScaleX, (c.Y - m.OffsetY) * m.ScaleY)).ToArray())
            .ToList();
    }

    private static void AssertBox(Vector2[] corners, float left, float top, float right, float bottom, float tolerance = 1.5f)
    {
        Vector2[] expected = [new(left, top), new(right, top), new(right, bottom), new(left, bottom)];
        for (var i = 0; i < 4; i++)
            Assert.True(Vector2.Distance(expected[i], corners[i]) <= tolerance,
                $"corner {i}: expected {expected[i]}, got {corners[i]} (box {string.Join(" ", corners)})");
    }

    [Fact]
    public void FakeDetHef_TwoRectangles_LandAtKnownPixelsOfALandscapeImage_ProvesIoQuantAndLetterboxMapping_NotHefAccuracy()
    {
        // 1920×1000 into 960×544 (W×H): scale 0.5, the image fills 960×500 at the top left, rows 500..543 are padding.
        // Map rectangles [100,400)×[50,90) and [500,900)×[300,340) are original [200,800)×[100,180) and [1000,1800)×[600,680).
        var hef = NpuTestShim.Model("ocr_det.json", "ocr_det_map.bin", DetMapU8(960, 544, (100, 50, 400, 90), (500, 300, 900, 340)));
        using var detector = new NpuTextDetector(VisionModel.Load(_vd, hef));
        Assert.Equal((960, 544), detector.InputSize); // read from the io info: H=544, W=960
        using var image = RgbaImage.Filled(1920, 1000, 255, 255, 255);

        var boxes = DetectInImage(detector, image, out var map);
        Assert.Equal((960, 544), (map.Width, map.Height));
        Assert.Equal((2f, 2f, 0f, 0f), (map.ScaleX, map.ScaleY, map.OffsetX, map.OffsetY));
        Assert.Equal(5 * 0.003921569f, map.Data[0], 1e-6f); // de-quantised with the stream's scale
        Assert.Equal(230 * 0.003921569f, map.Data[60 * 960 + 200], 1e-6f);
        Assert.Equal(2, boxes.Count);
        float d1 = 2 * UnclipDistance(300, 40), d2 = 2 * UnclipDistance(400, 40); // unclip grows each box, ×2 in the image
        AssertBox(boxes[0], 200 - d1, 100 - d1, 800 + d1, 180 + d1);
        AssertBox(boxes[1], 1000 - d2, 600 - d2, 1800 + d2, 680 + d2);
    }

    [Fact]
    public void FakeDetHef_CentredLetterbox_MapsTheSameImageRectanglesBack_ProvesOffsetHandling_NotHefAccuracy()
    {
        // Centred: the 960×500 content sits at rows 22..521, so the same image rectangles are 22 map rows lower.
        var hef = NpuTestShim.Model("ocr_det.json", "ocr_det_map.bin", DetMapU8(960, 544, (100, 72, 400, 112), (500, 322, 900, 362)));
        using var detector = new NpuTextDetector(VisionModel.Load(_vd, hef), centre: true);
        using var image = RgbaImage.Filled(1920, 1000, 255, 255, 255);
        var boxes = DetectInImage(detector, image, out var map);
        Assert.Equal((2f, 2f, 0f, 22f), (map.ScaleX, map.ScaleY, map.OffsetX, map.OffsetY));
        Assert.Equal(2, boxes.Count);
        float d1 = 2 * UnclipDistance(300, 40), d2 = 2 * UnclipDistance(400, 40);
        AssertBox(boxes[0], 200 - d1, 100 - d1, 800 + d1, 180 + d1);
        AssertBox(boxes[1], 1000 - d2, 600 - d2, 1800 + d2, 680 + d2);
    }

    [Fact]
    public void FakeDetHef_PortraitImage_IsPaddedOnTheRight_AndMapsBack_NotHefAccuracy()
    {
        // 272×1088 into 960×544: scale 0.5, the image fills 136×544 at the left. Map [30,120)×[100,130) and
        // [30,110)×[400,440) are original [60,240)×[200,260) and [60,220)×[800,880).
        var hef = NpuTestShim.Model("ocr_det.json", "ocr_det_map.bin", DetMapU8(960, 544, (30, 100, 120, 130), (30, 400, 110, 440)));
        using var detector = new NpuTextDetector(VisionModel.Load(_vd, hef));
        using var image = RgbaImage.Filled(272, 1088, 255, 255, 255);
        var boxes = DetectInImage(detector, image, out var map);
        Assert.Equal((2f, 2f), (map.ScaleX, map.ScaleY));
        Assert.Equal(2, boxes.Count);
        float d1 = 2 * UnclipDistance(90, 30), d2 = 2 * UnclipDistance(80, 40);
        AssertBox(boxes[0], 60 - d1, 200 - d1, 240 + d1, 260 + d1);
        AssertBox(boxes[1], 60 - d2, 800 - d2, 220 + d2, 880 + d2);
    }

    [Fact]
    public void FakeDetHef_NonIntegerScale_UsesTheResizedSizeForEachAxis_NotHefAccuracy()
    {
        // 1000×700 into 960×544: scale min(0.96, 0.7771) → the image is resized to 777×544 (rounded), so the exact
        // way back is ×1000/777 horizontally and ×700/544 vertically. Map [100,400)×[50,90).
        var hef = NpuTestShim.Model("ocr_det.json", "ocr_det_map.bin", DetMapU8(960, 544, (100, 50, 400, 90)));
        using var detector = new NpuTextDetector(VisionModel.Load(_vd, hef));
        using var image = RgbaImage.Filled(1000, 700, 255, 255, 255);
        var boxes = DetectInImage(detector, image, out var map);
        Assert.Equal(1000f / 777, map.ScaleX, 1e-5f);
        Assert.Equal(700f / 544, map.ScaleY, 1e-5f);
        var d = UnclipDistance(300, 40);
        AssertBox(Assert.Single(boxes), (100 - d) * 1000f / 777, (50 - d) * 700f / 544, (400 + d) * 1000f / 777, (90 + d) * 700f / 544);
    }

    [Fact]
    public void FakeDetHef_PortraitInputAnd16BitMap_SizesAndQuantComeFromTheIoInfo_NotHefAccuracy()
    {
        // A HEF whose input is 960 high × 544 wide and whose map is uint16 with a zero point: a landscape 1088×544
        // image fits at scale 0.5 into 544×272. Map [50,250)×[100,140) is original [100,500)×[200,280).
        var map16 = new ushort[544 * 960];
        Array.Fill(map16, (ushort)2250); // (2250 − 1000) · 1.6e-5 = 0.02
        for (var y = 100; y < 140; y++) map16.AsSpan(y * 544 + 50, 200).Fill(57250); // 0.9
        var hef = NpuTestShim.Model("ocr_det_portrait_u16.json", "ocr_det_map.bin", System.Runtime.InteropServices.MemoryMarshal.AsBytes(map16.AsSpan()).ToArray());
        using var detector = new NpuTextDetector(VisionModel.Load(_vd, hef));
        Assert.Equal((544, 960), detector.InputSize);
        using var image = RgbaImage.Filled(1088, 544, 255, 255, 255);
        var boxes = DetectInImage(detector, image, out var map);
        Assert.Equal((544, 960), (map.Width, map.Height));
        Assert.Equal(0.02f, map.Data[0], 1e-6f);
        Assert.Equal(0.9f, map.Data[120 * 544 + 60], 1e-6f);
        var d = 2 * UnclipDistance(200, 40);
        AssertBox(Assert.Single(boxes), 100 - d, 200 - d, 500 + d, 280 + d);
    }

    [Fact]
    public void Letterbox_WritesRgbNhwcTopLeft_AndPadsWithTheMeanColour_InputLayoutOnly()
    {
        // 4×2 image: left half red, right half blue (R, G, B = 200,10,20 / 30,40,250), fitted into 8 wide × 6 high.
        var rgba = new byte[4 * 2 * 4];
        for (var y = 0; y < 2; y++)
        for (var x = 0; x < 4; x++)
        {
            var i = (y * 4 + x) * 4;
            (rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]) = x < 2 ? ((byte)200, (byte)10, (byte)20, (byte)255) : ((byte)30, (byte)40, (byte)250, (byte)255);
        }
        using var image = RgbaImage.FromRgba(rgba, 4, 2);
        var hwc = new byte[6 * 8 * 3];
        var fit = NpuTextDetector.Letterbox(image, hwc, 8, 6, centre: false);
        Assert.Equal((8, 4, 0f, 0f), (fit.ScaledWidth, fit.ScaledHeight, fit.PadX, fit.PadY)); // scale 2
        byte[] Px(int x, int y) => hwc.AsSpan((y * 8 + x) * 3, 3).ToArray();
        Assert.Equal([200, 10, 20], Px(0, 0)); // R, G, B in that order, row-major, 3 bytes per pixel
        Assert.Equal([30, 40, 250], Px(7, 3));
        var pad = NpuTextDetector.PadColour;
        Assert.Equal([pad.R, pad.G, pad.B], Px(0, 4)); // rows below the image
        Assert.Equal([pad.R, pad.G, pad.B], Px(7, 5));

        var centred = new byte[6 * 8 * 3];
        var fc = NpuTextDetector.Letterbox(image, centred, 8, 6, centre: true);
        Assert.Equal(1f, fc.PadY);
        Assert.Equal([pad.R, pad.G, pad.B], centred.AsSpan(0, 3).ToArray());
        Assert.Equal([200, 10, 20], centred.AsSpan((1 * 8 + 0) * 3, 3).ToArray());
    }

    [Fact]
    public void Detector_RejectsAHefWithoutAProbabilityMap()
    {
        var rec = NpuTestShim.Model("ocr_rec.json", "ocr_rec_out.bin", new byte[40 * 97]);
        var model = VisionModel.Load(_vd, rec);
        var e = Assert.Throws<InvalidDataException>(() => new NpuTextDetector(model));
        Assert.Contains("1-channel probability map", e.Message);
        model.Dispose();
    }

    // ------------------------------------------------------------------ recognition

    private static RgbaImage Line(int width, int height) => RgbaImage.Filled(width, height, 20, 20, 20);

    [Fact]
    public void Charset_Has96EntriesPlusTheBlank_InTheHailoAppsOrder()
    {
        Assert.Equal(96, NpuTextRecognizer.Charset.Length);
        Assert.Equal(97, NpuTextRecognizer.CreateDecoder().ClassCount);
        Assert.StartsWith("0123456789:;<=>?@ABC", NpuTextRecognizer.Charset);
        Assert.Equal(17, NpuTextRecognizer.Charset.IndexOf('A'));
        Assert.Equal(43, NpuTextRecognizer.Charset.IndexOf('['));
        Assert.Equal(49, NpuTextRecognizer.Charset.IndexOf('a'));
        Assert.Equal(79, NpuTextRecognizer.Charset.IndexOf('!'));
        Assert.EndsWith("-./  ", NpuTextRecognizer.Charset);
    }

    [Fact]
    public void FakeRecHef_SoftmaxOutputEncodingHailo10H_DecodesExactly_ProvesIoQuantLayoutAndCtc_NotHefAccuracy()
    {
        var frames = Frames("Hailo 10H");
        var hef = NpuTestShim.Model("ocr_rec.json", "ocr_rec_out.bin", Probabilities(frames));
        using var recognizer = new NpuTextRecognizer(VisionModel.Load(_vd, hef));
        Assert.Equal(Steps, recognizer.Steps);
        using var a = Line(200, 30);
        using var b = Line(2000, 40); // wider than 320 at height 48: squeezed, must not throw
        var timer = OcrStages.NewTimer();
        var results = recognizer.Run([a, b], timer);
        Assert.Equal(2, results.Length);
        foreach (var (text, confidence) in results)
        {
            Assert.Equal("Hailo 10H", text);
            Assert.Equal(235f / 255, confidence, 1e-5f); // mean winning probability, de-quantised with scale 1/255
        }
        Assert.True(timer[OcrStages.RecognitionModel] > 0);
        Assert.Empty(recognizer.Run([], timer));
    }

    [Fact]
    public void FakeRecHef_LogitsWithZeroPoint_AreSoftmaxedThenDecoded_DoubledLettersKept_NotHefAccuracy()
    {
        var frames = Frames("Hello, World!", hold: 1);
        var hef = NpuTestShim.Model("ocr_rec_logits.json", "ocr_rec_out.bin", Logits(frames));
        using var recognizer = new NpuTextRecognizer(VisionModel.Load(_vd, hef));
        using var line = Line(300, 48);
        var (text, confidence) = Assert.Single(recognizer.Run([line], OcrStages.NewTimer()));
        Assert.Equal("Hello, World!", text);
        // softmax of (+10, 96 × 0): e^10 / (e^10 + 96)
        Assert.Equal(MathF.Exp(10) / (MathF.Exp(10) + 96), confidence, 1e-4f);
    }

    [Fact]
    public void PrepareLine_KeepsAspectAtHeight48_AndPadsTheRightWith128_InputLayoutOnly()
    {
        using var line = Line(100, 24); // → 200×48
        var hwc = new byte[48 * 320 * 3];
        Assert.Equal(200, NpuTextRecognizer.PrepareLine(line, hwc, 320, 48));
        Assert.Equal([20, 20, 20], hwc.AsSpan((10 * 320 + 199) * 3, 3).ToArray());
        Assert.Equal([128, 128, 128], hwc.AsSpan((10 * 320 + 200) * 3, 3).ToArray());
        Assert.Equal([128, 128, 128], hwc.AsSpan((47 * 320 + 319) * 3, 3).ToArray());
        using var wide = Line(1000, 20);
        Assert.Equal(320, NpuTextRecognizer.PrepareLine(wide, hwc, 320, 48)); // squeezed to the input width
    }

    [Fact]
    public void ProbabilityCheck_TellsSoftmaxRowsFromLogits()
    {
        float[] probs = [0.5f, 0.3f, 0.2f, 0.9f, 0.05f, 0.05f];
        Assert.True(NpuTextRecognizer.LooksLikeProbabilities(probs, 2, 3));
        float[] logits = [2f, -1f, 0.5f, 0f, 0f, 0f];
        Assert.False(NpuTextRecognizer.LooksLikeProbabilities(logits, 2, 3));
        NpuTextRecognizer.SoftmaxRows(logits, 2, 3);
        Assert.True(NpuTextRecognizer.LooksLikeProbabilities(logits, 2, 3));
        Assert.Equal(1f / 3, logits[4], 1e-6f);
    }

    [Fact]
    public void Recognizer_RejectsAHefWithTheWrongClassCount()
    {
        var det = NpuTestShim.Model("ocr_det.json", "ocr_det_map.bin", new byte[544 * 960]);
        var model = VisionModel.Load(_vd, det);
        var e = Assert.Throws<InvalidDataException>(() => new NpuTextRecognizer(model));
        Assert.Contains("97 classes", e.Message);
        model.Dispose();
    }
}
