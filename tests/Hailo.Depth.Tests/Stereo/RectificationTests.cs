using System.Net;
using System.Text.Json;
using Hailo.Core;
using Hailo.Hosting.Config;
using Hailo.TestSupport;
using HailoDepth;
using HailoDepth.Pipeline.Stereo;
using Xunit;
using Xunit.Abstractions;

namespace Hailo.Depth.Tests.Stereo;

/// <summary>
/// Rectification from a calibration (Bouguet's construction), on a rig whose geometry is known exactly: the two
/// cameras of <see cref="CalibratedScene"/> (different intrinsics, lens distortion, the right one turned by about
/// 1.8° and slightly off the baseline).
/// </summary>
public sealed class RectificationTests(ITestOutputHelper output)
{
    private static readonly Lazy<Rectification> Rect = new(() => Rectification.Compute(CalibratedScene.Calibration()));

    [Fact]
    public void Epipolar_lines_become_rows_and_disparity_is_focal_times_baseline_over_depth()
    {
        var rect = Rect.Value;
        var cal = rect.Calibration;
        var random = new Random(5);
        double worstRow = 0, worstDisparity = 0;
        var n = 0;
        while (n < 2000)
        {
            double[] p = [random.NextDouble() * 3 - 1.5, random.NextDouble() * 2 - 1, 0.4 + random.NextDouble() * 8];
            var (ul, vl) = cal.Left.Project(p[0], p[1], p[2]);
            var pr = Rectification.Mul(cal.R, p);
            var (ur, vr) = cal.Right.Project(pr[0] + cal.T[0], pr[1] + cal.T[1], pr[2] + cal.T[2]);
            if (ul < 0 || vl < 0 || ul > CalibratedScene.W - 1 || vl > CalibratedScene.H - 1) continue;
            if (ur < 0 || vr < 0 || ur > CalibratedScene.W - 1 || vr > CalibratedScene.H - 1) continue;
            n++;
            var l = rect.RectifyPoint(false, ul, vl);
            var r = rect.RectifyPoint(true, ur, vr);
            worstRow = Math.Max(worstRow, Math.Abs(l.V - r.V));
            // Depth in the rectified left frame.
            var z = Rectification.Mul(rect.R1, p)[2];
            worstDisparity = Math.Max(worstDisparity, Math.Abs(l.U - r.U - rect.Focal * rect.Baseline / z));
        }
        output.WriteLine($"focal {rect.Focal:F2} px, baseline {rect.Baseline:F5} m, principal point ({rect.Cx:F2}, {rect.Cy:F2}); " +
                         $"largest row difference {worstRow:G3} px, largest disparity error {worstDisparity:G3} px over {n} points");
        // Unrectified, the same points are up to several pixels apart in rows (checked below), so this is the rectification's work.
        Assert.True(worstRow < 0.5, $"row difference {worstRow} px");
        Assert.True(worstRow < 1e-3, $"row difference {worstRow} px: the construction is exact up to the undistortion's convergence");
        Assert.True(worstDisparity < 1e-3, $"disparity error {worstDisparity} px");
        Assert.Equal(Math.Sqrt(Rectification.Dot(cal.T, cal.T)), rect.Baseline, 9);
    }

    [Fact]
    public void Without_rectification_the_rig_is_visibly_not_row_aligned()
    {
        // The rig is a real test case: its raw images disagree in rows by pixels.
        var cal = CalibratedScene.Calibration();
        double worst = 0;
        foreach (var (x, y) in new[] { (-0.8, -0.5), (0.8, -0.5), (-0.8, 0.5), (0.8, 0.5), (0.0, 0.0) })
        {
            double[] p = [x, y, 2];
            var (_, vl) = cal.Left.Project(p[0], p[1], p[2]);
            var pr = Rectification.Mul(cal.R, p);
            var (_, vr) = cal.Right.Project(pr[0] + cal.T[0], pr[1] + cal.T[1], pr[2] + cal.T[2]);
            worst = Math.Max(worst, Math.Abs(vl - vr));
        }
        output.WriteLine($"largest raw row difference {worst:F2} px");
        Assert.True(worst > 3, $"{worst}");
    }

