using System.Diagnostics;
using Hailo.Runtime.Npu;
using Hailo.TestSupport;

namespace Hailo.Bench;

/// <summary>
/// The C#⇄C boundary against the shim's fake backend: what one 640×640×3 uint8 inference costs beyond the copy
/// the fake itself does (its canned output into the caller's buffer), and de-quantisation throughput, each next
/// to a baseline measured in the same run.
/// </summary>
public sealed class NpuBindingBench
{
    public Task<Report> RunAsync()
    {
        var report = new Report($"Measured by `make bench` on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}; fake shim backend, Release build.");
        _ = FakeShim.Runtime;
        using var vd = VDevice.Open();
        using var model = VisionModel.Load(vd, FakeShim.ShimFixture("vision_640.json"));
        var input = new byte[model.Inputs[0].FrameSize];
        var output = new byte[model.Outputs[0].FrameSize];
        Random.Shared.NextBytes(input);

        const int calls = 2000;
        for (var i = 0; i < 500; i++) model.Infer(input, output);
        var infer = Batches(10, () => { for (var i = 0; i < calls; i++) model.Infer(input, output); }) / calls;
        var src = new byte[output.Length];
        var copy = Batches(10, () => { for (var i = 0; i < calls; i++) src.AsSpan().CopyTo(output); }) / calls;
        var frame = new byte[input.Length];
        var frameCopy = Batches(10, () => { for (var i = 0; i < 200; i++) input.AsSpan().CopyTo(frame); }) / 200;
        var overhead = infer - copy;
        report.Add($"one Infer, {input.Length} B in / {output.Length} B out (fake)", $"{infer * 1e6:0.00} µs");
        report.Add("the fake's own output copy (same bytes, managed memcpy)", $"{copy * 1e6:0.00} µs");
        report.Add("P/Invoke + shim overhead beyond the copy", $"{overhead * 1e6:0.00} µs", "< 50 µs", overhead < 50e-6);
        report.Add("for scale: copying one 640×640×3 frame", $"{frameCopy * 1e6:0.0} µs");

        var q = new byte[64 << 20];
        Random.Shared.NextBytes(q);
        var f = new float[q.Length];
        Dequantize.ToFloat(q, 0.0123f, 7f, f);
        var simd = Batches(5, () => Dequantize.ToFloat(q, 0.0123f, 7f, f));
        var scalar = Batches(5, () =>
        {
            for (var i = 0; i < q.Length; i++) f[i] = (q[i] - 7f) * 0.0123f;
        });
        var gbps = q.Length / simd / 1e9;
        report.Add("de-quantisation uint8 → float, 64 MiB, per-tensor", $"{gbps:0.00} GB/s of input", "≥ 1 GB/s", gbps >= 1);
        report.Add("scalar loop, same data (baseline)", $"{q.Length / scalar / 1e9:0.00} GB/s ({scalar / simd:0.0}× slower)");
        report.Note("Median of batches; the fake backend does no DMA, so a real device adds its transfer time on top.");
        return Task.FromResult(report);
    }

    /// <summary>Median seconds of one batch over <paramref name="batches"/> runs.</summary>
    private static double Batches(int batches, Action batch)
    {
        var times = new List<double>();
        for (var b = 0; b < batches; b++)
        {
            var sw = Stopwatch.StartNew();
            batch();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return Stats.Median(times);
    }
}
