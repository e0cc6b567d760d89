using Hailo.TestSupport;
using HailoClip;

// usage: Hailo.Clip.ModelWriter MODELS_DIR
// Writes the model `stand-in-clip` into MODELS_DIR/stand-in-clip/ unless it is there: the generated towers of the
// tests (CLIP ViT-B/32's input and output names and shapes; the image tower gives the image's mean colour, the text
// tower the colour words "red", "green" and "blue") and a 17-merge vocabulary. It makes `make run` answer on every
// route; its embeddings mean nothing beyond those colours, and it is named so that nothing takes it for CLIP.
if (args.Length != 1) { Console.Error.WriteLine("usage: Hailo.Clip.ModelWriter MODELS_DIR"); return 2; }
var m = ClipModels.StandInOnnx;
var dir = Path.Combine(args[0], m.Name);
if (m.Files.All(f => File.Exists(Path.Combine(dir, f.Name))))
{
    Console.WriteLine($"hailo-clip: {m.Name} present ({dir})");
    return 0;
}
ClipTestModel.Write(dir, m.Files[0].Name, m.Files[1].Name, m.Files[2].Name);
Console.WriteLine($"hailo-clip: wrote {m.Name} into {dir} (generated towers: they rank colour words by the image's mean colour, nothing else)");
return 0;
