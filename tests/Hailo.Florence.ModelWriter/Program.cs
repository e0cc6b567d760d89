using Hailo.TestSupport;
using HailoFlorence;

// usage: Hailo.Florence.ModelWriter MODELS_DIR
// Writes the model `stand-in-florence` into MODELS_DIR/stand-in-florence/ unless it is there: the generated four-part
// model of the tests (Florence-2's ONNX file, input and output names, dtypes and key/value layout, hidden size 8). It
// echoes its prompt back for most images and answers scripted boxes for red and blue ones; it makes `make run` answer
// on every route, and it is named so that nothing takes it for Florence-2.
if (args.Length != 1) { Console.Error.WriteLine("usage: Hailo.Florence.ModelWriter MODELS_DIR"); return 2; }
var m = FlorenceModels.StandInOnnx;
var dir = Path.Combine(args[0], m.Name);
if (m.Files.All(f => File.Exists(Path.Combine(dir, f.Name))))
{
    Console.WriteLine($"hailo-florence: {m.Name} present ({dir})");
    return 0;
}
FlorenceTestModel.Write(dir);
Console.WriteLine($"hailo-florence: wrote {m.Name} into {dir} (generated: it echoes the task's prompt, and answers scripted boxes for red and blue images)");
return 0;
