using System.Text.Json.Serialization;
using Hailo.Core;
using Hailo.Hosting.Config;
using Hailo.Wyoming;

namespace HailoPiper;

/// <summary>hailo-piper's config: the shared keys plus the `piper` and `wyoming` sections.</summary>
public sealed class PiperConfig : ServiceConfig
{
    public PiperConfig()
    {
        // A request is text (OpenAI allows 4096 characters); 2 MiB lets an oversized input be told apart by its length.
        Server.MaxBodyMb = 2;
        Device = Backend.Cpu;
    }

    public PiperSection Piper { get; set; } = new();
    public WyomingSection Wyoming { get; set; } = new();
    public AudioSection Audio { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        // The Hailo-10H has no text-to-speech model: the voices run on the CPU whatever the device says, so only
        // "npu" (a request this service cannot honour) is refused.
        if (Device == Backend.Npu) errors.Add("device", "hailo-piper runs on the CPU only (the Hailo-10H has no text-to-speech model); use cpu or auto");
        Piper.Validate(errors);
        Wyoming.Validate(errors);
        Audio.Validate(errors);
    }
}

public sealed class AudioSection
{
    /// <summary>
    /// The ffmpeg that encodes response_format aac: "auto" runs the ffmpeg on PATH when there is one (looked up per
    /// request, so installing it needs no restart), "off" never runs it (aac is then refused), or the absolute path
    /// of an ffmpeg binary.
    /// </summary>
    public string Ffmpeg { get; set; } = "auto";

    /// <summary>The encoders' options with this ffmpeg setting.</summary>
    internal Hailo.Audio.Encoding.AudioEncoderOptions EncoderOptions => new() { Ffmpeg = new Hailo.Audio.FfmpegOptions(Ffmpeg) };

    internal void Validate(ConfigErrors errors)
    {
        if (Ffmpeg is not ("auto" or "off") && !Path.IsPathFullyQualified(Ffmpeg))
            errors.Add("audio.ffmpeg", $"'{Ffmpeg}' must be auto, off or the absolute path of an ffmpeg binary");
    }
}

public sealed class PiperSection
{
    /// <summary>Voice when a request names none: "espeak:&lt;espeak voice&gt;" (built in) or a Piper voice's name.</summary>
    public string DefaultVoice { get; set; } = PiperModels.DefaultVoice;
    /// <summary>Longest input accepted, in characters (OpenAI's limit is 4096).</summary>
    public int MaxInputChars { get; set; } = 4096;
    /// <summary>Voices kept loaded at once; the least recently used idle one is unloaded beyond this.</summary>
    public int MaxLoadedVoices { get; set; } = 3;
    /// <summary>
    /// Memory the loaded voices may take, in MiB, as estimated from their files (<see cref="Voices.VoicePool.EstimatedBytes"/>);
    /// beyond it the least recently used idle voice is unloaded. 0: no budget (only max_loaded_voices).
    /// </summary>
    public int MemoryBudgetMb { get; set; } = 448;
    /// <summary>Requests waiting for one voice (one synthesis runs per voice at a time) beyond this get 503 + Retry-After.</summary>
    public int MaxQueuedPerVoice { get; set; } = 8;
    /// <summary>Silence after each sentence, in seconds.</summary>
    public double SentenceSilenceSeconds { get; set; } = 0.2;
    /// <summary>espeak-ng voices offered as "espeak:&lt;name&gt;" (they need no download: espeak-ng-data ships them).</summary>
    public List<string> EspeakVoices { get; set; } = ["en-us", "en-gb", "de", "fr", "es", "it", "nl"];
    /// <summary>OpenAI's voice names and the voice each one speaks with.</summary>
    public Dictionary<string, string> OpenaiVoices { get; set; } = PiperModels.OpenAiVoiceNames.ToDictionary(n => n, _ => PiperModels.DefaultVoice);

