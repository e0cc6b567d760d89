using Hailo.Media;

namespace HailoDepth.Pipeline.Stereo;

/// <summary>One camera's pinhole intrinsics (pixels) and Brown-Conrady distortion (k1, k2, k3 radial; p1, p2 tangential).</summary>
public readonly record struct CameraModel(double Fx, double Fy, double Cx, double Cy, double K1 = 0, double K2 = 0, double P1 = 0, double P2 = 0, double K3 = 0)
{
    /// <summary>Distorts normalised coordinates (x = X/Z, y = Y/Z).</summary>
    public (double X, double Y) Distort(double x, double y)
    {
        var r2 = x * x + y * y;
        var radial = 1 + r2 * (K1 + r2 * (K2 + r2 * K3));
        return (x * radial + 2 * P1 * x * y + P2 * (r2 + 2 * x * x), y * radial + P1 * (r2 + 2 * y * y) + 2 * P2 * x * y);
    }

    /// <summary>Inverts <see cref="Distort"/> by fixed-point iteration (converges for the mild distortion of ordinary lenses).</summary>
    public (double X, double Y) Undistort(double xd, double yd)
    {
        double x = xd, y = yd;
        for (var i = 0; i < 50; i++)
        {
            var r2 = x * x + y * y;
            var radial = 1 + r2 * (K1 + r2 * (K2 + r2 * K3));
            var dx = 2 * P1 * x * y + P2 * (r2 + 2 * x * x);
            var dy = P1 * (r2 + 2 * y * y) + 2 * P2 * x * y;
            double nx = (xd - dx) / radial, ny = (yd - dy) / radial;
            var change = Math.Abs(nx - x) + Math.Abs(ny - y);
            x = nx;
            y = ny;
            if (change < 1e-12) break;
        }
        return (x, y);
    }

    /// <summary>Pixel of a point given in this camera's frame (Z forward).</summary>
    public (double U, double V) Project(double X, double Y, double Z)
    {
        var (x, y) = Distort(X / Z, Y / Z);
        return (Fx * x + Cx, Fy * y + Cy);
    }

    /// <summary>The normalised, undistorted ray (x, y, 1) through a pixel.</summary>
    public (double X, double Y) Ray(double u, double v) => Undistort((u - Cx) / Fx, (v - Cy) / Fy);
}

/// <summary>
/// A calibrated stereo rig: both cameras, and the pose of the right camera relative to the left — a point X in the
/// left camera's frame is R·X + T in the right camera's frame (OpenCV's stereoCalibrate convention), T in metres.
/// </summary>
public sealed record StereoCalibration(int Width, int Height, CameraModel Left, CameraModel Right, double[] R, double[] T);

/// <summary>The calibration makes no sense; the message names the problem.</summary>
public sealed class CalibrationException(string message) : Exception(message);

/// <summary>
/// Rectification of a calibrated pair (Bouguet's construction): each camera is turned half of the rotation between
/// them, then both together so the baseline lies along x; both get one pinhole camera (focal <see cref="Focal"/>,
/// principal point <see cref="Cx"/>, <see cref="Cy"/>) with no distortion. Rows of the rectified images are then
/// epipolar lines and depth = Focal · Baseline / disparity. The per-pixel lookup tables are built once.
/// </summary>
public sealed class Rectification
{
    public StereoCalibration Calibration { get; }
    /// <summary>Rotations from each camera's frame into its rectified frame (row-major 3×3).</summary>
    public double[] R1 { get; }
    public double[] R2 { get; }
    public double Focal { get; }
    public double Cx { get; }
    public double Cy { get; }
    /// <summary>|T|, metres.</summary>
    public double Baseline { get; }
    public int Width => Calibration.Width;
    public int Height => Calibration.Height;
    internal RemapTable LeftMap { get; }
    internal RemapTable RightMap { get; }

