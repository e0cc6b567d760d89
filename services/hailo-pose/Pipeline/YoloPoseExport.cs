namespace HailoPose.Pipeline;

/// <summary>
/// Decodes the output of a YOLOv8-pose ONNX export (Ultralytics `yolo export format=onnx`, no NMS): one tensor
/// [1, 56, N], one column per anchor (N = 8400 at 640×640: strides 8, 16, 32), rows cx, cy, w, h (input pixels),
/// person score (after sigmoid), then 17 × (x, y in input pixels, visibility after sigmoid). The export's head has
/// already applied the DFL, the anchor offsets and both sigmoids, so nothing but the box corners is computed here.
/// </summary>
internal static class YoloPoseExport
{
    public const int Rows = 5 + 3 * CocoKeypoints.Count;

    /// <param name="output">The [1, 56, N] tensor in row-major order.</param>
    /// <param name="anchors">N.</param>
    public static void Decode(ReadOnlySpan<float> output, int anchors, float threshold, PoseCandidates into)
    {
        if (output.Length != Rows * anchors) throw new ArgumentException($"expected {Rows}×{anchors} values, got {output.Length}", nameof(output));
        var scores = output.Slice(4 * anchors, anchors);
        for (var a = 0; a < anchors; a++)
        {
            var score = scores[a];
            if (!(score >= threshold)) continue; // also drops NaN
            float cx = output[a], cy = output[anchors + a], hw = output[2 * anchors + a] / 2, hh = output[3 * anchors + a] / 2;
            var row = into.Add();
            row[0] = cx - hw;
            row[1] = cy - hh;
            row[2] = cx + hw;
            row[3] = cy + hh;
            row[4] = score;
            for (var j = 5; j < Rows; j++) row[j] = output[j * anchors + a];
        }
    }
}
