using HailoOcr.Pipeline;
using Xunit;

namespace Hailo.Ocr.Tests.Npu;

/// <summary>Canned NPU outputs whose right answer is known: a detection map with rectangles, CTC frames of a string.</summary>
internal static class FakeOcrTensors
{
    /// <summary>Time steps of the recognition HEF's output ([1, 40, 97]).</summary>
    public const int Steps = 40;

    /// <summary>A uint8 probability map: background 5/255, each rectangle [x0, x1) × [y0, y1) 230/255.</summary>
    public static byte[] DetMapU8(int width, int height, params (int X0, int Y0, int X1, int Y1)[] rects)
    {
        var map = new byte[width * height];
        Array.Fill(map, (byte)5);
        foreach (var (x0, y0, x1, y1) in rects)
            for (var y = y0; y < y1; y++)
                map.AsSpan(y * width + x0, x1 - x0).Fill(230);
        return map;
    }

    /// <summary>
    /// CTC frames for a string: each character for <paramref name="hold"/> steps with a blank after it, so doubled
    /// letters stay apart and held ones must collapse; the rest are blanks.
    /// </summary>
    public static int[] Frames(string text, int hold = 2)
    {
        var classes = new List<int> { 0 };
        foreach (var ch in text)
        {
            var k = NpuTextRecognizer.Charset.IndexOf(ch);
            Assert.True(k >= 0, $"'{ch}' is not in the charset");
            for (var i = 0; i < hold; i++) classes.Add(k + 1);
            classes.Add(0);
        }
        Assert.True(classes.Count <= Steps, "the text does not fit 40 steps");
        while (classes.Count < Steps) classes.Add(0);
        return classes.ToArray();
    }

    /// <summary>uint8 softmax rows (scale 1/255): the winner 235, twenty runners-up 1 each: every row sums to 255.</summary>
    public static byte[] Probabilities(int[] frames)
    {
        var data = new byte[Steps * 97];
        for (var t = 0; t < Steps; t++)
        {
            data[t * 97 + frames[t]] = 235;
            for (int c = 0, n = 0; n < 20; c++)
                if (c != frames[t])
                {
                    data[t * 97 + c] = 1;
                    n++;
                }
        }
        return data;
    }

    /// <summary>uint8 logits (scale 0.1, zero point 128): the winner +10, every other class 0.</summary>
    public static byte[] Logits(int[] frames)
    {
        var data = new byte[Steps * 97];
        Array.Fill(data, (byte)128);
        for (var t = 0; t < Steps; t++) data[t * 97 + frames[t]] = 228;
        return data;
    }
}
