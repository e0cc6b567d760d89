namespace Hailo.Vision;

/// <summary>
/// How an image was fitted into a model input of fixed size: scaled by <see cref="Scale"/> (resized to
/// <see cref="ScaledWidth"/>×<see cref="ScaledHeight"/>), then placed at (<see cref="PadX"/>, <see cref="PadY"/>).
/// Maps model coordinates back to the original image.
/// </summary>
public readonly record struct LetterboxTransform(float Scale, float PadX, float PadY, int ScaledWidth, int ScaledHeight, int InputWidth, int InputHeight)
{
    /// <summary>Size of the fitted image; 0 when unknown, and then <see cref="Scale"/> maps both axes.</summary>
    public int SourceWidth { get; init; }
    public int SourceHeight { get; init; }

    /// <summary>The horizontal scale the resize really applied: the rounded width over the source width.</summary>
    public float ScaleX => SourceWidth > 0 ? ScaledWidth / (float)SourceWidth : Scale;
    /// <summary>The vertical scale the resize really applied.</summary>
    public float ScaleY => SourceHeight > 0 ? ScaledHeight / (float)SourceHeight : Scale;

    /// <summary>Fits (w, h) inside (inW, inH) keeping the aspect ratio; centred when <paramref name="centre"/>, else top-left.</summary>
    public static LetterboxTransform Fit(int width, int height, int inputWidth, int inputHeight, bool centre = true)
    {
        var scale = Math.Min(inputWidth / (float)width, inputHeight / (float)height);
        var sw = Math.Clamp((int)MathF.Round(width * scale), 1, inputWidth);
        var sh = Math.Clamp((int)MathF.Round(height * scale), 1, inputHeight);
        var px = centre ? (inputWidth - sw) / 2 : 0;
        var py = centre ? (inputHeight - sh) / 2 : 0;
        return new LetterboxTransform(scale, px, py, sw, sh, inputWidth, inputHeight) { SourceWidth = width, SourceHeight = height };
    }

    // Per-axis scales: the resize maps x to x·ScaledWidth/width, which differs from x·Scale by the rounding of the size.
    public (float X, float Y) ToOriginal(float x, float y) => ((x - PadX) / ScaleX, (y - PadY) / ScaleY);
    public (float X, float Y) ToInput(float x, float y) => (x * ScaleX + PadX, y * ScaleY + PadY);

    /// <summary>A box in input pixels mapped back to the original image (not clipped; see <see cref="Box.Clip"/>).</summary>
    public Box ToOriginal(Box box)
    {
        var (x1, y1) = ToOriginal(box.X1, box.Y1);
        var (x2, y2) = ToOriginal(box.X2, box.Y2);
        return new Box(x1, y1, x2, y2);
    }

    /// <summary>A box of the original image mapped into input pixels.</summary>
    public Box ToInput(Box box)
    {
        var (x1, y1) = ToInput(box.X1, box.Y1);
        var (x2, y2) = ToInput(box.X2, box.Y2);
        return new Box(x1, y1, x2, y2);
    }

    /// <summary>A keypoint in input pixels mapped back to the original image (not clipped; see <see cref="Keypoint.Clip"/>).</summary>
    public Keypoint ToOriginal(Keypoint k)
    {
        var (x, y) = ToOriginal(k.X, k.Y);
        return k with { X = x, Y = y };
    }
}
