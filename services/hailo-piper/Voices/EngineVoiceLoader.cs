using HailoPiper.Engine;

namespace HailoPiper.Voices;

/// <summary>
/// Loads voices with the engines in Engine/: espeak-ng's voices and Piper's VITS voices. Until an engine is built in,
/// loading a voice of its kind fails with a message saying so (the voice's state on /health, 503 to requests).
/// </summary>
/// <param name="config">The service's config: cpu.threads for ONNX Runtime, piper.* defaults.</param>
public sealed class EngineVoiceLoader(PiperConfig config) : IVoiceLoader
{
    /// <summary>Threads a VITS voice's ONNX Runtime session may use.</summary>
    public int Threads => config.Cpu.EffectiveThreads;

    public IVoice Load(VoiceInfo voice, CancellationToken ct) => voice.Kind switch
    {
        VoiceKind.Espeak => throw new NotSupportedException($"no espeak-ng engine in this build (voice {voice.Name})"),
        VoiceKind.Piper => throw new NotSupportedException($"no Piper VITS engine in this build (voice {voice.Name})"),
        _ => throw new ArgumentOutOfRangeException(nameof(voice)),
    };
}
