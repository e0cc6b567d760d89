using System.Globalization;
using System.Text.Json.Serialization;
using Hailo.Hosting.Config;
using HailoDepth.Pipeline.Stereo;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace HailoDepth;

/// <summary>One camera of `stereo.calibration`: intrinsics in pixels, distortion k1 k2 p1 p2 k3 (OpenCV's order).</summary>
public sealed class CameraSection
{
    public double Fx { get; set; }
    public double Fy { get; set; }
    public double Cx { get; set; }
    public double Cy { get; set; }
    public double K1 { get; set; }
    public double K2 { get; set; }
    public double P1 { get; set; }
    public double P2 { get; set; }
    public double K3 { get; set; }

    internal bool IsSet => Fx != 0 || Fy != 0 || Cx != 0 || Cy != 0 || K1 != 0 || K2 != 0 || P1 != 0 || P2 != 0 || K3 != 0;
    internal CameraModel Model => new(Fx, Fy, Cx, Cy, K1, K2, P1, P2, K3);
}

/// <summary>
/// `stereo.calibration`: a calibrated rig, here or in a file. With one, every stereo pair is rectified before
/// matching and the answer is metric depth. Checked and turned into rectification tables once, at start.
/// </summary>
public sealed class CalibrationSection
{
    /// <summary>A calibration file: this section's keys in YAML, or OpenCV FileStorage YAML (M1 D1 M2 D2 R T, image_width/image_height).</summary>
    public string File { get; set; } = "";
    public int ImageWidth { get; set; }
    public int ImageHeight { get; set; }
    public CameraSection Left { get; set; } = new();
    public CameraSection Right { get; set; } = new();
    /// <summary>R, 3×3 row by row: a point X in the left camera's frame is R·X + T in the right camera's.</summary>
    public double[] Rotation { get; set; } = [];
    /// <summary>T, in metres after <see cref="TranslationScale"/>.</summary>
    public double[] Translation { get; set; } = [];
    /// <summary>T is multiplied by this: 0.001 when the calibration target was measured in millimetres.</summary>
    public double TranslationScale { get; set; } = 1;

    /// <summary>The rectification, computed by <see cref="Validate"/> (null: no calibration).</summary>
    [JsonIgnore]
    public Rectification? Rectification { get; private set; }

    internal bool IsSet => File.Length > 0 || ImageWidth != 0 || ImageHeight != 0 || Left.IsSet || Right.IsSet || Rotation.Length > 0 || Translation.Length > 0;

    internal void Validate(ConfigErrors errors)
    {
        Rectification = null;
        if (!IsSet) return;
        const string key = "stereo.calibration";
        if (!(TranslationScale > 0 && double.IsFinite(TranslationScale)))
        {
            errors.Add($"{key}.translation_scale", "must be a positive number");
            return;
        }
        try
        {
            Rectification = Rectification.Compute(Build());
        }
        catch (CalibrationException e)
        {
            errors.Add(File.Length > 0 ? $"{key}.file ({File})" : key, e.Message);
        }
    }

    /// <summary>The calibration from the file (if any), with this section's non-zero keys taking precedence.</summary>
    internal StereoCalibration Build()
    {
        var c = File.Length > 0 ? CalibrationFile.Load(File) : new CalibrationFile.Values();
        if (ImageWidth != 0) c.Width = ImageWidth;
        if (ImageHeight != 0) c.Height = ImageHeight;
        if (Left.IsSet) c.Left = Left.Model;
        if (Right.IsSet) c.Right = Right.Model;
        if (Rotation.Length > 0) c.R = Rotation;
        if (Translation.Length > 0) c.T = Translation;
        if (c.Width is null || c.Height is null)
            throw new CalibrationException("the image size is missing: set image_width and image_height (the size the cameras were calibrated at)");
        var left = c.Left ?? throw new CalibrationException("the left camera's intrinsics are missing (left: fx, fy, cx, cy; M1 in an OpenCV file)");
        var right = c.Right ?? throw new CalibrationException("the right camera's intrinsics are missing (right: fx, fy, cx, cy; M2 in an OpenCV file)");
        var r = c.R ?? throw new CalibrationException("the rotation is missing (rotation: 9 numbers; R in an OpenCV file)");
        var t = c.T ?? throw new CalibrationException("the translation is missing (translation: 3 numbers in metres; T in an OpenCV file)");
        return new StereoCalibration(c.Width.Value, c.Height.Value, left, right, r, t.Select(v => v * TranslationScale).ToArray());
    }
}

/// <summary>Reads a calibration file: the config section's layout, or OpenCV FileStorage YAML as stereoCalibrate's users write it.</summary>
internal static class CalibrationFile
{
    internal sealed class Values
    {
        public int? Width, Height;
        public CameraModel? Left, Right;
        public double[]? R, T;
    }

