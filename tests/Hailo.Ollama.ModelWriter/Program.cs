using Hailo.Hosting.Models;
using Hailo.TestSupport;
using HailoOllama;
using HailoOllama.Engine;

// usage: Hailo.Ollama.ModelWriter MODELS_DIR
//        Hailo.Ollama.ModelWriter --qwen05b-shapes FILE   (the benchmark's model: random weights in Qwen2.5-0.5B's shapes, Q8_0)
// Writes a tiny random-weight qwen2 GGUF (byte-level BPE tokenizer, ChatML template) into MODELS_DIR as the model
// `stand-in:tiny` (a record in manifests/, family "stand-in"), unless it is already there. It loads and generates
// like a real qwen2 model, but its text is gibberish: it stands in for a real model in `make run` and the arm64 smoke
// test, nothing more, and it is named so that nothing takes it for one (`make run` makes it the default model).
if (args is ["--qwen05b-shapes", var file])
{
    GgufWriter.Write(file + ".tmp", GgufWriter.Qwen05BShapes());
    File.Move(file + ".tmp", file, overwrite: true);
    Console.WriteLine($"wrote {file} ({new FileInfo(file).Length >> 20} MB, random weights in Qwen2.5-0.5B's shapes)");
    return 0;
}
if (args.Length != 1) { Console.Error.WriteLine("usage: Hailo.Ollama.ModelWriter MODELS_DIR"); return 2; }
const string Name = "stand-in:tiny";
var models = args[0];
var relative = Path.Combine(Name, "stand-in-tiny.gguf");
var path = Path.Combine(models, relative);
var registry = new ModelRegistry(new ModelStore(models, [], OllamaModels.Catalog), Hailo.Core.Backend.Cpu);
if (!File.Exists(path))
{
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    GgufWriter.Write(path + ".tmp", new GgufWriter.Spec("qwen2", Embd: 64, Layers: 2, Heads: 4, KvHeads: 2, Ff: 128, Seed: 2026));
    File.Move(path + ".tmp", path);
    Console.WriteLine($"hailo-ollama: wrote {path} ({new FileInfo(path).Length} bytes, random weights: it generates gibberish)");
}
if (registry.Find(Name) is null)
{
    // Relative to the models directory, so the directory can move (or be copied to a Pi) with its record.
    registry.Save(new LocalModel { Name = Name, Backend = Hailo.Core.Backend.Cpu, Path = relative, Family = "stand-in", ModifiedAt = File.GetLastWriteTimeUtc(path) });
    Console.WriteLine($"hailo-ollama: {Name} recorded in {registry.ManifestDir} (family stand-in)");
}
else Console.WriteLine($"hailo-ollama: {Name} present ({path})");

// Earlier versions wrote this stand-in under the real catalog name qwen2.5:0.5b, where it passed for the real model.
// Such a copy (byte for byte the stand-in) is removed; a real pulled model is never touched.
var old = Path.Combine(models, "qwen2.5:0.5b", "qwen2.5-0.5b-instruct-q4_k_m.gguf");
if (File.Exists(old) && File.ReadAllBytes(old).AsSpan().SequenceEqual(File.ReadAllBytes(path)))
{
    File.Delete(old);
    if (!Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(old)!).Any()) Directory.Delete(Path.GetDirectoryName(old)!);
    Console.WriteLine($"hailo-ollama: removed the stand-in an earlier `make models` wrote as {old} (it is not Qwen2.5 0.5B)");
}
return 0;
