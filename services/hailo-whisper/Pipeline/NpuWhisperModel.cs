using Hailo.Core;
using Hailo.Runtime.Npu;

namespace HailoWhisper.Pipeline;

/// <summary>
/// Whisper on the Hailo-10H through HailoRT Speech2Text (the shim's hs_s2t_*): the device computes the log-mel,
/// runs the encoder/decoder over 10 s windows and returns segments with times; no tokens and no word times.
/// </summary>
public sealed class NpuWhisperModel(SpeechToText model) : ISpeechModel
{
    public Backend Backend => Backend.Npu;
    public string ModelFile => Path.GetFileName(model.HefPath);
    public bool SupportsWordTimestamps => false;

    /// <remarks>HailoRT runs a window in one call; progress is reported per window by the caller.</remarks>
    public WindowResult Transcribe(ReadOnlySpan<float> samples, TranscribeOptions options, Action? progress = null)
    {
        var segments = model.Transcribe(samples, new SpeechToTextOptions { Task = options.Task, Language = options.Language ?? "" });
        return new WindowResult(null, segments.Select(s => new RawSegment(s.StartSeconds, s.EndSeconds, s.Text, [], null, null)).ToArray());
    }

    /// <remarks>The device it runs on belongs to whoever opened it (the service's ModelEngine).</remarks>
    public void Dispose() => model.Dispose();
}