    private Rectification(StereoCalibration c, double[] r1, double[] r2, double focal, double cx, double cy, double baseline)
    {
        Calibration = c;
        R1 = r1;
        R2 = r2;
        Focal = focal;
        Cx = cx;
        Cy = cy;
        Baseline = baseline;
        LeftMap = BuildMap(c.Left, r1);
        RightMap = BuildMap(c.Right, r2);
    }

    /// <summary>Checks the calibration and computes the rectification and its tables; throws <see cref="CalibrationException"/> naming what is wrong.</summary>
    public static Rectification Compute(StereoCalibration c)
    {
        Check(c);
        // Half of R: the rotation of the same axis by half the angle. With X_r = R·X_l + T, turning the left frame by
        // Rh and the right one by Rhᵀ makes them parallel: Rhᵀ·X_r = Rh·X_l + Rhᵀ·T.
        var rh = HalfRotation(c.R);
        var t = Mul(Transpose(rh), c.T);
        var baseline = Math.Sqrt(Dot(t, t));
        // In the parallel frames the right camera's centre is at -t; turn -t/|t| onto +x by the smallest rotation.
        double[] e = [-t[0] / baseline, -t[1] / baseline, -t[2] / baseline];
        var q = RotationOnto(e, [1, 0, 0]);
        var r1 = Mul3(q, rh);
        var r2 = Mul3(q, Transpose(rh));
        // One focal length for both: the smaller vertical focal length, so neither image is magnified beyond its pixels.
        var focal = Math.Min(c.Left.Fy, c.Right.Fy);
        // The principal point: the image centres of both cameras, rectified, land on average on the rectified image's centre.
        double sx = 0, sy = 0;
        foreach (var (cam, rot) in new[] { (c.Left, r1), (c.Right, r2) })
        {
            var (x, y) = cam.Ray((c.Width - 1) / 2.0, (c.Height - 1) / 2.0);
            var p = Mul(rot, [x, y, 1]);
            if (p[2] <= 0) throw new CalibrationException("the cameras look in directions more than 90° apart after rectification");
            sx += focal * p[0] / p[2];
            sy += focal * p[1] / p[2];
        }
        var cx = (c.Width - 1) / 2.0 - sx / 2;
        var cy = (c.Height - 1) / 2.0 - sy / 2;
        var rect = new Rectification(c, r1, r2, focal, cx, cy, baseline);
        var coverage = Math.Min(rect.LeftMap.Coverage, rect.RightMap.Coverage);
        if (coverage < 0.5)
            throw new CalibrationException($"after rectification only {coverage:P0} of the {(rect.LeftMap.Coverage < rect.RightMap.Coverage ? "left" : "right")} image " +
                                           $"comes from the camera's {c.Width}×{c.Height} pixels: the intrinsics, distortion or rotation do not fit images of this size");
        return rect;
    }

    /// <summary>Where a raw pixel of the left (right = false) or right camera lands in its rectified image.</summary>
    public (double U, double V) RectifyPoint(bool right, double u, double v)
    {
        var cam = right ? Calibration.Right : Calibration.Left;
        var (x, y) = cam.Ray(u, v);
        var p = Mul(right ? R2 : R1, [x, y, 1]);
        return (Focal * p[0] / p[2] + Cx, Focal * p[1] / p[2] + Cy);
    }

    /// <summary>Where a rectified pixel comes from in the raw left (right = false) or right image.</summary>
    public (double U, double V) Source(bool right, double u, double v)
    {
        var cam = right ? Calibration.Right : Calibration.Left;
        var rot = right ? R2 : R1;
        // The rectified ray, back in the camera's own frame (Rᵀ), then projected with the camera's distortion.
        double[] ray = [(u - Cx) / Focal, (v - Cy) / Focal, 1];
        var p = Mul(Transpose(rot), ray);
        if (p[2] <= 1e-9) return (double.NaN, double.NaN);
        return cam.Project(p[0], p[1], p[2]);
    }

