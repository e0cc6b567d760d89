namespace HailoDepth.Pipeline.Stereo;

/// <summary>
/// Drops speckles: 4-connected regions of valid pixels, neighbours within <c>range</c> of each other, of at most
/// <c>window</c> pixels. Mismatches come as such small islands; real surfaces are larger.
/// </summary>
internal static class SpeckleFilter
{
    public static void Apply(float[] disparity, byte[] invalid, int width, int height, int window, float range)
    {
        var label = new int[width * height];
        var stack = new List<int>();
        var region = new List<int>();
        var next = 0;
        for (var start = 0; start < label.Length; start++)
        {
            if (label[start] != 0 || invalid[start] != 0) continue;
            next++;
            region.Clear();
            stack.Clear();
            stack.Add(start);
            label[start] = next;
            var tooBig = false;
            while (stack.Count > 0)
            {
                var p = stack[^1];
                stack.RemoveAt(stack.Count - 1);
                if (!tooBig)
                {
                    region.Add(p);
                    if (region.Count > window) tooBig = true;
                }
                var x = p % width;
                var v = disparity[p];
                if (x > 0) Visit(p - 1, v, next, range, disparity, invalid, label, stack);
                if (x < width - 1) Visit(p + 1, v, next, range, disparity, invalid, label, stack);
                if (p >= width) Visit(p - width, v, next, range, disparity, invalid, label, stack);
                if (p < label.Length - width) Visit(p + width, v, next, range, disparity, invalid, label, stack);
            }
            if (tooBig) continue;
            foreach (var p in region)
            {
                disparity[p] = float.NaN;
                invalid[p] = (byte)StereoInvalid.Speckle;
            }
        }
    }

    private static void Visit(int q, float v, int next, float range, float[] disparity, byte[] invalid, int[] label, List<int> stack)
    {
        if (label[q] != 0 || invalid[q] != 0 || MathF.Abs(disparity[q] - v) > range) return;
        label[q] = next;
        stack.Add(q);
    }
}
