namespace Hailo.Depth.Tests.Stereo;

/// <summary>
/// Rectified pairs with a known left disparity: a random-dot texture seen through a disparity field. The left image
/// samples the texture at whole pixels; the right image pixel xr shows the surface point the left image has at x with
/// x − d(x) = xr (the nearer surface where two meet), sampled with linear interpolation, plus a little noise.
/// </summary>
internal sealed class SyntheticPair
{
    public required byte[] Left { get; init; }
    public required byte[] Right { get; init; }
    public required float[] Truth { get; init; }
    /// <summary>Left pixels the right camera cannot see (hidden behind a nearer surface, or outside its image).</summary>
    public required bool[] Occluded { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }

    /// <summary>Surfaces as (disparity at x, y; true where this surface is present at left pixel x, y), nearest wins.</summary>
    public static SyntheticPair Make(int width, int height, Func<float, int, float> disparity, int seed = 1, int noise = 2)
    {
        var random = new Random(seed);
        // Texture: random values on a grid a little coarser than the pixels, so the right image's interpolation keeps it.
        const int extra = 64; // the right camera sees past the left image's right edge
        var texture = new float[(width + extra) * height];
        for (var i = 0; i < texture.Length; i++) texture[i] = random.Next(256);
        float Texture(float x, int y)
        {
            var x0 = (int)MathF.Floor(x);
            var f = x - x0;
            var a = texture[y * (width + extra) + Math.Clamp(x0, 0, width + extra - 1)];
            var b = texture[y * (width + extra) + Math.Clamp(x0 + 1, 0, width + extra - 1)];
            return a + (b - a) * f;
        }
        var left = new byte[width * height];
        var right = new byte[width * height];
        var truth = new float[width * height];
        var occluded = new bool[width * height];
        var hit = new float[width];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                truth[y * width + x] = disparity(x, y);
                left[y * width + x] = Noisy(Texture(x, y), random, noise);
            }
            // The right image: for each right pixel, the left positions (at a fine step) that land there; the largest
            // disparity (nearest) wins, and its texture position is interpolated.
            Array.Fill(hit, float.NegativeInfinity);
            var source = new float[width];
            const int steps = 16;
            for (var i = 0; i < (width + extra) * steps; i++)
            {
                var x = i / (float)steps;
                var d = disparity(x, y);
                var xr = x - d;
                var k = (int)MathF.Round(xr);
                if (k < 0 || k >= width || MathF.Abs(xr - k) > 0.5f / steps + 1e-4f) continue;
                if (d > hit[k])
                {
                    hit[k] = d;
                    source[k] = x;
                }
            }
            for (var k = 0; k < width; k++)
            {
                if (float.IsNegativeInfinity(hit[k]))
                {
                    // Nothing landed exactly: take the nearest surface sample by searching left positions.
                    var best = float.NegativeInfinity;
                    var bestX = (float)k;
                    for (var x = 0; x < width + extra; x++)
                    {
                        var d = disparity(x, y);
                        if (MathF.Abs(x - d - k) <= 1 && d > best)
                        {
                            best = d;
                            bestX = k + d;
                        }
                    }
                    source[k] = bestX;
                }
                right[y * width + k] = Noisy(Texture(source[k], y), random, noise);
            }
            // A left pixel is occluded when the right pixel it maps to shows a nearer surface, or lies outside.
            for (var x = 0; x < width; x++)
            {
                var d = truth[y * width + x];
                var xr = x - d;
                var k = (int)MathF.Round(xr);
                occluded[y * width + x] = k < 0 || (k < width && hit[k] > d + 0.5f) || (k + 1 < width && k + 1 >= 0 && xr > k && hit[k + 1] > d + 0.5f);
            }
        }
        return new SyntheticPair { Left = left, Right = right, Truth = truth, Occluded = occluded, Width = width, Height = height };
    }

    private static byte Noisy(float v, Random random, int noise) =>
        (byte)Math.Clamp((int)MathF.Round(v + (noise == 0 ? 0 : random.Next(-noise, noise + 1))), 0, 255);
}
