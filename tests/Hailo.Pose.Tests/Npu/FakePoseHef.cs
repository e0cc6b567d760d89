using System.Globalization;
using System.Text;

namespace Hailo.Pose.Tests.Npu;

/// <summary>
/// Writes a fake yolov8s_pose "HEF" for the shim's fake backend: the real I/O of the Hailo model zoo HEF (input
/// 640×640×3 uint8 NHWC; per stride 8/16/32 a 64-channel uint8 DFL box head, a 1-channel uint8 score head and a
/// 51-channel uint16 keypoint head) with realistic quantisation, whose canned outputs are the encoder's codes.
/// </summary>
internal static class FakePoseHef
{
    public static string Write(string directory, string fileName, PoseHeadEncoder encoder, bool shuffle = true, float scoreMin = 0)
    {
        var outputs = new List<string>();
        var data = new Dictionary<string, byte[]>();
        var conv = 50;
        foreach (var l in encoder.Levels)
        {
            string Out(string kind, int channels, string type, Quant q, float min, float max, byte[] bytes)
            {
                var file = $"{kind}_{l.Stride}.bin";
                data[file] = bytes;
                return string.Create(CultureInfo.InvariantCulture,
                    $$"""{"name": "yolov8s_pose/conv{{conv++}}", "shape": [{{l.Grid}}, {{l.Grid}}, {{channels}}], "type": "{{type}}", "order": "NHWC", "quant": {"scale": {{q.Scale:R}}, "zp": {{q.ZeroPoint:R}}, "min": {{min:R}}, "max": {{max:R}}}, "data_file": "{{file}}"}""");
            }
            var (bq, sq, kq) = (PoseHeadEncoder.BoxQuant, PoseHeadEncoder.ScoreQuant, PoseHeadEncoder.KeypointQuant);
            outputs.Add(Out("box", 64, "UINT8", bq, bq.Min, bq.Top, l.BoxBytes));
            outputs.Add(Out("score", 1, "UINT8", sq, scoreMin, sq.Top, l.ScoreBytes));
            outputs.Add(Out("kpt", 51, "UINT16", kq, kq.Min, kq.Top, l.KeypointBytes));
        }
        // Not in stride or kind order: the adapter must find the heads by shape.
        if (shuffle) outputs = [.. new[] { 4, 0, 8, 2, 6, 1, 7, 3, 5 }.Select(i => outputs[i])];
        var json = new StringBuilder()
            .Append("""{"kind": "vision", "inputs": [{"name": "yolov8s_pose/input_layer1", "shape": [640, 640, 3], "type": "UINT8", "order": "NHWC", "quant": {"scale": 1.0, "zp": 0}}], "outputs": [""")
            .AppendJoin(",\n", outputs).Append("]}").ToString();
        Directory.CreateDirectory(directory);
        foreach (var (name, bytes) in data) File.WriteAllBytes(Path.Combine(directory, name), bytes);
        var path = Path.Combine(directory, fileName);
        File.WriteAllText(path, json);
        return path;
    }
}