    private RemapTable BuildMap(CameraModel cam, double[] rot)
    {
        int w = Calibration.Width, h = Calibration.Height;
        var table = new RemapTable(w, h);
        var rt = Transpose(rot);
        long inside = 0;
        for (var v = 0; v < h; v++)
        {
            for (var u = 0; u < w; u++)
            {
                double rx = (u - Cx) / Focal, ry = (v - Cy) / Focal;
                var px = rt[0] * rx + rt[1] * ry + rt[2];
                var py = rt[3] * rx + rt[4] * ry + rt[5];
                var pz = rt[6] * rx + rt[7] * ry + rt[8];
                var i = v * w + u;
                if (pz <= 1e-9)
                {
                    table.Offset[i] = -1;
                    continue;
                }
                var (x, y) = cam.Distort(px / pz, py / pz);
                double su = cam.Fx * x + cam.Cx, sv = cam.Fy * y + cam.Cy;
                if (!(su >= 0 && su <= w - 1 && sv >= 0 && sv <= h - 1))
                {
                    table.Offset[i] = -1;
                    continue;
                }
                // 1/256-pixel fixed point; the last row or column is reached as weight 256 of the one before.
                var fu = (int)Math.Round(su * RemapTable.One);
                var fv = (int)Math.Round(sv * RemapTable.One);
                int x0 = Math.Min(fu >> RemapTable.Bits, w - 2), y0 = Math.Min(fv >> RemapTable.Bits, h - 2);
                x0 = Math.Max(x0, 0);
                y0 = Math.Max(y0, 0);
                table.Offset[i] = y0 * w + x0;
                table.WeightX[i] = (ushort)Math.Clamp(fu - (x0 << RemapTable.Bits), 0, RemapTable.One);
                table.WeightY[i] = (ushort)Math.Clamp(fv - (y0 << RemapTable.Bits), 0, RemapTable.One);
                inside++;
            }
        }
        table.Coverage = inside / (double)((long)w * h);
        return table;
    }

    /// <summary>Rectifies one grey image of the calibration's size; pixels that come from outside the camera's image are 0 and flagged in <paramref name="outside"/>.</summary>
    public byte[] Remap(byte[] grey, bool right, bool[]? outside = null, int threads = 1)
    {
        var table = right ? RightMap : LeftMap;
        int w = Width, h = Height;
        if (grey.Length != w * h) throw new ArgumentException($"the image is not {w}×{h}", nameof(grey));
        var dst = GC.AllocateUninitializedArray<byte>(w * h);
        var bands = Math.Clamp(threads, 1, h);
        Parallel.For(0, bands, new ParallelOptions { MaxDegreeOfParallelism = bands }, b =>
        {
            int y0 = h * b / bands, y1 = h * (b + 1) / bands;
            table.Apply(grey, dst, outside, y0 * w, y1 * w);
        });
        return dst;
    }

    /// <summary>
    /// Rectifies a colour image (for a network that takes RGB): each channel through the same table as
    /// <see cref="Remap(byte[], bool, bool[], int)"/>.
    /// </summary>
    public RgbaImage Remap(RgbaImage image, bool right, bool[]? outside = null, int threads = 1)
    {
        int w = Width, h = Height;
        if (image.Width != w || image.Height != h) throw new ArgumentException($"the image is not {w}×{h}", nameof(image));
        var planes = new byte[3][];
        for (var c = 0; c < 3; c++) planes[c] = GC.AllocateUninitializedArray<byte>(w * h);
        for (var y = 0; y < h; y++)
        {
            var row = image.Row(y);
            for (var x = 0; x < w; x++)
                for (var c = 0; c < 3; c++)
                    planes[c][y * w + x] = row[4 * x + c];
        }
        for (var c = 0; c < 3; c++) planes[c] = Remap(planes[c], right, c == 0 ? outside : null, threads);
        var rgba = GC.AllocateUninitializedArray<byte>(w * h * 4);
        for (var i = 0; i < w * h; i++)
        {
            rgba[4 * i] = planes[0][i];
            rgba[4 * i + 1] = planes[1][i];
            rgba[4 * i + 2] = planes[2][i];
            rgba[4 * i + 3] = 255;
        }
        return RgbaImage.FromRgba(rgba, w, h);
    }

