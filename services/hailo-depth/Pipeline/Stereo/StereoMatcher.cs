namespace HailoDepth.Pipeline.Stereo;

/// <summary>Semi-global matching at full resolution, or at half resolution with the map brought back to full size.</summary>
internal static class StereoMatcher
{
    /// <summary>Throws <see cref="OperationCanceledException"/> soon after <paramref name="ct"/> is cancelled (checked every row of every pass).</summary>
    public static DisparityMap Match(byte[] left, byte[] right, int width, int height, SgmOptions o, bool halfResolution, CancellationToken ct = default)
    {
        if (!halfResolution || width < 2 || height < 2) return SemiGlobalMatcher.Match(left, right, width, height, o, ct);
        var l = Grey.Half(left, width, height, out var hw, out var hh);
        var r = Grey.Half(right, width, height, out _, out _);
        // The half-size range covers the full-size one.
        var minD = (int)Math.Floor(o.MinDisparity / 2.0);
        var maxD = (int)Math.Ceiling((o.MinDisparity + o.NumDisparities) / 2.0);
        var half = SemiGlobalMatcher.Match(l, r, hw, hh, o with
        {
            MinDisparity = minD,
            NumDisparities = Math.Max(1, maxD - minD),
            SpeckleWindow = o.SpeckleWindow / 4,
            SpeckleRange = o.SpeckleRange / 2,
        }, ct);
        // Each full-size pixel takes its block's disparity, doubled; an odd last row or column repeats the one before.
        var disparity = GC.AllocateUninitializedArray<float>(width * height);
        var invalid = GC.AllocateUninitializedArray<byte>(width * height);
        for (var y = 0; y < height; y++)
        {
            var src = Math.Min(y / 2, hh - 1) * hw;
            var dst = y * width;
            for (var x = 0; x < width; x++)
            {
                var s = src + Math.Min(x / 2, hw - 1);
                disparity[dst + x] = 2 * half.Disparity[s];
                invalid[dst + x] = half.Invalid[s];
            }
        }
        return new DisparityMap(disparity, invalid, width, height);
    }
}