    [Fact]
    public void The_tables_look_up_where_each_rectified_pixel_comes_from()
    {
        var rect = Rect.Value;
        var w = rect.Width;
        var random = new Random(9);
        double worst = 0;
        foreach (var right in new[] { false, true })
        {
            var table = right ? rect.RightMap : rect.LeftMap;
            for (var k = 0; k < 5000; k++)
            {
                int u = random.Next(w), v = random.Next(rect.Height), i = v * w + u;
                var (su, sv) = rect.Source(right, u, v);
                if (table.Offset[i] < 0)
                {
                    Assert.False(su >= 0 && su <= w - 1 && sv >= 0 && sv <= rect.Height - 1, $"({u}, {v}) marked outside but comes from ({su}, {sv})");
                    continue;
                }
                var tu = table.Offset[i] % w + table.WeightX[i] / 256.0;
                var tv = table.Offset[i] / w + table.WeightY[i] / 256.0;
                worst = Math.Max(worst, Math.Max(Math.Abs(tu - su), Math.Abs(tv - sv)));
                // And back: the source pixel, rectified, is the pixel itself.
                var back = rect.RectifyPoint(right, su, sv);
                Assert.True(Math.Abs(back.U - u) < 1e-6 && Math.Abs(back.V - v) < 1e-6, $"({u}, {v}) → ({su}, {sv}) → ({back.U}, {back.V})");
            }
        }
        Assert.True(worst <= 0.5 / 256 + 1e-9, $"table off by {worst} px");
        Assert.True(rect.LeftMap.Coverage > 0.9 && rect.RightMap.Coverage > 0.9, $"{rect.LeftMap.Coverage} {rect.RightMap.Coverage}");
    }

    [Fact]
    public void Remap_is_bilinear_interpolation_of_the_source()
    {
        var rect = Rect.Value;
        int w = rect.Width, h = rect.Height;
        var smooth = new byte[w * h];
        for (var v = 0; v < h; v++)
        for (var u = 0; u < w; u++)
            smooth[v * w + u] = (byte)(128 + 100 * Math.Sin(u * 0.21) * Math.Cos(v * 0.17));
        var outside = new bool[w * h];
        var dst = rect.Remap(smooth, right: false, outside, threads: 2);
        int checkedPixels = 0;
        for (var i = 0; i < w * h; i += 7)
        {
            var (su, sv) = rect.Source(false, i % w, i / w);
            var inside = su >= 0 && su <= w - 1 && sv >= 0 && sv <= h - 1;
            Assert.Equal(!inside, outside[i]);
            if (!inside)
            {
                Assert.Equal(0, dst[i]);
                continue;
            }
            // Bilinear interpolation of the byte image at the exact source position, computed here in doubles;
            // rounding to a byte allows half a grey level, the table's 1/256-pixel positions at most 0.5/256 px × (21 + 17) grey levels per px = 0.08.
            int x0 = Math.Min((int)su, w - 2), y0 = Math.Min((int)sv, h - 2);
            double ax = su - x0, ay = sv - y0;
            double Px(int x, int y) => smooth[y * w + x];
            var expected = (1 - ay) * ((1 - ax) * Px(x0, y0) + ax * Px(x0 + 1, y0)) + ay * ((1 - ax) * Px(x0, y0 + 1) + ax * Px(x0 + 1, y0 + 1));
            Assert.True(Math.Abs(dst[i] - expected) <= 0.6, $"pixel {i}: {dst[i]} vs {expected}");
            checkedPixels++;
        }
        Assert.True(checkedPixels > 10000);
    }

