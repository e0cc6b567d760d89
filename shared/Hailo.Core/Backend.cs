using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hailo.Core;

/// <summary>
/// Where a service runs its models: the <c>device</c> setting (auto | npu | cpu) and, once chosen, the backend itself
/// (npu or cpu). Parsed once from the config; written in its lowercase wire form (<see cref="BackendNames.Name"/>)
/// wherever it leaves the process: /health, logs, STATUS=, model lists.
/// JSON reads and writes it in that form too (<see cref="BackendJsonConverter"/>), so a record on disk or a response
/// field that holds a <see cref="Backend"/> says "cpu", never "Cpu".
/// </summary>
[JsonConverter(typeof(BackendJsonConverter))]
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

/// <summary>JSON form of <see cref="Backend"/>: its wire name; any other value is a <see cref="JsonException"/>.</summary>
public sealed class BackendJsonConverter : JsonConverter<Backend>
{
    public override Backend Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && BackendNames.TryParse(reader.GetString(), out var backend)
            ? backend
            : throw new JsonException($"a backend is one of {string.Join(", ", BackendNames.All)}");

    public override void Write(Utf8JsonWriter writer, Backend value, JsonSerializerOptions options) => writer.WriteStringValue(value.Name());
}