    public static Values Load(string path)
    {
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CalibrationException($"cannot read the calibration file: {e.Message}");
        }
        return Parse(text);
    }

    public static Values Parse(string text)
    {
        // OpenCV writes "%YAML:1.0", which is not a YAML 1.1 directive; its matrices are tagged !!opencv-matrix.
        if (text.StartsWith("%YAML:", StringComparison.Ordinal)) text = "%YAML 1.1" + text[(text.IndexOf('\n') is var nl and >= 0 ? nl : text.Length)..];
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new CalibrationException($"the calibration file is not valid YAML (line {e.Start.Line}): {e.Message}");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new CalibrationException("the calibration file is not a YAML mapping of keys");
        var v = new Values();
        foreach (var (k, node) in root.Children)
        {
            var name = (k as YamlScalarNode)?.Value ?? "";
            switch (name)
            {
                case "image_width": v.Width = Int(node, name); break;
                case "image_height": v.Height = Int(node, name); break;
                case "image_size" or "imageSize" or "size":
                    var wh = Numbers(node, name);
                    if (wh.Length != 2) throw new CalibrationException($"'{name}' must be [width, height]");
                    v.Width = (int)wh[0];
                    v.Height = (int)wh[1];
                    break;
                case "left": v.Left = Camera(node, name); break;
                case "right": v.Right = Camera(node, name); break;
                case "rotation": v.R = Exactly(Numbers(node, name), 9, name); break;
                case "translation": v.T = Exactly(Numbers(node, name), 3, name); break;
                case "M1": v.Left = Intrinsics(Exactly(Numbers(node, name), 9, name), v.Left, name); break;
                case "M2": v.Right = Intrinsics(Exactly(Numbers(node, name), 9, name), v.Right, name); break;
                case "D1": v.Left = Distortion(Numbers(node, name), v.Left, name); break;
                case "D2": v.Right = Distortion(Numbers(node, name), v.Right, name); break;
                case "R": v.R = Exactly(Numbers(node, name), 9, name); break;
                case "T": v.T = Exactly(Numbers(node, name), 3, name); break;
                // OpenCV's other outputs (E, F, R1, R2, P1, P2, Q, ...) are recomputed here or not needed.
            }
        }
        if (v.Left is { Fx: 0 } || v.Right is { Fx: 0 }) throw new CalibrationException("D1/D2 without M1/M2: the camera matrices are missing");
        return v;
    }

    private static double[] Exactly(double[] values, int n, string name) =>
        values.Length == n ? values : throw new CalibrationException($"'{name}' must have {n} numbers, has {values.Length}");

    private static CameraModel Intrinsics(double[] m, CameraModel? existing, string name)
    {
        if (m[1] != 0 || m[3] != 0 || m[6] != 0 || m[7] != 0 || m[8] != 1)
            throw new CalibrationException($"'{name}' is not a camera matrix [fx 0 cx; 0 fy cy; 0 0 1] (a skew or a last row other than 0 0 1 is not supported)");
        var d = existing ?? default;
        return d with { Fx = m[0], Fy = m[4], Cx = m[2], Cy = m[5] };
    }

    private static CameraModel Distortion(double[] d, CameraModel? existing, string name)
    {
        if (d.Length is not (4 or 5 or 8 or 12 or 14))
            throw new CalibrationException($"'{name}' must have 4 or 5 distortion coefficients (k1 k2 p1 p2 [k3]), has {d.Length}");
        if (d.Skip(5).Any(x => x != 0))
            throw new CalibrationException($"'{name}' uses OpenCV's rational, thin-prism or tilted model (coefficients after k3): only k1 k2 p1 p2 k3 are supported");
        var c = existing ?? default;
        return c with { K1 = d[0], K2 = d[1], P1 = d[2], P2 = d[3], K3 = d.Length > 4 ? d[4] : 0 };
    }

    private static CameraModel Camera(YamlNode node, string name)
    {
        if (node is not YamlMappingNode map) throw new CalibrationException($"'{name}' must be a mapping of fx, fy, cx, cy, k1, k2, p1, p2, k3");
        var c = default(CameraModel);
        foreach (var (k, value) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value ?? "";
            var x = Number(value, $"{name}.{key}");
            c = key switch
            {
                "fx" => c with { Fx = x }, "fy" => c with { Fy = x }, "cx" => c with { Cx = x }, "cy" => c with { Cy = x },
                "k1" => c with { K1 = x }, "k2" => c with { K2 = x }, "p1" => c with { P1 = x }, "p2" => c with { P2 = x }, "k3" => c with { K3 = x },
                _ => throw new CalibrationException($"'{name}.{key}' is not a camera key (fx, fy, cx, cy, k1, k2, p1, p2, k3)"),
            };
        }
        return c;
    }

    /// <summary>A list of numbers, or an OpenCV matrix (rows, cols, dt, data).</summary>
    private static double[] Numbers(YamlNode node, string name)
    {
        if (node is YamlSequenceNode seq) return seq.Children.Select((n, i) => Number(n, $"{name}[{i}]")).ToArray();
        if (node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode("data"), out var data) && data is YamlSequenceNode values)
        {
            var numbers = values.Children.Select((n, i) => Number(n, $"{name}.data[{i}]")).ToArray();
            if (map.Children.TryGetValue(new YamlScalarNode("rows"), out var rows) && map.Children.TryGetValue(new YamlScalarNode("cols"), out var cols)
                && Int(rows, name + ".rows") * Int(cols, name + ".cols") != numbers.Length)
                throw new CalibrationException($"'{name}': rows × cols is not the number of data values ({numbers.Length})");
            return numbers;
        }
        throw new CalibrationException($"'{name}' must be a list of numbers or an OpenCV matrix (rows, cols, data)");
    }

    private static double Number(YamlNode node, string name) =>
        node is YamlScalarNode { Value: { } s } && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x)
            ? x
            : throw new CalibrationException($"'{name}' must be a number");

    private static int Int(YamlNode node, string name) =>
        node is YamlScalarNode { Value: { } s } && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var x)
            ? x
            : throw new CalibrationException($"'{name}' must be a whole number");
}