    [Fact]
    public void A_colour_image_is_remapped_channel_by_channel_as_grey_images_are()
    {
        // The NPU's stereo network takes RGB: each channel must go through the same table as a grey image would.
        var rect = Rect.Value;
        int w = rect.Width, h = rect.Height;
        var planes = new byte[3][];
        for (var c = 0; c < 3; c++) planes[c] = new byte[w * h];
        var rgba = new byte[w * h * 4];
        for (var i = 0; i < w * h; i++)
        {
            int u = i % w, v = i / w;
            planes[0][i] = (byte)(128 + 100 * Math.Sin(u * 0.21) * Math.Cos(v * 0.17));
            planes[1][i] = (byte)((u * 3 + v) & 255);
            planes[2][i] = (byte)(255 - (v * 5 & 255));
            for (var c = 0; c < 3; c++) rgba[4 * i + c] = planes[c][i];
            rgba[4 * i + 3] = 255;
        }
        using var image = Hailo.Media.RgbaImage.FromRgba(rgba, w, h);
        var outside = new bool[w * h];
        using var remapped = rect.Remap(image, right: true, outside, threads: 2);
        var greyOutside = new bool[w * h];
        var expected = Enumerable.Range(0, 3).Select(c => rect.Remap(planes[c], right: true, c == 0 ? greyOutside : null, threads: 1)).ToArray();
        Assert.Equal(greyOutside, outside);
        for (var y = 0; y < h; y++)
        {
            var row = remapped.Row(y);
            for (var x = 0; x < w; x++)
            {
                for (var c = 0; c < 3; c++) Assert.Equal(expected[c][y * w + x], row[4 * x + c]);
                Assert.Equal(255, row[4 * x + 3]);
            }
        }
        using var narrow = Hailo.Media.RgbaImage.Filled(w - 1, h, 0, 0, 0);
        Assert.Throws<ArgumentException>(() => rect.Remap(narrow, right: false));
    }

    [Fact]
    public void An_unrectified_distorted_pair_gives_the_planes_metric_depth()
    {
        var rect = Rect.Value;
        var cal = rect.Calibration;
        var left = CalibratedScene.Render(cal, right: false);
        var right = CalibratedScene.Render(cal, right: true);
        var outside = new bool[left.Length];
        var l = rect.Remap(left, false, outside, 2);
        var r = rect.Remap(right, true, null, 2);
        var map = SemiGlobalMatcher.Match(l, r, CalibratedScene.W, CalibratedScene.H, new SgmOptions { NumDisparities = 80, Threads = 2 });
        var (truth, nearEdge) = CalibratedScene.Truth(rect, margin: 4);
        var fb = rect.Focal * rect.Baseline;
        foreach (var (plane, z) in new[] { ("board", CalibratedScene.BoardZ), ("wall", CalibratedScene.WallZ) })
        {
            int pixels = 0, produced = 0, within = 0;
            var errors = new List<double>();
            for (var v = 0; v < CalibratedScene.H; v++)
            for (var u = 90; u < CalibratedScene.W; u++) // the left 80 columns + margin have no match in the right view
            {
                var i = v * CalibratedScene.W + u;
                if (outside[i] || nearEdge[i]) continue;
                // Which plane: the truth along the rectified ray is within a few percent of the plane's Z (the frames differ by ~1°).
                if (Math.Abs(truth[i] - z) > 0.1 * z) continue;
                pixels++;
                if (map.Invalid[i] != 0) continue;
                produced++;
                var depth = fb / map.Disparity[i];
                var rel = Math.Abs(depth - truth[i]) / truth[i];
                errors.Add(rel);
                if (rel < 0.02) within++;
            }
            errors.Sort();
            var median = errors.Count == 0 ? 1 : errors[errors.Count / 2];
            output.WriteLine($"{plane} at {z} m: {pixels} pixels, density {produced / (double)pixels:P1}, within 2 % of the true depth {within / (double)Math.Max(1, produced):P2}, " +
                             $"median relative error {median:P3}");
            Assert.True(pixels > 10000, $"{plane}: {pixels}");
            Assert.True(produced > 0.85 * pixels, $"{plane}: density {produced}/{pixels}");
            Assert.True(within > 0.97 * produced, $"{plane}: {within}/{produced} within 2 %");
            Assert.True(median < 0.01, $"{plane}: median relative error {median}");
        }
    }

