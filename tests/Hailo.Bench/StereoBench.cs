using System.Diagnostics;
using System.Text.Json;
using Hailo.Media;
using HailoDepth.Pipeline.Stereo;

namespace Hailo.Bench;

/// <summary>
/// hailo-depth's stereo matcher against OpenCV's StereoSGBM (Debian python3-opencv, run as a subprocess) on the
/// Middlebury Aloe pair from Debian's opencv-doc, at full and half resolution: time ratio (ours ÷ OpenCV, the two
/// alternating run by run), bad pixels (> 2 px) on produced pixels and over all ground-truth pixels, and density.
/// </summary>
public sealed class StereoBench(string repo)
{
    internal const string Data = "/usr/share/doc/opencv-doc/examples/data";
    private const int Threads = 2;
    private const int NumDisparities = 224;
    /// <summary>OpenCV's block: the odd square closest to the census window's 9×7 pixels.</summary>
    private const int BlockSize = 7;

    public Report Run()
    {
        var report = new Report($"Measured by `make bench` (SERVICE=hailo-depth or depth-stereo) on {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}, load average {LoadAverage()} at the start; in the bench process (JIT).");
        AddTo(report);
        return report;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    public void AddTo(Report report)
    {
        var files = new[] { "aloeL.jpg", "aloeR.jpg", "aloeGT.png" }.Select(f => Path.Combine(Data, f)).ToArray();
        if (!files.All(File.Exists))
        {
            report.Add("stereo vs OpenCV StereoSGBM", "skipped: the Aloe pair is missing (apt-get install opencv-doc)");
            return;
        }
        var (left, right, truth, w, h) = Load(files);
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var script = Path.Combine(repo, "tests", "Hailo.Bench", "peers", "opencv_sgbm.py");
        foreach (var half in new[] { false, true })
        {
            var name = half ? "half resolution" : "full resolution";
            var options = new SgmOptions { MinDisparity = 0, NumDisparities = NumDisparities, Threads = Threads };
            var runs = half ? 11 : 5;
            var ours = new List<double>();
            var peer = new List<double>();
            var oursCpu = new List<double>();
            var peerCpu = new List<double>();
            // The single-pass 5-path mode (stereo.paths: 5, OpenCV MODE_SGBM's paths) in the same loop.
            var options5 = options with { Paths = 5 };
            var ours5 = new List<double>();
            var ours5Cpu = new List<double>();
            DisparityMap map = StereoMatcher.Match(left, right, w, h, options, half);
            DisparityMap map5 = StereoMatcher.Match(left, right, w, h, options5, half);
            var outFile = Path.GetTempFileName();
            string? skipped = null;
            string version = "";
            try
            {
                var psi = new ProcessStartInfo(python)
                {
                    RedirectStandardInput = true,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                };
                foreach (var a in new[]
                         {
                             script, files[0], files[1], outFile, "--num-disparities", $"{NumDisparities}", "--threads", $"{Threads}",
                             "--mode", "sgbm", "--block-size", $"{BlockSize}", "--uniqueness", "5", "--disp12-max-diff", "1",
                             "--speckle-window", "100", "--speckle-range", "2", "--serve",
                         })
                    psi.ArgumentList.Add(a);
                if (half) psi.ArgumentList.Add("--half");
                using var p = Process.Start(psi)!;
                _ = p.StandardError.ReadToEndAsync();
                var ready = p.StandardOutput.ReadLine();
                using (var doc = ready is null ? null : JsonDocument.Parse(ready))
                {
                    if (doc is null || !doc.RootElement.TryGetProperty("ready", out _))
                        skipped = doc?.RootElement.TryGetProperty("error", out var e) == true ? e.GetString() : "the OpenCV script did not start";
                    else version = doc.RootElement.GetProperty("opencv").GetString() ?? "";
                }
                for (var i = 0; i < runs; i++)
                {
                    var sw = Stopwatch.StartNew();
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    map = StereoMatcher.Match(left, right, w, h, options, half);
                    ours.Add(sw.Elapsed.TotalMilliseconds);
                    oursCpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds);
                    sw.Restart();
                    cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    map5 = StereoMatcher.Match(left, right, w, h, options5, half);
                    ours5.Add(sw.Elapsed.TotalMilliseconds);
                    ours5Cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds);
                    if (skipped is not null) continue;
                    p.StandardInput.WriteLine("run");
                    p.StandardInput.Flush();
                    using var doc = JsonDocument.Parse(p.StandardOutput.ReadLine() ?? "{}");
                    peer.Add(doc.RootElement.GetProperty("ms").GetDouble());
                    peerCpu.Add(doc.RootElement.GetProperty("cpu_ms").GetDouble());
                }
                p.StandardInput.Close();
                p.WaitForExit(60_000);
                if (skipped is null && p.ExitCode != 0) skipped = $"the OpenCV script exited with {p.ExitCode}";
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or JsonException or KeyNotFoundException)
            {
                skipped = e.Message;
            }

            var s = Score(map.Disparity, map.Invalid, truth);
            var s5 = Score(map5.Disparity, map5.Invalid, truth);
            if (skipped is not null)
            {
                report.Add($"stereo Aloe {w}×{h} {name}, {NumDisparities} disparities, the default (paths: 5): ours p50", $"{Stats.Median(ours5):0} ms");
                report.Add($"  bad > 2 px on produced / over all ground truth, density", $"{s5.BadProduced:P2} / {s5.BadAll:P2}, {s5.Density:P1}");
                report.Add($"  with paths: 8 (two passes), p50 and ÷ paths: 5", $"{Stats.Median(ours):0} ms, {Stats.Median(ours) / Stats.Median(ours5):0.00}");
                report.Add($"  paths: 8: bad > 2 px on produced / over all ground truth, density", $"{s.BadProduced:P2} / {s.BadAll:P2}, {s.Density:P1}");
                report.Add("  OpenCV StereoSGBM peer", $"skipped ({skipped}); install it with apt-get install python3-opencv");
                continue;
            }
            var peerMap = File.ReadAllBytes(outFile);
            File.Delete(outFile);
            var disparity = new float[w * h];
            Buffer.BlockCopy(peerMap, 0, disparity, 0, Math.Min(peerMap.Length, disparity.Length * 4));
            var invalid = disparity.Select(v => float.IsNaN(v) ? (byte)1 : (byte)0).ToArray();
            var c = Score(disparity, invalid, truth);
            // The default (stereo.paths: 5, one pass) carries the targets; 8 paths (stereo.paths: 8) is the slower option beside it.
            var ratio5 = Stats.Median(ours5) / Stats.Median(peer);
            report.Add($"stereo Aloe {w}×{h} {name}, {NumDisparities} disparities, the default (paths: 5): p50 ours / OpenCV {version} StereoSGBM, {Threads} threads",
                $"{Stats.Median(ours5):0} / {Stats.Median(peer):0} ms = {ratio5:0.00}", "≤ 1.25", ratio5 <= 1.25);
            report.Add("  CPU time (all threads) p50, ours / OpenCV", $"{Stats.Median(ours5Cpu):0} / {Stats.Median(peerCpu):0} ms = {Stats.Median(ours5Cpu) / Stats.Median(peerCpu):0.00}");
            report.Add("  bad > 2 px on produced pixels, ours / OpenCV", $"{s5.BadProduced:P2} / {c.BadProduced:P2}", "ours ≤ OpenCV", s5.BadProduced <= c.BadProduced);
            report.Add("  bad > 2 px over all ground-truth pixels (none = bad), ours / OpenCV", $"{s5.BadAll:P2} / {c.BadAll:P2}");
            report.Add("  density (image), ours / OpenCV", $"{s5.Density:P1} / {c.Density:P1}", "ours ≥ OpenCV", s5.Density >= c.Density);
            var ratio = Stats.Median(ours) / Stats.Median(peer);
            report.Add("  with paths: 8 (two passes): p50 ours / OpenCV", $"{Stats.Median(ours):0} / {Stats.Median(peer):0} ms = {ratio:0.00}");
            report.Add("  paths: 8: CPU time (all threads) p50, ours / OpenCV", $"{Stats.Median(oursCpu):0} / {Stats.Median(peerCpu):0} ms = {Stats.Median(oursCpu) / Stats.Median(peerCpu):0.00}");
            report.Add("  paths: 8: bad > 2 px on produced pixels / over all ground truth, ours / OpenCV", $"{s.BadProduced:P2} / {s.BadAll:P2} against {c.BadProduced:P2} / {c.BadAll:P2}");
            report.Add("  paths: 8: density (image), ours / OpenCV", $"{s.Density:P1} / {c.Density:P1}");
        }
        report.Note($"Stereo: the Middlebury 2006 Aloe pair from Debian's opencv-doc (full-size ground truth), {NumDisparities} disparities, {Threads} threads each, ours and OpenCV's compute() alternating run by run (p50 of 5 full, 11 half, after one warm-up each), in the bench process (JIT) and in python3-opencv; OpenCV's time excludes decoding and the python process. " +
            $"Ours: census 9×7, the default 5 paths in one pass (costs row by row; rows \"paths: 8\": stereo.paths: 8, two passes), P1 7, P2 100 (edge-adapted), uniqueness 5 %, left-right 1 px, speckle 100 px / 2 px. OpenCV: MODE_SGBM (its default: 5 paths in one pass; MODE_HH's 8 paths took over 10× longer), blockSize {BlockSize}, P1 = 8·{BlockSize}², P2 = 32·{BlockSize}² (its documented choice), uniquenessRatio 5, disp12MaxDiff 1, speckleWindowSize 100, speckleRange 2; at half resolution both match the 2×2-averaged pair (range halved, speckle window ÷ 4) and give each full-size pixel its block's disparity, doubled.");
    }

    private static (byte[] Left, byte[] Right, byte[] Truth, int Width, int Height) Load(string[] files)
    {
        using var l = SkiaImageDecoder.Instance.Decode(File.ReadAllBytes(files[0]), 100_000_000);
        using var r = SkiaImageDecoder.Instance.Decode(File.ReadAllBytes(files[1]), 100_000_000);
        using var gt = SkiaImageDecoder.Instance.Decode(File.ReadAllBytes(files[2]), 100_000_000);
        var truth = new byte[gt.Width * gt.Height];
        for (var y = 0; y < gt.Height; y++)
        {
            var row = gt.Row(y);
            for (var x = 0; x < gt.Width; x++) truth[y * gt.Width + x] = row[4 * x];
        }
        return (Grey.From(l), Grey.From(r), truth, l.Width, l.Height);
    }

    private static (double BadProduced, double BadAll, double Density) Score(float[] disparity, byte[] invalid, byte[] truth)
    {
        int known = 0, produced = 0, producedKnown = 0, bad = 0;
        for (var i = 0; i < truth.Length; i++)
        {
            var valid = invalid[i] == 0;
            if (valid) produced++;
            if (truth[i] == 0) continue;
            known++;
            if (!valid) continue;
            producedKnown++;
            if (MathF.Abs(disparity[i] - truth[i]) > 2) bad++;
        }
        return (bad / (double)producedKnown, (bad + known - producedKnown) / (double)known, produced / (double)truth.Length);
    }
}
