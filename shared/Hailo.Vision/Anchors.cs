namespace Hailo.Vision;

/// <summary>
/// The anchor grids of anchor-free detection heads. A head of stride s over a W×H input has a grid of
/// ⌈W/s⌉×⌈H/s⌉ cells, row-major; the anchor of cell (gx, gy) is ((gx + offset)·s, (gy + offset)·s). YOLOv8 puts it
/// at the cell's centre (offset ½), SCRFD at its corner (offset 0, two anchors per cell).
/// </summary>
public static class Anchors
{
    /// <summary>The strides YOLOv8 and SCRFD heads use: 8, 16, 32 (8400 anchors at 640×640 for YOLOv8).</summary>
    public static ReadOnlySpan<int> DefaultStrides => [8, 16, 32];

    /// <summary>YOLOv8's anchor offset within a cell.</summary>
    public const float CellCentre = 0.5f;
    /// <summary>SCRFD's (and other mmdetection point generators'): the cell's top-left corner.</summary>
    public const float CellCorner = 0f;

    /// <summary>The grid of one stride over an input: ⌈width/stride⌉ × ⌈height/stride⌉ cells.</summary>
    public static (int Width, int Height) Grid(int inputWidth, int inputHeight, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        return ((inputWidth + stride - 1) / stride, (inputHeight + stride - 1) / stride);
    }

    /// <summary>Anchors over all strides, <paramref name="anchorsPerCell"/> per cell.</summary>
    public static int Count(int inputWidth, int inputHeight, ReadOnlySpan<int> strides, int anchorsPerCell = 1)
    {
        var n = 0;
        foreach (var s in strides)
        {
            var (w, h) = Grid(inputWidth, inputHeight, s);
            n += w * h * anchorsPerCell;
        }
        return n;
    }

    /// <summary>The anchor of a cell (row-major index) in input pixels.</summary>
    public static (float X, float Y) Centre(int cell, int gridWidth, int stride, float offset = CellCentre) =>
        ((cell % gridWidth + offset) * stride, (cell / gridWidth + offset) * stride);

    /// <summary>
    /// Every anchor of one stride in input pixels, x and y interleaved, cells row-major and each cell's anchor
    /// repeated <paramref name="anchorsPerCell"/> times (the order SCRFD's outputs follow).
    /// </summary>
    public static float[] Centres(int gridWidth, int gridHeight, int stride, float offset = CellCentre, int anchorsPerCell = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(anchorsPerCell);
        var result = new float[gridWidth * gridHeight * anchorsPerCell * 2];
        var i = 0;
        for (var gy = 0; gy < gridHeight; gy++)
            for (var gx = 0; gx < gridWidth; gx++)
                for (var a = 0; a < anchorsPerCell; a++)
                {
                    result[i++] = (gx + offset) * stride;
                    result[i++] = (gy + offset) * stride;
                }
        return result;
    }
}