    private static ConfigErrors Validate(DepthConfig config)
    {
        var errors = new ConfigErrors();
        config.Validate(errors);
        return errors;
    }

    internal static CalibrationSection Section(StereoCalibration c) => new()
    {
        ImageWidth = c.Width,
        ImageHeight = c.Height,
        Left = Camera(c.Left),
        Right = Camera(c.Right),
        Rotation = c.R,
        Translation = c.T,
    };

    private static CameraSection Camera(CameraModel m) => new()
        { Fx = m.Fx, Fy = m.Fy, Cx = m.Cx, Cy = m.Cy, K1 = m.K1, K2 = m.K2, P1 = m.P1, P2 = m.P2, K3 = m.K3 };

    [Fact]
    public void No_calibration_by_default_and_a_good_one_is_rectified_at_validation()
    {
        var config = new DepthConfig();
        Assert.False(Validate(config).Any);
        Assert.Null(config.Stereo.Calibration.Rectification);
        config.Stereo.Calibration = Section(CalibratedScene.Calibration());
        Assert.False(Validate(config).Any, string.Join("; ", Validate(config).Messages));
        Assert.NotNull(config.Stereo.Calibration.Rectification);
        Assert.Equal(Rect.Value.Focal, config.Stereo.Calibration.Rectification!.Focal, 9);
    }

    public static TheoryData<string, string> BadCalibrations => new()
    {
        { "singular", "singular" },
        { "not_rotation", "not a rotation matrix" },
        { "negative_focal", "focal lengths must be positive" },
        { "zero_focal", "focal lengths must be positive" },
        { "zero_baseline", "baseline |T| is 0" },
        { "tiny_baseline", "at least 0.1 mm apart" },
        { "millimetres", "T must be in metres" },
        { "swapped", "swap the cameras" },
        { "vertical", "not mostly horizontal" },
        { "turned", "look the same way" },
        { "nan", "finite" },
        { "no_size", "image size is missing" },
        { "huge_size", "between 2 and 30000" },
        { "short_rotation", "9 finite numbers" },
        { "wrong_size", "is for another image size" },
        { "no_right", "right camera's intrinsics are missing" },
        { "scale", "translation_scale" },
    };

    [Theory]
    [MemberData(nameof(BadCalibrations))]
    public void A_calibration_that_makes_no_sense_stops_the_service_with_the_reason(string kind, string message)
    {
        var good = CalibratedScene.Calibration();
        var s = Section(good);
        switch (kind)
        {
            case "singular": s.Rotation = [1, 0, 0, 0, 1, 0, 0, 0, 0]; break;
            case "not_rotation": s.Rotation = [1, 0.1, 0, 0, 1, 0, 0, 0, 1]; break;
            case "negative_focal": s.Left.Fx = -500; break;
            case "zero_focal": s.Right.Fy = 0; break;
            case "zero_baseline": s.Translation = [0, 0, 0]; break;
            case "tiny_baseline": s.Translation = [-0.00001, 0, 0]; break;
            case "millimetres": s.Translation = [-60000, 0, 0]; break;
            case "swapped": s.Translation = [0.1, 0, 0]; break;
            case "vertical": s.Translation = [-0.01, 0.1, 0]; break;
            case "turned": s.Rotation = Rectification.AxisAngle(0, 1, 0, Math.PI / 2); break;
            case "nan": s.Left.Cx = double.NaN; break;
            case "no_size": s.ImageWidth = 0; s.ImageHeight = 0; break;
            case "huge_size": s.ImageWidth = 40000; break;
            case "short_rotation": s.Rotation = [1, 0, 0, 0, 1, 0]; break;
            // The intrinsics of a 480×360 camera against images declared 48×36.
            case "wrong_size": s.ImageWidth = 48; s.ImageHeight = 36; break;
            case "no_right": s.Right = new CameraSection(); break;
            case "scale": s.TranslationScale = 0; break;
        }
        var config = new DepthConfig();
        config.Stereo.Calibration = s;
        var errors = Validate(config);
        output.WriteLine(string.Join("\n", errors.Messages));
        Assert.True(errors.Any);
        Assert.Contains(errors.Messages, m => m.StartsWith("stereo.calibration", StringComparison.Ordinal) && m.Contains(message, StringComparison.Ordinal));
        Assert.Null(config.Stereo.Calibration.Rectification);
    }

