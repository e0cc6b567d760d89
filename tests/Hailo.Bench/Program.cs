using System.Globalization;
using Hailo.Bench;

// make bench [SERVICE=...]: runs each service's benchmark and writes its figures into the service README.
var repo = Arg("--repo") ?? Hailo.TestSupport.Repo.Root;
var models = Arg("--models") ?? Path.Combine(repo, "build", "models");
var only = Arg("--service");
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

// name → (README that receives the figures, benchmark)
var benches = new Dictionary<string, (string Readme, Func<Task<Report>> Run)>
{
    ["npu-binding"] = ("shared/Hailo.Runtime/README.md", () => new NpuBindingBench().RunAsync()),
    ["media"] = ("shared/Hailo.Media/README.md", () => new MediaBench().RunAsync()),
    ["kv-cache"] = ("shared/Hailo.KvCache/README.md", () => new KvCacheBench().RunAsync()),
    ["hailo-ocr"] = ("services/hailo-ocr/README.md", () => new OcrBench(repo, models).RunAsync()),
    ["hailo-pose"] = ("services/hailo-pose/README.md", () => new PoseBench(repo).RunAsync()),
    ["hailo-depth"] = ("services/hailo-depth/README.md", () => new DepthBench(repo).RunAsync()),
    // The stereo matcher against OpenCV (its own README block; also run by SERVICE=hailo-depth).
    ["depth-stereo"] = ("services/hailo-depth/README.md", () => Task.FromResult(new StereoBench(repo).Run())),
    ["hailo-ollama"] = ("services/hailo-ollama/README.md", () => new OllamaBench(repo, models).RunAsync()),
    ["hailo-whisper"] = ("services/hailo-whisper/README.md", () => new WhisperBench(repo).RunAsync()),
    ["hailo-piper"] = ("services/hailo-piper/README.md", () => new PiperBench(repo).RunAsync()),
    ["hailo-clip"] = ("services/hailo-clip/README.md", () => new ClipBench(repo).RunAsync()),
    ["hailo-scrfd"] = ("services/hailo-scrfd/README.md", () => new ScrfdBench(repo).RunAsync()),
    ["hailo-face"] = ("services/hailo-face/README.md", () => new FaceBench(repo).RunAsync()),
    ["hailo-florence"] = ("services/hailo-florence/README.md", () => new FlorenceBench(repo).RunAsync()),
    ["hailo-vision"] = ("services/hailo-vision/README.md", () => new VisionBench(repo, models).RunAsync()),
};
var failed = false;
var loadOnly = args.Contains("--load-only");
var noLoad = args.Contains("--no-load"); // the benchmarks without the load tests
foreach (var (name, (readme, run)) in benches)
{
    var partOf = name == "depth-stereo" ? "hailo-depth" : null;
    if (only is not null && only != name && only != partOf) continue;
    if (!loadOnly) Write(name, readme, partOf is null ? "bench" : "stereo", await run());
    // 50 clients, good and malformed requests mixed: figures between the README's load markers.
    if (!noLoad && Hailo.Fuzz.Family.All.FirstOrDefault(f => f.Service == name) is { } family)
        Write(name + " load", readme, "load", await new LoadBench(repo, family).RunAsync());
}
return failed ? 3 : 0;

void Write(string name, string readme, string marker, Report report)
{
    Console.WriteLine($"== {name}");
    Console.WriteLine(report.Markdown);
    report.WriteInto(Path.Combine(repo, readme), marker);
    foreach (var miss in report.Misses) { Console.Error.WriteLine($"{name}: target missed: {miss}"); failed = true; }
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