    private static void Check(StereoCalibration c)
    {
        if (c.Width is < 2 or > 30000 || c.Height is < 2 or > 30000)
            throw new CalibrationException($"image size {c.Width}×{c.Height}: width and height must be between 2 and 30000");
        if ((long)c.Width * c.Height > 100_000_000)
            throw new CalibrationException($"image size {c.Width}×{c.Height} is above 100 megapixels");
        foreach (var (name, cam) in new[] { ("left", c.Left), ("right", c.Right) })
        {
            if (!(cam.Fx > 0 && cam.Fy > 0 && cam.Fx < 1e6 && cam.Fy < 1e6))
                throw new CalibrationException($"the {name} camera's focal lengths must be positive numbers of pixels below 10⁶ (fx {cam.Fx}, fy {cam.Fy})");
            if (cam.Fx / cam.Fy is > 10 or < 0.1)
                throw new CalibrationException($"the {name} camera's fx ({cam.Fx}) and fy ({cam.Fy}) differ more than tenfold");
            if (!(double.IsFinite(cam.Cx) && double.IsFinite(cam.Cy) && Math.Abs(cam.Cx) < 1e6 && Math.Abs(cam.Cy) < 1e6))
                throw new CalibrationException($"the {name} camera's principal point ({cam.Cx}, {cam.Cy}) is not a finite pixel position");
            if (cam.Cx < 0 || cam.Cx > c.Width || cam.Cy < 0 || cam.Cy > c.Height)
                throw new CalibrationException($"the {name} camera's principal point ({cam.Cx}, {cam.Cy}) is outside the {c.Width}×{c.Height} image: " +
                                               "the calibration is for another image size (image_width, image_height)");
            foreach (var k in new[] { cam.K1, cam.K2, cam.P1, cam.P2, cam.K3 })
                if (!(double.IsFinite(k) && Math.Abs(k) < 1e4))
                    throw new CalibrationException($"the {name} camera's distortion coefficients must be finite numbers below 10⁴ in size (got {k})");
        }
        if (c.R is not { Length: 9 } || c.R.Any(v => !double.IsFinite(v)))
            throw new CalibrationException("the rotation R must be 9 finite numbers (3×3, row by row)");
        if (c.T is not { Length: 3 } || c.T.Any(v => !double.IsFinite(v)))
            throw new CalibrationException("the translation T must be 3 finite numbers (metres)");
        var det = Det(c.R);
        var rrt = Mul3(c.R, Transpose(c.R));
        var off = 0.0;
        for (var i = 0; i < 3; i++)
        for (var j = 0; j < 3; j++)
            off = Math.Max(off, Math.Abs(rrt[3 * i + j] - (i == j ? 1 : 0)));
        if (off > 1e-3 || Math.Abs(det - 1) > 1e-3)
            throw new CalibrationException($"R is not a rotation matrix (determinant {det:G4}, R·Rᵀ differs from the identity by up to {off:G3}){(Math.Abs(det) < 1e-6 ? ": it is singular" : "")}");
        var angle = Math.Acos(Math.Clamp((c.R[0] + c.R[4] + c.R[8] - 1) / 2, -1, 1)) * 180 / Math.PI;
        if (angle > 60)
            throw new CalibrationException($"R turns the right camera {angle:F0}° from the left one; a stereo pair's cameras look the same way (at most 60° apart)");
        var len = Math.Sqrt(Dot(c.T, c.T));
        if (len < 1e-4)
            throw new CalibrationException($"the baseline |T| is {len:G3} m: the cameras must be at least 0.1 mm apart (T is in metres; see translation_scale)");
        if (len > 1000)
            throw new CalibrationException($"the baseline |T| is {len:G3} m, above 1000 m: T must be in metres (see translation_scale)");
        // The matcher searches the right image to the left of each left pixel: the right camera must be to the right (T.x < 0).
        var t = Mul(Transpose(HalfRotation(c.R)), c.T);
        var horizontal = -t[0] / len;
        if (horizontal < -0.7)
            throw new CalibrationException($"the right camera is to the left of the left camera (T = [{c.T[0]:G4}, {c.T[1]:G4}, {c.T[2]:G4}] m, its x should be negative): swap the cameras");
        if (horizontal < 0.7)
            throw new CalibrationException($"the baseline T = [{c.T[0]:G4}, {c.T[1]:G4}, {c.T[2]:G4}] m is not mostly horizontal: only side-by-side pairs are rectified (the right camera to the right of the left)");
    }