    internal void Validate(ConfigErrors errors)
    {
        if (MaxInputChars is < 1 or > 1_000_000) errors.Add("piper.max_input_chars", "must be between 1 and 1000000");
        if (MaxLoadedVoices is < 1 or > 64) errors.Add("piper.max_loaded_voices", "must be between 1 and 64");
        if (MemoryBudgetMb is < 0 or > 1_048_576) errors.Add("piper.memory_budget_mb", "must be between 0 (no budget) and 1048576");
        if (MaxQueuedPerVoice is < 0 or > 10_000) errors.Add("piper.max_queued_per_voice", "must be between 0 and 10000");
        if (SentenceSilenceSeconds is < 0 or > 10 || double.IsNaN(SentenceSilenceSeconds)) errors.Add("piper.sentence_silence_seconds", "must be between 0 and 10");
        foreach (var v in EspeakVoices)
            if (!PiperModels.IsEspeakName(v ?? "")) errors.Add("piper.espeak_voices", $"'{v}' is not an espeak-ng voice name (letters, digits, '-', '+', '_')");
        if (!PiperModels.IsVoiceName(DefaultVoice)) errors.Add("piper.default_voice", $"'{DefaultVoice}' is not a voice name");
        foreach (var (k, v) in OpenaiVoices)
            if (!PiperModels.IsVoiceName(v ?? "")) errors.Add($"piper.openai_voices.{k}", $"'{v}' is not a voice name");
    }
}

public sealed class WyomingSection
{
    /// <summary>Serve the Wyoming protocol (Home Assistant's voice integration) on TCP. The protocol has no authentication.</summary>
    public bool Enabled { get; set; }
    /// <summary>Interface for the Wyoming server; 0.0.0.0 lets Home Assistant on another machine connect.</summary>
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>TCP port (10200 is the convention for text to speech).</summary>
    public int Port { get; set; } = 10200;
    /// <summary>Connections served at once; more are answered with an error event and closed.</summary>
    public int MaxConnections { get; set; } = 8;
    /// <summary>Addresses or CIDR networks allowed to connect; empty = anyone who can reach the port.</summary>
    public List<string> AllowedClients { get; set; } = [];
    /// <summary>A connection silent this long between events is closed.</summary>
    public double IdleTimeoutSeconds { get; set; } = 60;
    /// <summary>An event that takes longer than this to arrive once it has begun closes the connection.</summary>
    public double ReadTimeoutSeconds { get; set; } = 30;

    /// <summary>The limits the server applies (the config's keys over the protocol's fixed bounds).</summary>
    public WyomingLimits Limits() => new()
    {
        MaxConnections = MaxConnections,
        IdleTimeout = TimeSpan.FromSeconds(IdleTimeoutSeconds),
        ReadTimeout = TimeSpan.FromSeconds(ReadTimeoutSeconds),
        AllowedClients = AllowedClients.Select(c => WyomingLimits.TryParseClient(c, out var n) ? n : throw new InvalidOperationException($"invalid client {c}")).ToArray(),
    };

    internal void Validate(ConfigErrors errors)
    {
        if (!System.Net.IPAddress.TryParse(Host, out _)) errors.Add("wyoming.host", $"'{Host}' is not an IP address");
        if (Port is < 0 or > 65535) errors.Add("wyoming.port", $"{Port} is not a TCP port (0-65535)");
        if (MaxConnections is < 1 or > 1000) errors.Add("wyoming.max_connections", "must be between 1 and 1000");
        foreach (var c in AllowedClients)
            if (!WyomingLimits.TryParseClient(c ?? "", out _))
                errors.Add("wyoming.allowed_clients", $"'{c}' is not an IP address or a network in CIDR notation (e.g. 192.168.1.0/24)");
        if (IdleTimeoutSeconds is < 1 or > 86_400) errors.Add("wyoming.idle_timeout_seconds", "must be between 1 and 86400");
        if (ReadTimeoutSeconds is < 1 or > 3600) errors.Add("wyoming.read_timeout_seconds", "must be between 1 and 3600");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(PiperConfig))]
internal sealed partial class PiperConfigJson : JsonSerializerContext;