    [Fact]
    public void A_calibration_file_in_this_layout_or_OpenCVs_gives_the_same_rectification()
    {
        var c = CalibratedScene.Calibration();
        var dir = Directory.CreateTempSubdirectory("hailo-depth-calibration-");
        try
        {
            string F(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            string List(IEnumerable<double> v) => "[" + string.Join(", ", v.Select(F)) + "]";
            string Cam(CameraModel m) => $"{{fx: {F(m.Fx)}, fy: {F(m.Fy)}, cx: {F(m.Cx)}, cy: {F(m.Cy)}, k1: {F(m.K1)}, k2: {F(m.K2)}, p1: {F(m.P1)}, p2: {F(m.P2)}, k3: {F(m.K3)}}}";
            var own = Path.Combine(dir.FullName, "rig.yaml");
            File.WriteAllText(own, $"image_width: {c.Width}\nimage_height: {c.Height}\nleft: {Cam(c.Left)}\nright: {Cam(c.Right)}\n" +
                                   $"rotation: {List(c.R)}\ntranslation: {List(c.T)}\n");
            // OpenCV's FileStorage layout, T in millimetres (translation_scale 0.001), D with 5 coefficients, extra outputs ignored.
            string Mat(int rows, int cols, IEnumerable<double> data) => $"!!opencv-matrix\n   rows: {rows}\n   cols: {cols}\n   dt: d\n   data: {List(data)}";
            string K(CameraModel m) => Mat(3, 3, [m.Fx, 0, m.Cx, 0, m.Fy, m.Cy, 0, 0, 1]);
            string D(CameraModel m) => Mat(1, 5, [m.K1, m.K2, m.P1, m.P2, m.K3]);
            var opencv = Path.Combine(dir.FullName, "stereo.yml");
            File.WriteAllText(opencv, $"%YAML:1.0\n---\nimage_width: {c.Width}\nimage_height: {c.Height}\nM1: {K(c.Left)}\nD1: {D(c.Left)}\nM2: {K(c.Right)}\nD2: {D(c.Right)}\n" +
                                      $"R: {Mat(3, 3, c.R)}\nT: {Mat(3, 1, c.T.Select(v => v * 1000))}\nE: {Mat(1, 1, [0])}\n");
            foreach (var (file, scale) in new[] { (own, 1.0), (opencv, 0.001) })
            {
                var config = new DepthConfig();
                config.Stereo.Calibration.File = file;
                config.Stereo.Calibration.TranslationScale = scale;
                var errors = Validate(config);
                Assert.False(errors.Any, string.Join("; ", errors.Messages));
                var rect = config.Stereo.Calibration.Rectification!;
                Assert.Equal(Rect.Value.Focal, rect.Focal, 9);
                Assert.Equal(Rect.Value.Baseline, rect.Baseline, 9);
                Assert.Equal(Rect.Value.Cx, rect.Cx, 6);
                Assert.Equal(Rect.Value.Cy, rect.Cy, 6);
                for (var i = 0; i < 9; i++) Assert.Equal(Rect.Value.R2[i], rect.R2[i], 9);
            }

            // Keys in the section win over the file's.
            var mixed = new DepthConfig();
            mixed.Stereo.Calibration.File = own;
            mixed.Stereo.Calibration.Translation = [0.1, 0, 0];
            Assert.Contains(Validate(mixed).Messages, m => m.Contains("swap the cameras", StringComparison.Ordinal) && m.Contains("rig.yaml", StringComparison.Ordinal));

            var bad = new (string Text, string Message)[]
            {
                ("left: [1, 2", "not valid YAML"),
                ("- a\n- b", "not a YAML mapping"),
                ($"image_width: 480\nimage_height: 360\nM1: {Mat(3, 3, [500, 0, 240, 0, 500, 180, 0, 0, 1])}\nD1: {Mat(1, 3, [0, 0, 0])}", "4 or 5 distortion coefficients"),
                ($"M1: {Mat(3, 3, [500, 1, 240, 0, 500, 180, 0, 0, 1])}", "skew"),
                ($"M1: {Mat(3, 2, [500, 0, 240, 0, 500, 180, 0, 0, 1])}", "rows × cols"),
                ($"D1: {Mat(1, 8, [0, 0, 0, 0, 0, 0.1, 0, 0])}", "rational"),
                ("R: [1, 0, 0]", "must have 9 numbers"),
                ("left: {fx: abc}", "'left.fx' must be a number"),
                ("image_width: 480\nimage_height: 360\nleft: {fx: 500, fy: 500, cx: 240, cy: 180}\nright: {fx: 500, fy: 500, cx: 240, cy: 180}\nrotation: [1, 0, 0, 0, 1, 0, 0, 0, 1]",
                    "translation is missing"),
            };
            foreach (var (text, message) in bad)
            {
                var path = Path.Combine(dir.FullName, "bad.yaml");
                File.WriteAllText(path, text);
                var config = new DepthConfig();
                config.Stereo.Calibration.File = path;
                var errors = Validate(config);
                output.WriteLine(string.Join("\n", errors.Messages));
                Assert.Contains(errors.Messages, m => m.StartsWith("stereo.calibration.file", StringComparison.Ordinal) && m.Contains(message, StringComparison.Ordinal));
            }
            var missing = new DepthConfig();
            missing.Stereo.Calibration.File = Path.Combine(dir.FullName, "nowhere.yaml");
            Assert.Contains(Validate(missing).Messages, m => m.Contains("cannot read the calibration file", StringComparison.Ordinal));
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void A_config_file_with_a_bad_calibration_is_refused_at_load()
    {
        var dir = Directory.CreateTempSubdirectory("hailo-depth-config-");
        try
        {
            var yaml = Path.Combine(dir.FullName, "hailo-depth.yaml");
            File.WriteAllText(yaml, "stereo:\n  calibration:\n    image_width: 640\n    image_height: 480\n    left: {fx: 500, fy: 500, cx: 320, cy: 240}\n" +
                                    "    right: {fx: 500, fy: 500, cx: 320, cy: 240}\n    rotation: [1, 0, 0, 0, 1, 0, 0, 0, 1]\n    translation: [0, 0, 0]\n");
            var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(new DepthConfig(), DepthConfigJson.Default.DepthConfig, yaml, true, []));
            output.WriteLine(e.Message);
            Assert.Contains(e.Problems, p => p.StartsWith("stereo.calibration:", StringComparison.Ordinal) && p.Contains("baseline", StringComparison.Ordinal));
            File.WriteAllText(yaml, File.ReadAllText(yaml).Replace("[0, 0, 0]", "[-0.06, 0, 0]", StringComparison.Ordinal));
            var config = ConfigLoader.Load(new DepthConfig(), DepthConfigJson.Default.DepthConfig, yaml, true, []);
            Assert.Equal(0.06, config.Stereo.Calibration.Rectification!.Baseline, 9);
            Assert.Equal(500, config.Stereo.Calibration.Rectification.Focal, 9);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}

/// <summary>POST /v1/depth/stereo on a service with a calibration: raw pairs in, metric depth out.</summary>
public sealed class CalibratedStereoApiTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunningService? _service;
    private HttpClient Client => _service!.Client;

    public async Task InitializeAsync()
    {
        var config = new DepthConfig { Device = Backend.Cpu };
        config.Models.Dir = Path.GetTempPath();
        config.Models.SearchPaths = [];
        config.Models.Preload = false;
        config.Cpu.Threads = 2;
        config.Stereo.Calibration = RectificationTests.Section(CalibratedScene.Calibration());
        var errors = new ConfigErrors();
        config.Validate(errors);
        Assert.False(errors.Any, string.Join("; ", errors.Messages));
        _service = await RunningService.StartAsync(DepthService.Definition, config);
    }

    public async Task DisposeAsync()
    {
        if (_service is not null) await _service.DisposeAsync();
    }

    [Fact]
    public async Task A_raw_pair_comes_back_as_metric_depth_of_the_rectified_left_view()
    {
        var cal = CalibratedScene.Calibration();
        var left = StereoApiTests.Png(CalibratedScene.Render(cal, false), CalibratedScene.W, CalibratedScene.H);
        var right = StereoApiTests.Png(CalibratedScene.Render(cal, true), CalibratedScene.W, CalibratedScene.H);
        using var r = await Client.PostAsync("/v1/depth/stereo",
            StereoApiTests.Form(left, right, "image_left", ("num_disparities", "80"), ("output_format", "npy"), ("normalize", "false")));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, text[..Math.Min(400, text.Length)]);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("depth", body.GetProperty("quantity").GetString());
        Assert.Equal("metre", body.GetProperty("unit").GetString());
        Assert.True(body.GetProperty("rectified").GetBoolean());
        var rect = Rectification.Compute(cal);
        Assert.Equal(rect.Focal, body.GetProperty("focal_px").GetDouble(), 6);
        Assert.Equal(rect.Baseline, body.GetProperty("baseline_m").GetDouble(), 9);
        Assert.True(body.GetProperty("performance").GetProperty("rectify_time_ms").GetDouble() >= 0);
        var depth = NpyFloats(Convert.FromBase64String(body.GetProperty("depth_npy").GetString()!));
        var (truth, near) = CalibratedScene.Truth(rect, 4);
        int n = 0, good = 0;
        for (var i = 0; i < depth.Length; i++)
        {
            if (i % CalibratedScene.W < 90 || near[i] || !float.IsFinite(depth[i])) continue;
            n++;
            if (Math.Abs(depth[i] - truth[i]) < 0.02 * truth[i]) good++;
        }
        output.WriteLine($"{n} valid pixels, {good / (double)n:P2} within 2 % of the true depth");
        Assert.True(n > 0.8 * CalibratedScene.H * (CalibratedScene.W - 90) * 0.85, $"{n}");
        Assert.True(good > 0.97 * n, $"{good}/{n}");
    }

    private static float[] NpyFloats(byte[] npy)
    {
        var headerLength = BitConverter.ToUInt16(npy, 8);
        var start = 10 + headerLength;
        var values = new float[(npy.Length - start) / 4];
        Buffer.BlockCopy(npy, start, values, 0, values.Length * 4);
        return values;
    }

    [Fact]
    public async Task Images_of_another_size_or_a_focal_length_in_the_request_are_refused()
    {
        var small = StereoApiTests.Png(new byte[64 * 48], 64, 48);
        using var r = await Client.PostAsync("/v1/depth/stereo", StereoApiTests.Form(small, small));
        var text = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal("calibration_size_mismatch", error.GetProperty("code").GetString());
        Assert.Contains("480×360", error.GetProperty("message").GetString());

        var pair = StereoApiTests.Png(new byte[CalibratedScene.W * CalibratedScene.H], CalibratedScene.W, CalibratedScene.H);
        using var f = await Client.PostAsync("/v1/depth/stereo", StereoApiTests.Form(pair, pair, "image_left", ("focal_px", "500"), ("baseline_m", "0.1")));
        text = await f.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, f.StatusCode);
        Assert.Contains("stereo.calibration is configured", text);
    }
}
