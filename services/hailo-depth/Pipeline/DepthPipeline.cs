using System.Diagnostics;
using Hailo.Hosting.Metrics;
using Hailo.Media;

namespace HailoDepth.Pipeline;

/// <summary>A float map on the model's output grid, row-major.</summary>
internal sealed record DepthGrid(float[] Values, int Width, int Height);

/// <summary>Depth at the image's own size (row-major, the model's unit), statistics on the model's grid when asked for, and stage timings.</summary>
internal sealed record DepthResult(float[] Depth, int Width, int Height, DepthStats? Stats, StageTimer Timer);

/// <summary>A depth model on one backend: the image stretched to its input, run, its raw output as floats.</summary>
internal interface IDepthModel : IDisposable
{
    string ModelFile { get; }
    (int Width, int Height) InputSize { get; }
    DepthGrid Run(RgbaImage image, StageTimer timer);
}

/// <summary>
/// Stretch to the model input (depth maps are dense, so no letterbox: every output pixel maps to image pixels) →
/// model → the model's depth formula on its grid → bilinear back to the image size. Backend-neutral after the model.
/// </summary>
internal sealed class DepthPipeline(IDepthModel model, DepthModel spec, ServiceMetrics? metrics = null, IDisposable? owned = null) : IDisposable, Hailo.Hosting.IWarmUp
{
    public DepthModel Spec { get; } = spec;
    /// <summary>Arrays reused between requests; a map goes back to <see cref="DepthBuffers.Maps"/> once encoded.</summary>
    public DepthBuffers Buffers { get; } = new();
    public string ModelFile => model.ModelFile;
    public (int Width, int Height) InputSize => model.InputSize;

    /// <param name="modelResolution">Return the map on the model's output grid instead of resizing it to the image's size.</param>
    public DepthResult Run(RgbaImage image, bool statistics = true, bool modelResolution = false)
    {
        var timer = new StageTimer();
        var grid = model.Run(image, timer);
        var start = Stopwatch.GetTimestamp();
        DepthDecoder.ToDepth(grid.Values, Spec.Output);
        // Statistics (when asked for) on the model's grid while the map is resampled to the image's size.
        DepthStats? stats = null;
        float[] depth = null!;
        var (width, height) = modelResolution ? (grid.Width, grid.Height) : (image.SourceWidth, image.SourceHeight);
        if (modelResolution)
        {
            // A copy the answer owns: the map goes back to Buffers.Maps once encoded.
            depth = Buffers.Maps.Rent(grid.Values.Length);
            grid.Values.CopyTo(depth, 0);
            if (statistics) stats = DepthStats.Of(grid.Values);
        }
        else
        {
            void ToImageSize() => depth = Resample.Bilinear(grid.Values, grid.Width, grid.Height, width, height, Buffers.Maps.Rent);
            if (statistics) Parallel.Invoke(() => stats = DepthStats.Of(grid.Values), ToImageSize);
            else ToImageSize();
        }
        timer.AddSince(StageTimer.Postprocess, start);
        timer.Report(metrics, Spec.Manifest.Name);
        return new DepthResult(depth, width, height, stats, timer);
    }

    /// <summary>One model run on a grey frame of the input's size (not counted in /metrics).</summary>
    public void WarmUp()
    {
        using var grey = RgbaImage.Filled(model.InputSize.Width, model.InputSize.Height, 128, 128, 128);
        model.Run(grey, new StageTimer());
    }

    public void Dispose()
    {
        model.Dispose();
        owned?.Dispose();
    }
}
