using Hailo.Runtime.Npu;

// Protocol with the tests: one status line on stdout, then (for the holding modes) wait until stdin closes.
//   load                  -> "AVAILABLE <backend> <runtime version>" or "UNAVAILABLE <reason>"
//   vdevice <group>       -> opens a VDevice and holds it: "READY" or "ERROR <status> <message>"
//   llm <group> <hef>     -> opens a VDevice and an LLM (the KV cache) and holds both
//   vision <group> <hef>  -> opens a VDevice, loads a vision model, runs one inference, holds it
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: load | vdevice <group> | llm <group> <hef> | vision <group> <hef>");
    return 2;
}

if (args[0] == "load")
{
    Console.WriteLine(NpuRuntime.TryLoad(out var rt, out var reason)
        ? $"AVAILABLE {rt.BackendName} {rt.RuntimeVersion}"
        : $"UNAVAILABLE {reason}");
    return 0;
}

var held = new List<IDisposable>();
try
{
    var vdevice = VDevice.Open(args[1]);
    held.Add(vdevice);
    switch (args[0])
    {
        case "vdevice":
            break;
        case "llm":
            held.Add(LlmModel.Create(vdevice, args[2]));
            break;
        case "vision":
            var model = VisionModel.Load(vdevice, args[2]);
            held.Add(model);
            model.InferTensors(new byte[model.Inputs[0].FrameSize]);
            break;
        default:
            Console.Error.WriteLine("unknown mode " + args[0]);
            return 2;
    }
    Console.WriteLine("READY");
}
catch (HailoException e)
{
    Console.WriteLine($"ERROR {e.Status} {e.Message}");
    return 3;
}
catch (NpuUnavailableException e)
{
    Console.WriteLine($"UNAVAILABLE {e.Reason}");
    return 4;
}

// Hold until the parent closes stdin (or dies, which closes it too).
Console.In.ReadToEnd();
for (var i = held.Count - 1; i >= 0; i--) held[i].Dispose();
Console.WriteLine("RELEASED");
return 0;
