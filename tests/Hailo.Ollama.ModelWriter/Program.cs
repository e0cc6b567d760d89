using Hailo.TestSupport;

// usage: Hailo.Ollama.ModelWriter MODELS_DIR
//        Hailo.Ollama.ModelWriter --qwen05b-shapes FILE   (the benchmark's model: random weights in Qwen2.5-0.5B's shapes, Q8_0)
// Writes a tiny random-weight qwen2 GGUF (byte-level BPE tokenizer, ChatML template) where hailo-ollama looks for its
// default model, qwen2.5:0.5b, unless a file is already there. It loads and generates like the real model, but its
// text is gibberish: it stands in for the real model in `make run` and the arm64 smoke test, nothing more.
if (args is ["--qwen05b-shapes", var file])
{
    GgufWriter.Write(file + ".tmp", GgufWriter.Qwen05BShapes());
    File.Move(file + ".tmp", file, overwrite: true);
    Console.WriteLine($"wrote {file} ({new FileInfo(file).Length >> 20} MB, random weights in Qwen2.5-0.5B's shapes)");
    return 0;
}
if (args.Length != 1) { Console.Error.WriteLine("usage: Hailo.Ollama.ModelWriter MODELS_DIR"); return 2; }
var dir = Path.Combine(args[0], "qwen2.5:0.5b");
var path = Path.Combine(dir, "qwen2.5-0.5b-instruct-q4_k_m.gguf");
if (File.Exists(path)) { Console.WriteLine($"hailo-ollama: {path} present"); return 0; }
Directory.CreateDirectory(dir);
var tmp = path + ".tmp";
GgufWriter.Write(tmp, new GgufWriter.Spec("qwen2", Embd: 64, Layers: 2, Heads: 4, KvHeads: 2, Ff: 128, Seed: 2026));
File.Move(tmp, path);
Console.WriteLine($"hailo-ollama: wrote {path} ({new FileInfo(path).Length} bytes, random weights: it generates gibberish)");
return 0;
