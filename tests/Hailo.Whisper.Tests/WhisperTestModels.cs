using Hailo.TestSupport;

namespace Hailo.Whisper.Tests;

/// <summary>Random-weight ggml models written by <see cref="GgmlWhisperWriter"/> into a models directory layout.</summary>
public static class WhisperTestModels
{
    private static readonly Lazy<byte[]> s_tiny = new(() => GgmlWhisperWriter.Bytes(WhisperShape.Tiny, seed: 7));

    /// <summary>Writes the tiny model as models/whisper-base/ggml-base.bin (where the service looks for whisper-base).</summary>
    public static string WriteTiny(string modelsDir)
    {
        var path = Path.Combine(modelsDir, "whisper-base", "ggml-base.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, s_tiny.Value);
        return path;
    }
}
