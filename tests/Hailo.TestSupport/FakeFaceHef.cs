using System.Globalization;
using System.Text;

namespace Hailo.TestSupport;

/// <summary>
/// Fake "HEFs" for the shim's fake backend with the I/O of Hailo's face models: scrfd_10g (input 640×640×3 uint8
/// NHWC; per stride 8/16/32 a 2-channel uint8 score head, an 8-channel uint16 box head and a 20-channel uint16
/// landmark head, listed out of order) whose canned outputs are the quantised codes of given levels, and
/// arcface_mobilefacenet (input 112×112×3 uint8, one 512-feature uint8 output) returning a canned embedding. The fake
/// ignores the input: these prove the adapters (heads found by shape, de-quantisation, letterbox, alignment,
/// normalisation), not a real HEF's behaviour.
/// </summary>
public static class FakeFaceHef
{
    private const float BoxScale = 1f / 1000, BoxZero = 32768, ScoreScale = 1f / 255;

    private static byte[] U16(float[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
            BitConverter.TryWriteBytes(bytes.AsSpan(2 * i), (ushort)Math.Clamp(MathF.Round(values[i] / BoxScale + BoxZero), 0, 65535));
        return bytes;
    }

    private static byte[] U8(float[] values, float scale) => values.Select(v => (byte)Math.Clamp(MathF.Round(v / scale), 0, 255)).ToArray();

    private static string Stream(string name, int h, int w, int c, string type, float scale, float zp, float min, float max, string file) =>
        string.Create(CultureInfo.InvariantCulture,
            $$"""{"name": "{{name}}", "shape": [{{h}}, {{w}}, {{c}}], "type": "{{type}}", "order": "NHWC", "quant": {"scale": {{scale:R}}, "zp": {{zp:R}}, "min": {{min:R}}, "max": {{max:R}}}, "data_file": "{{file}}"}""");

    /// <summary>Writes a fake scrfd_10g.hef whose outputs encode <paramref name="levels"/> (see <see cref="PlantedFaces.Levels"/>).</summary>
    public static string Scrfd(string directory, string fileName, Hailo.Face.ScrfdLevel[] levels)
    {
        Directory.CreateDirectory(directory);
        var outputs = new List<string>();
        var conv = 41;
        var stem = Path.GetFileNameWithoutExtension(fileName);
        foreach (var l in levels)
        {
            var (g, h) = (l.GridWidth, l.GridHeight);
            File.WriteAllBytes(Path.Combine(directory, $"{stem}_score_{l.Stride}.bin"), U8(l.Scores, ScoreScale));
            File.WriteAllBytes(Path.Combine(directory, $"{stem}_box_{l.Stride}.bin"), U16(l.Distances));
            File.WriteAllBytes(Path.Combine(directory, $"{stem}_kps_{l.Stride}.bin"), U16(l.Landmarks));
            outputs.Add(Stream($"scrfd_10g/conv{conv++}", h, g, 2, "UINT8", ScoreScale, 0, 0, 1, $"{stem}_score_{l.Stride}.bin"));
            outputs.Add(Stream($"scrfd_10g/conv{conv++}", h, g, 8, "UINT16", BoxScale, BoxZero, -32.768f, 32.767f, $"{stem}_box_{l.Stride}.bin"));
            outputs.Add(Stream($"scrfd_10g/conv{conv++}", h, g, 20, "UINT16", BoxScale, BoxZero, -32.768f, 32.767f, $"{stem}_kps_{l.Stride}.bin"));
        }
        outputs = [.. new[] { 4, 0, 8, 2, 6, 1, 7, 3, 5 }.Select(i => outputs[i])];
        var json = new StringBuilder()
            .Append("""{"kind": "vision", "inputs": [{"name": "scrfd_10g/input_layer1", "shape": [640, 640, 3], "type": "UINT8", "order": "NHWC", "quant": {"scale": 1.0, "zp": 0}}], "outputs": [""")
            .AppendJoin(",\n", outputs).Append("]}").ToString();
        var path = Path.Combine(directory, fileName);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Writes a fake arcface_mobilefacenet.hef that always returns <paramref name="embedding"/> (values in [-1, 1], quantised to uint8).</summary>
    public static string ArcFace(string directory, string fileName, float[] embedding)
    {
        Directory.CreateDirectory(directory);
        const float scale = 2f / 255, zp = 127.5f;
        var stem = Path.GetFileNameWithoutExtension(fileName);
        File.WriteAllBytes(Path.Combine(directory, stem + "_fc1.bin"), embedding.Select(v => (byte)Math.Clamp(MathF.Round(v / scale + zp), 0, 255)).ToArray());
        var json = """{"kind": "vision", "inputs": [{"name": "arcface_mobilefacenet/input_layer1", "shape": [112, 112, 3], "type": "UINT8", "order": "NHWC", "quant": {"scale": 1.0, "zp": 0}}], "outputs": ["""
            + Stream("arcface_mobilefacenet/fc1", 1, 1, embedding.Length, "UINT8", scale, zp, -1, 1, stem + "_fc1.bin") + "]}";
        var path = Path.Combine(directory, fileName);
        File.WriteAllText(path, json);
        return path;
    }
}
