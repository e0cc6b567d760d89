using HailoPiper.Engine;

namespace HailoPiper.Voices;

/// <summary>
/// Loads voices with the engines in Engine/: espeak-ng's own voices (<see cref="EspeakVoice"/>) and Piper's VITS
/// voices over ONNX Runtime (<see cref="VitsVoice"/>). A voice that cannot load throws <see cref="VoiceLoadException"/>
/// (the voice's state on /health, 503 to its requests).
/// </summary>
/// <param name="config">The service's config: cpu.threads for ONNX Runtime, piper.* defaults.</param>
public sealed class EngineVoiceLoader(PiperConfig config) : IVoiceLoader
{
    /// <summary>Threads a VITS voice's ONNX Runtime session may use.</summary>
    public int Threads => config.Cpu.EffectiveThreads;

    public IVoice Load(VoiceInfo voice, CancellationToken ct) => voice.Kind switch
    {
        VoiceKind.Espeak => new EspeakVoice(voice.EspeakName!),
        VoiceKind.Flite => new FliteVoice(voice.FliteName!),
        VoiceKind.Piper => new VitsVoice(voice.Model!, voice.Config!, voice.Name, Threads),
        _ => throw new ArgumentOutOfRangeException(nameof(voice)),
    };
}
