using Hailo.Hosting.Config;

namespace HailoDepth;

/// <summary>The `stereo` section: semi-global matching of rectified pairs (or raw pairs rectified with the calibration) on the CPU (no model needed).</summary>
public sealed class StereoSection
{
    /// <summary>
    /// auto | cpu | npu. auto: the NPU's stereo network (stereo.npu_model) when the service's own device is not cpu,
    /// the NPU answers and the HEF is present; otherwise semi-global matching on the CPU. npu insists (requests fail
    /// with 503 and /health says why while it cannot run).
    /// </summary>
    public string Device { get; set; } = "auto";
    /// <summary>The stereo network the NPU runs.</summary>
    public string NpuModel { get; set; } = DepthModels.StereoNpuDefault;

    /// <summary>Disparities searched unless a request says otherwise.</summary>
    public int NumDisparities { get; set; } = 128;
    /// <summary>The largest num_disparities a request may ask for.</summary>
    public int MaxNumDisparities { get; set; } = 512;
    /// <summary>Pairs with width × height × num_disparities above this are refused (413): matching time grows with it.</summary>
    public long MaxVolume { get; set; } = 400_000_000;
    /// <summary>Match at half resolution (about 8× faster, coarser) unless a request says otherwise.</summary>
    public bool HalfResolution { get; set; }
    /// <summary>
    /// Aggregation paths: 5 (those from above and along the row, one pass, costs computed row by row: OpenCV
    /// MODE_SGBM's paths, about 0.4× the time of 8), 8 (all, two passes: a little more accurate) or 4 (horizontal and vertical).
    /// </summary>
    public int Paths { get; set; } = 5;
    /// <summary>Smoothness penalty for a one-pixel disparity change (census cost units).</summary>
    public int P1 { get; set; } = 7;
    /// <summary>Penalty for a larger jump, lowered at intensity edges.</summary>
    public int P2 { get; set; } = 100;
    /// <summary>Percent by which the best match must beat every other (0: no test).</summary>
    public int UniquenessRatio { get; set; } = 5;
    /// <summary>Regions of at most this many pixels that differ from their surroundings are dropped (0: off).</summary>
    public int SpeckleWindow { get; set; } = 100;
    /// <summary>Working memory per thread for the cost volume; larger pairs are matched in bands of rows.</summary>
    public int BandMemoryMb { get; set; } = 192;
    /// <summary>A calibrated rig: pairs are rectified before matching and answered in metres.</summary>
    public CalibrationSection Calibration { get; set; } = new();

    internal void Validate(ConfigErrors errors)
    {
        errors.RequireOneOf("stereo.device", Device, Hailo.Core.BackendNames.All);
        if (!string.Equals(NpuModel, DepthModels.StereoNpuDefault, StringComparison.OrdinalIgnoreCase))
            errors.Add("stereo.npu_model", $"'{NpuModel}' is not a known stereo network ({DepthModels.StereoNpuDefault})");
        if (MaxNumDisparities is < 1 or > 1024) errors.Add("stereo.max_num_disparities", "must be between 1 and 1024");
        if (NumDisparities < 1 || NumDisparities > MaxNumDisparities) errors.Add("stereo.num_disparities", "must be between 1 and stereo.max_num_disparities");
        if (MaxVolume is < 1 or > 10_000_000_000) errors.Add("stereo.max_volume", "must be between 1 and 10000000000");
        if (Paths is not (4 or 5 or 8)) errors.Add("stereo.paths", "must be 8, 5 or 4");
        if (P1 is < 1 or > 500) errors.Add("stereo.p1", "must be between 1 and 500");
        if (P2 <= P1 || P2 > 2000) errors.Add("stereo.p2", "must be above stereo.p1 and at most 2000");
        if (UniquenessRatio is < 0 or > 99) errors.Add("stereo.uniqueness_ratio", "must be between 0 and 99");
        if (SpeckleWindow is < 0 or > 100000) errors.Add("stereo.speckle_window", "must be between 0 and 100000");
        if (BandMemoryMb is < 16 or > 4096) errors.Add("stereo.band_memory_mb", "must be between 16 and 4096");
        Calibration.Validate(errors);
    }
}