    /// <summary>The rotation about the same axis by half the angle (Rodrigues).</summary>
    internal static double[] HalfRotation(double[] r)
    {
        // w = sin θ · axis, from the antisymmetric part; cos θ from the trace.
        double wx = (r[7] - r[5]) / 2, wy = (r[2] - r[6]) / 2, wz = (r[3] - r[1]) / 2;
        var s = Math.Sqrt(wx * wx + wy * wy + wz * wz);
        var cos = Math.Clamp((r[0] + r[4] + r[8] - 1) / 2, -1, 1);
        var theta = Math.Atan2(s, cos);
        if (s < 1e-15) return [1, 0, 0, 0, 1, 0, 0, 0, 1];
        return AxisAngle(wx / s, wy / s, wz / s, theta / 2);
    }

    internal static double[] AxisAngle(double x, double y, double z, double angle)
    {
        double c = Math.Cos(angle), s = Math.Sin(angle), k = 1 - c;
        return
        [
            c + x * x * k, x * y * k - z * s, x * z * k + y * s,
            y * x * k + z * s, c + y * y * k, y * z * k - x * s,
            z * x * k - y * s, z * y * k + x * s, c + z * z * k,
        ];
    }

    /// <summary>The smallest rotation taking unit vector a onto unit vector b.</summary>
    private static double[] RotationOnto(double[] a, double[] b)
    {
        double[] axis = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
        var s = Math.Sqrt(Dot(axis, axis));
        var angle = Math.Atan2(s, Dot(a, b));
        if (s < 1e-15) return [1, 0, 0, 0, 1, 0, 0, 0, 1];
        return AxisAngle(axis[0] / s, axis[1] / s, axis[2] / s, angle);
    }

    internal static double Dot(double[] a, double[] b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    internal static double Det(double[] m) =>
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
    internal static double[] Transpose(double[] m) => [m[0], m[3], m[6], m[1], m[4], m[7], m[2], m[5], m[8]];
    internal static double[] Mul(double[] m, double[] v) =>
        [m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2], m[6] * v[0] + m[7] * v[1] + m[8] * v[2]];
    internal static double[] Mul3(double[] a, double[] b)
    {
        var m = new double[9];
        for (var i = 0; i < 3; i++)
        for (var j = 0; j < 3; j++)
            m[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
        return m;
    }
}

/// <summary>A rectification lookup: for each output pixel the top-left source pixel and 8-bit bilinear weights (-1: outside).</summary>
internal sealed class RemapTable(int width, int height)
{
    public const int Bits = 8, One = 1 << Bits;
    public readonly int[] Offset = new int[width * height];
    public readonly ushort[] WeightX = new ushort[width * height];
    public readonly ushort[] WeightY = new ushort[width * height];
    public double Coverage;

    public void Apply(byte[] src, byte[] dst, bool[]? outside, int from, int to)
    {
        var w = width;
        for (var i = from; i < to; i++)
        {
            var o = Offset[i];
            if (o < 0)
            {
                dst[i] = 0;
                if (outside is not null) outside[i] = true;
                continue;
            }
            int ax = WeightX[i], ay = WeightY[i];
            int p00 = src[o], p01 = src[o + 1], p10 = src[o + w], p11 = src[o + w + 1];
            var top = (p00 << Bits) + (p01 - p00) * ax;
            var bottom = (p10 << Bits) + (p11 - p10) * ax;
            dst[i] = (byte)(((top << Bits) + (bottom - top) * ay + (1 << (2 * Bits - 1))) >> (2 * Bits));
            if (outside is not null) outside[i] = false;
        }
    }
}
