using HailoDepth.Pipeline.Stereo;

namespace Hailo.Depth.Tests.Stereo;

/// <summary>
/// A known 3D scene seen by two calibrated cameras (different intrinsics, lens distortion, a small rotation between
/// them), rendered by casting each pixel's ray: a textured wall at <see cref="WallZ"/> metres and a textured board
/// at <see cref="BoardZ"/> in front of it, both fronto-parallel to the left camera. The texture is fixed to the
/// surfaces (world X, Y), so both views see the same pattern.
/// </summary>
internal static class CalibratedScene
{
    public const int W = 480, H = 360;
    public const double WallZ = 2.0, BoardZ = 1.0;
    /// <summary>The board: |X - 0.02| &lt; 0.25, |Y + 0.01| &lt; 0.18 metres in the left camera's frame.</summary>
    public static bool OnBoard(double x, double y) => Math.Abs(x - 0.02) < 0.25 && Math.Abs(y + 0.01) < 0.18;

    public static readonly CameraModel LeftCamera = new(505, 500, 243, 176, K1: -0.09, K2: 0.02, P1: 0.0006, P2: -0.0004, K3: 0);
    public static readonly CameraModel RightCamera = new(512, 509, 236.5, 183, K1: -0.07, K2: 0.015, P1: -0.0003, P2: 0.0005, K3: 0.001);

    /// <summary>The right camera turned 1.5° about y, 0.8° about x, 0.6° about z; 10 cm to the right and slightly off-axis.</summary>
    public static StereoCalibration Calibration()
    {
        var r = Rectification.Mul3(Rectification.Mul3(
                Rectification.AxisAngle(0, 1, 0, 1.5 * Math.PI / 180),
                Rectification.AxisAngle(1, 0, 0, 0.8 * Math.PI / 180)),
            Rectification.AxisAngle(0, 0, 1, 0.6 * Math.PI / 180));
        // The right camera's centre is at C = (0.1, 0.003, -0.002) in the left frame: T = -R·C.
        var c = new[] { 0.1, 0.003, -0.002 };
        var rc = Rectification.Mul(r, c);
        return new StereoCalibration(W, H, LeftCamera, RightCamera, r, [-rc[0], -rc[1], -rc[2]]);
    }

    /// <summary>Distance along the ray origin + s·dir (left frame) to the first surface, and the hit point.</summary>
    public static (double S, double X, double Y, double Z) Hit(double[] origin, double[] dir)
    {
        var s = (BoardZ - origin[2]) / dir[2];
        double x = origin[0] + s * dir[0], y = origin[1] + s * dir[1];
        if (s > 0 && OnBoard(x, y)) return (s, x, y, BoardZ);
        s = (WallZ - origin[2]) / dir[2];
        return (s, origin[0] + s * dir[0], origin[1] + s * dir[1], WallZ);
    }

    /// <summary>Smooth random texture fixed to the surfaces: value noise on a 7 mm and a 19 mm grid.</summary>
    public static double Texture(double x, double y, double z) =>
        0.65 * Noise(x / 0.007, y / 0.007, (int)(z * 10)) + 0.35 * Noise(x / 0.019, y / 0.019, 1000 + (int)(z * 10));

    private static double Noise(double u, double v, int seed)
    {
        var iu = (int)Math.Floor(u);
        var iv = (int)Math.Floor(v);
        double fu = u - iu, fv = v - iv;
        fu = fu * fu * (3 - 2 * fu);
        fv = fv * fv * (3 - 2 * fv);
        double a = Hash(iu, iv, seed), b = Hash(iu + 1, iv, seed), c = Hash(iu, iv + 1, seed), d = Hash(iu + 1, iv + 1, seed);
        return a + (b - a) * fu + (c - a) * fv + (a - b - c + d) * fu * fv;
    }

    private static double Hash(int x, int y, int seed)
    {
        var h = (uint)(x * 374761393 + y * 668265263 + seed * 982451653);
        h = (h ^ (h >> 13)) * 1274126177u;
        h ^= h >> 16;
        return (h & 0xFFFF) / 65535.0;
    }

    /// <summary>The raw (distorted, unrectified) grey image of one camera, 3×3 samples per pixel.</summary>
    public static byte[] Render(StereoCalibration cal, bool right)
    {
        var cam = right ? cal.Right : cal.Left;
        // Left frame = world. The right camera: X_r = R·X + T, so its centre is -Rᵀ·T and its rays turn by Rᵀ.
        var rt = Rectification.Transpose(cal.R);
        var centre = right ? Rectification.Mul(rt, cal.T).Select(v => -v).ToArray() : [0.0, 0, 0];
        var image = new byte[W * H];
        Parallel.For(0, H, v =>
        {
            for (var u = 0; u < W; u++)
            {
                double sum = 0;
                for (var sy = -1; sy <= 1; sy++)
                for (var sx = -1; sx <= 1; sx++)
                {
                    var (x, y) = cam.Ray(u + sx / 3.0, v + sy / 3.0);
                    double[] dir = [x, y, 1];
                    if (right) dir = Rectification.Mul(rt, dir);
                    var hit = Hit(centre, dir);
                    sum += Texture(hit.X, hit.Y, hit.Z);
                }
                image[v * W + u] = (byte)Math.Clamp(Math.Round(20 + 215 * sum / 9), 0, 255);
            }
        });
        return image;
    }

    /// <summary>True depth (Z in the rectified left camera's frame, metres) at each rectified left pixel, and whether a board edge is within <paramref name="margin"/> px.</summary>
    public static (double[] Depth, bool[] NearEdge) Truth(Rectification rect, int margin)
    {
        var depth = new double[W * H];
        var rt = Rectification.Transpose(rect.R1);
        for (var v = 0; v < H; v++)
        for (var u = 0; u < W; u++)
        {
            // The rectified ray (x, y, 1) in the left camera's frame; its Z in the rectified frame is the ray's parameter.
            var dir = Rectification.Mul(rt, [(u - rect.Cx) / rect.Focal, (v - rect.Cy) / rect.Focal, 1]);
            depth[v * W + u] = Hit([0, 0, 0], dir).S;
        }
        var near = new bool[W * H];
        for (var v = 0; v < H; v++)
        for (var u = 0; u < W; u++)
        {
            var d = depth[v * W + u];
            for (var dy = -margin; dy <= margin && !near[v * W + u]; dy++)
            for (var dx = -margin; dx <= margin; dx++)
            {
                int x = u + dx, y = v + dy;
                if (x < 0 || y < 0 || x >= W || y >= H) continue;
                if (Math.Abs(depth[y * W + x] - d) > 0.1 * d)
                {
                    near[v * W + u] = true;
                    break;
                }
            }
        }
        return (depth, near);
    }
}
