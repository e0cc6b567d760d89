using System.Text.Json.Serialization;
using Hailo.Hosting.Config;
using Hailo.Wyoming;

namespace HailoWhisper;

/// <summary>hailo-whisper's config: the shared keys plus the `whisper` and `wyoming` sections.</summary>
public sealed class WhisperConfig : ServiceConfig
{
    public WhisperConfig()
    {
        // OpenAI's upload limit for the audio endpoints.
        Server.MaxBodyMb = 25;
    }

    public WhisperSection Whisper { get; set; } = new();
    public AudioSection Audio { get; set; } = new();
    public WyomingSection Wyoming { get; set; } = new();

    public override void Validate(ConfigErrors errors)
    {
        base.Validate(errors);
        Whisper.Validate(errors);
        Audio.Validate(errors);
        Wyoming.Validate(errors);
    }
}

public sealed class AudioSection
{
    /// <summary>
    /// Formats the built-in decoders refuse (MP4/M4A/AAC, WebM with Vorbis, AIFF, WMA, …) are converted by ffmpeg:
    /// "auto" uses the ffmpeg on PATH when there is one, "off" never runs it, or the absolute path of an ffmpeg binary.
    /// </summary>
    public string Ffmpeg { get; set; } = "auto";
    /// <summary>Waiting longer than this in all for ffmpeg's output (transcribing time not counted) stops it and answers 400.</summary>
    public double FfmpegTimeoutSeconds { get; set; } = 120;

    internal Hailo.Audio.FfmpegOptions Options => new(Ffmpeg, FfmpegTimeoutSeconds);

    internal void Validate(ConfigErrors errors)
    {
        if (Ffmpeg is not ("auto" or "off") && !Path.IsPathFullyQualified(Ffmpeg))
            errors.Add("audio.ffmpeg", $"'{Ffmpeg}' must be auto, off or the absolute path of an ffmpeg binary");
        if (FfmpegTimeoutSeconds is < 1 or > 3600) errors.Add("audio.ffmpeg_timeout_seconds", "must be between 1 and 3600");
    }
}

public sealed class WhisperSection() : ModelChoice("whisper", () => WhisperModels.Catalog, WhisperModels.CpuDefault, WhisperModels.NpuDefault)
{
    /// <summary>Language when a request names none: an ISO-639-1 code such as "en", or "" to detect it.</summary>
    public string Language { get; set; } = "";
    /// <summary>Longer audio is refused with 413 (found from the file's header where it has the length, else while decoding).</summary>
    public double MaxAudioSeconds { get; set; } = 3600;
    /// <summary>Audio is transcribed in windows of at most this many seconds, cut at the quietest moment near the end.</summary>
    public double WindowSeconds { get; set; } = 30;
    /// <summary>Decoding temperature when a request gives none (0 = greedy, with whisper.cpp's fallback to higher temperatures).</summary>
    public double Temperature { get; set; }
    /// <summary>CPU backend: prepared decoders (one per task/prompt/temperature combination) kept for reuse.</summary>
    public int CachedDecoders { get; set; } = 2;

    internal void Validate(ConfigErrors errors)
    {
        ValidateModels(errors);
        if (Language.Length > 0 && !Languages.IsKnown(Language))
            errors.Add("whisper.language", $"'{Language}' is not a Whisper language code (e.g. en, de, fr; \"\" detects it)");
        if (MaxAudioSeconds is <= 0 or > 86_400) errors.Add("whisper.max_audio_seconds", "must be greater than 0 and at most 86400");
        if (WindowSeconds is < 5 or > 600) errors.Add("whisper.window_seconds", "must be between 5 and 600");
        if (Temperature is < 0 or > 1) errors.Add("whisper.temperature", "must be between 0 and 1");
        if (CachedDecoders is < 1 or > 16) errors.Add("whisper.cached_decoders", "must be between 1 and 16");
    }
}

public sealed class WyomingSection
{
    /// <summary>Serve the Wyoming protocol (Home Assistant's voice integration) on TCP. The protocol has no authentication.</summary>
    public bool Enabled { get; set; }
    /// <summary>Interface for the Wyoming server; 0.0.0.0 lets Home Assistant on another machine connect.</summary>
    public string Host { get; set; } = "127.0.0.1";
    /// <summary>TCP port (10300 is the convention for speech-to-text).</summary>
    public int Port { get; set; } = 10300;
    /// <summary>Connections served at once; more are answered with an error event and closed.</summary>
    public int MaxConnections { get; set; } = 8;
    /// <summary>Addresses or CIDR networks allowed to connect (e.g. 192.168.1.10, 192.168.1.0/24); empty = anyone who can reach the port.</summary>
    public List<string> AllowedClients { get; set; } = [];
    /// <summary>Audio one utterance (audio-start … audio-stop) may send, in MiB; more ends the connection.</summary>
    public double MaxSessionMb { get; set; } = 32;
    /// <summary>A connection silent this long between events is closed.</summary>
    public double IdleTimeoutSeconds { get; set; } = 60;
    /// <summary>An event that takes longer than this to arrive once it has begun closes the connection.</summary>
    public double ReadTimeoutSeconds { get; set; } = 30;

    /// <summary>The limits the server applies (the config's keys over the protocol's fixed bounds).</summary>
    public WyomingLimits Limits() => new()
    {
        MaxConnections = MaxConnections,
        MaxSessionBytes = (long)(MaxSessionMb * 1024 * 1024),
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
                errors.Add("wyoming.allowed_clients", $"'{c}' is not an IP address or a network in CIDR notation (e.g. 192.168.1.0/24; no host bits after the prefix)");
        if (MaxSessionMb is < 0.01 or > 1024) errors.Add("wyoming.max_session_mb", "must be between 0.01 and 1024");
        if (IdleTimeoutSeconds is < 1 or > 86_400) errors.Add("wyoming.idle_timeout_seconds", "must be between 1 and 86400");
        if (ReadTimeoutSeconds is < 1 or > 3600) errors.Add("wyoming.read_timeout_seconds", "must be between 1 and 3600");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(WhisperConfig))]
internal sealed partial class WhisperConfigJson : JsonSerializerContext;
