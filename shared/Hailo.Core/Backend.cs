namespace Hailo.Core;

/// <summary>
/// Where a service runs its models: the <c>device</c> setting (auto | npu | cpu) and, once chosen, the backend itself
/// (npu or cpu). Parsed once from the config; written in its lowercase wire form (<see cref="BackendNames.Name"/>)
/// wherever it leaves the process: /health, logs, STATUS=, model lists.
/// </summary>
public enum Backend
{
    /// <summary>The NPU when one answers and the model's HEFs are present, else the CPU.</summary>
    Auto,
    /// <summary>The Hailo NPU.</summary>
    Npu,
    /// <summary>The CPU.</summary>
    Cpu,
}

/// <summary>The wire form of <see cref="Backend"/>: "auto", "npu", "cpu".</summary>
public static class BackendNames
{
    /// <summary>Every wire name, in the order the config's error message lists them.</summary>
    public static readonly string[] All = ["auto", "npu", "cpu"];

    public static string Name(this Backend backend) => backend switch
    {
        Backend.Npu => "npu",
        Backend.Cpu => "cpu",
        _ => "auto",
    };

    /// <summary>Reads a wire name; exact lowercase only, as the config accepts it.</summary>
    public static bool TryParse(string? name, out Backend backend)
    {
        (var ok, backend) = name switch
        {
            "auto" => (true, Backend.Auto),
            "npu" => (true, Backend.Npu),
            "cpu" => (true, Backend.Cpu),
            _ => (false, Backend.Auto),
        };
        return ok;
    }
}
