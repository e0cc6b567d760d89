using System.Numerics;

namespace Hailo.Face;

/// <summary>
/// A 2-D similarity transform (uniform scale, rotation, translation; no reflection or shear):
/// x' = A·x − B·y + Tx, y' = B·x + A·y + Ty, i.e. the 2×3 matrix [[A, −B, Tx], [B, A, Ty]] with scale √(A² + B²)
/// and angle atan2(B, A).
/// </summary>
public readonly record struct SimilarityTransform(double A, double B, double Tx, double Ty)
{
    public double Scale => Math.Sqrt(A * A + B * B);
    /// <summary>Rotation in radians, counter-clockwise in a y-up frame (clockwise on screen, where y points down).</summary>
    public double Angle => Math.Atan2(B, A);

    public static SimilarityTransform FromScaleAngle(double scale, double angle, double tx, double ty) =>
        new(scale * Math.Cos(angle), scale * Math.Sin(angle), tx, ty);

    public Vector2 Apply(Vector2 p) => new((float)(A * p.X - B * p.Y + Tx), (float)(B * p.X + A * p.Y + Ty));

    public (double X, double Y) Apply(double x, double y) => (A * x - B * y + Tx, B * x + A * y + Ty);

    /// <summary>The inverse transform (a similarity too).</summary>
    public SimilarityTransform Inverse()
    {
        var d = A * A + B * B;
        if (d == 0) throw new InvalidOperationException("a transform of scale 0 has no inverse");
        double ia = A / d, ib = -B / d;
        return new SimilarityTransform(ia, ib, -(ia * Tx - ib * Ty), -(ib * Tx + ia * Ty));
    }

    /// <summary>The 2×3 matrix, row-major: A, −B, Tx, B, A, Ty.</summary>
    public double[] ToMatrix() => [A, -B, Tx, B, A, Ty];

    /// <summary>
    /// The least-squares similarity taking <paramref name="source"/> onto <paramref name="target"/>: the transform
    /// minimising Σ‖T(pᵢ) − qᵢ‖². Writing points as complex numbers, T(p) = w·p + t with w = A + iB; after
    /// removing both centroids the optimum is w = Σ conj(p̃ᵢ)·q̃ᵢ / Σ|p̃ᵢ|² and t = q̄ − w·p̄ — the 2-D case of
    /// Umeyama's estimate (1991) restricted to proper rotations. Null when the source points coincide.
    /// </summary>
    public static SimilarityTransform? Estimate(ReadOnlySpan<Vector2> source, ReadOnlySpan<Vector2> target)
    {
        if (source.Length != target.Length) throw new ArgumentException("source and target need the same number of points");
        var n = source.Length;
        if (n < 2) return null;
        double spx = 0, spy = 0, sqx = 0, sqy = 0;
        for (var i = 0; i < n; i++)
        {
            spx += source[i].X; spy += source[i].Y;
            sqx += target[i].X; sqy += target[i].Y;
        }
        double mpx = spx / n, mpy = spy / n, mqx = sqx / n, mqy = sqy / n;
        double re = 0, im = 0, norm = 0;
        for (var i = 0; i < n; i++)
        {
            double px = source[i].X - mpx, py = source[i].Y - mpy, qx = target[i].X - mqx, qy = target[i].Y - mqy;
            re += px * qx + py * qy;
            im += px * qy - py * qx;
            norm += px * px + py * py;
        }
        if (!(norm > 1e-12) || !double.IsFinite(norm)) return null;
        double a = re / norm, b = im / norm;
        return new SimilarityTransform(a, b, mqx - (a * mpx - b * mpy), mqy - (b * mpx + a * mpy));
    }

    /// <summary>Root-mean-square distance between T(source) and target.</summary>
    public double Rms(ReadOnlySpan<Vector2> source, ReadOnlySpan<Vector2> target)
    {
        double sum = 0;
        for (var i = 0; i < source.Length; i++)
        {
            var (x, y) = Apply(source[i].X, source[i].Y);
            sum += (x - target[i].X) * (x - target[i].X) + (y - target[i].Y) * (y - target[i].Y);
        }
        return Math.Sqrt(sum / source.Length);
    }
}
