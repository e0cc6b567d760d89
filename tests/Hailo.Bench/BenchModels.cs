using Hailo.TestSupport;

namespace Hailo.Bench;

/// <summary>
/// Generated ONNX models for the pose and depth benchmarks: the real I/O signature, a stack of 3×3 convolutions
/// (ReLU between) that costs about as much as a small real network, and an output the service can decode. No real
/// pose or depth model is in a registry CI reaches; these make end-to-end ÷ model-only a statement about the
/// service's own overhead next to a model of realistic cost, not about any real model's speed.
/// </summary>
internal static class BenchModels
{
    /// <summary>
    /// A convolution trunk on [1, 3, H, W]: stride-2 stages doubling the channels, then <paramref name="repeats"/> 3×3
    /// convolutions per stage; returns the trunk's output name and its cost in GFLOPs (2 per multiply-add).
    /// </summary>
    public static (string Output, double Gflops) Trunk(OnnxWriter w, string input, int height, int width, int[] channels, int repeats)
    {
        var rng = new Random(5);
        string x = input;
        int c = 3, h = height, wd = width;
        double flops = 0;
        string Conv(string from, int cin, int cout, int stride)
        {
            var weights = new float[cout * cin * 9];
            var scale = MathF.Sqrt(2f / (cin * 9));
            for (var i = 0; i < weights.Length; i++) weights[i] = (rng.NextSingle() - 0.5f) * 2 * scale;
            var wName = w.Constant(weights, [cout, cin, 3, 3]);
            var bName = w.Constant(new float[cout], [cout]);
            if (stride == 2) { h = (h + 1) / 2; wd = (wd + 1) / 2; }
            flops += 2.0 * 9 * cin * cout * h * wd;
            var conv = w.Node("Conv", [from, wName, bName], null,
                ("kernel_shape", new long[] { 3, 3 }), ("strides", new long[] { stride, stride }), ("pads", new long[] { 1, 1, 1, 1 }));
            return w.Node("Relu", [conv]);
        }
        foreach (var cout in channels)
        {
            x = Conv(x, c, cout, 2);
            c = cout;
            for (var r = 0; r < repeats; r++) x = Conv(x, c, c, 1);
        }
        return (x, flops / 1e9);
    }

    /// <summary>
    /// YOLOv8-pose export signature ([1, 3, 640, 640] → [1, 56, 8400]) on a trunk of the given stage widths (16…256:
    /// about yolov8n-pose's cost; 32…512: about yolov8s-pose's); the output holds three people (input pixels) plus
    /// 0 × the trunk's mean, so the whole trunk runs.
    /// </summary>
    public static (byte[] Model, double Gflops) Pose(int[] channels)
    {
        var w = new OnnxWriter().Input("images", [1, 3, 640, 640]).Output("output0", [1, 56, 8400]);
        var (trunk, gflops) = Trunk(w, "images", 640, 640, channels, repeats: 3);
        var data = new float[56 * 8400];
        (float Cx, float Cy, float W, float H, float Score)[] people = [(200, 320, 150, 400, 0.9f), (420, 300, 120, 330, 0.8f), (560, 200, 60, 120, 0.7f)];
        for (var i = 0; i < people.Length; i++)
        {
            var col = 1000 + 2000 * i;
            var p = people[i];
            (data[col], data[8400 + col], data[2 * 8400 + col], data[3 * 8400 + col], data[4 * 8400 + col]) = p;
            for (var k = 0; k < 17; k++)
            {
                data[(5 + 3 * k) * 8400 + col] = p.Cx - p.W / 2 + p.W * (k % 5) / 4;
                data[(6 + 3 * k) * 8400 + col] = p.Cy - p.H / 2 + p.H * k / 16;
                data[(7 + 3 * k) * 8400 + col] = 0.9f;
            }
        }
        var mean = w.Node("ReduceMean", [trunk], null, ("keepdims", 0L));
        var zero = w.Node("Mul", [mean, w.Constant([0f], [1])]);
        w.Node("Add", [w.Constant(data, [1, 56, 8400]), zero], "output0");
        return (w.ToBytes(), gflops);
    }

    /// <summary>
    /// MiDaS-small signature ([1, 3, 256, 256] → [1, 256, 256]): output = channel mean of the input + 3 (a positive
    /// inverse depth) + 0 × the trunk's mean.
    /// </summary>
    public static (byte[] Model, double Gflops) Depth(int[] channels, int repeats)
    {
        var w = new OnnxWriter().Input("0", [1, 3, 256, 256]).Output("1079", [1, 256, 256]);
        var (trunk, gflops) = Trunk(w, "0", 256, 256, channels, repeats);
        var channelMean = w.Node("ReduceMean", ["0"], null, ("axes", new long[] { 1 }), ("keepdims", 0L));
        var zero = w.Node("Mul", [w.Node("ReduceMean", [trunk], null, ("keepdims", 0L)), w.Constant([0f], [1])]);
        w.Node("Add", [w.Node("Add", [channelMean, w.Constant([3f], [1])]), zero], "1079");
        return (w.ToBytes(), gflops);
    }

    /// <summary>
    /// SC-DepthV3's ONNX signature ([1, 3, 256, 320] → [1, 1, 256, 320] logits) on a trunk of the given stage widths
    /// (46…368 with three repeats: 10.6 GFLOPs, the 10.7 GOPs Hailo's model zoo gives for scdepthv3): logits = channel
    /// mean of the input + 0 × the trunk's mean.
    /// </summary>
    public static (byte[] Model, double Gflops) Scdepth(int[] channels, int repeats)
    {
        var w = new OnnxWriter().Input("input", [1, 3, 256, 320]).Output("depth", [1, 1, 256, 320]);
        var (trunk, gflops) = Trunk(w, "input", 256, 320, channels, repeats);
        var channelMean = w.Node("ReduceMean", ["input"], null, ("axes", new long[] { 1 }), ("keepdims", 1L));
        var zero = w.Node("Mul", [w.Node("ReduceMean", [trunk], null, ("keepdims", 0L)), w.Constant([0f], [1])]);
        w.Node("Add", [channelMean, zero], "depth");
        return (w.ToBytes(), gflops);
    }

    /// <summary>A 1280×720 JPEG with photo-like detail (gradients and noise), so decoding costs what a camera frame costs.</summary>
    public static byte[] Photo1280x720()
    {
        var rng = new Random(3);
        var px = new byte[1280 * 720 * 4];
        for (var y = 0; y < 720; y++)
            for (var x = 0; x < 1280; x++)
            {
                var i = (y * 1280 + x) * 4;
                var n = rng.Next(-20, 21);
                px[i] = (byte)Math.Clamp(x / 5 + n, 0, 255);
                px[i + 1] = (byte)Math.Clamp(y / 3 + n, 0, 255);
                px[i + 2] = (byte)Math.Clamp(128 + (int)(60 * Math.Sin(x / 40.0 + y / 70.0)) + n, 0, 255);
                px[i + 3] = 255;
            }
        using var img = Hailo.Media.RgbaImage.FromRgba(px, 1280, 720);
        return img.Encode(Hailo.Media.ImageFormat.Jpeg, 90);
    }
}
