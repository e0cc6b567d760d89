using Hailo.Audio;
using Hailo.TestSupport;
using HailoWhisper.Pipeline;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>
/// The ggml writer's models load in whisper.cpp (Whisper.net) and run end to end. Random weights produce arbitrary
/// text: these tests prove the format and the plumbing, never recognition quality.
/// </summary>
public sealed class ModelWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hailo-whisper-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Transcription_reports_progress_from_inside_whisper_and_after_every_window()
    {
        // The watchdog's sign of life: whisper.cpp's progress and segment callbacks within a window, and the
        // transcriber after each window, so an hour-long transcription is never taken for a stuck one.
        var path = WhisperTestModels.WriteTiny(_dir);
        using var model = new CpuWhisperModel(path, 1);
        var speech = AudioDecoder.Decode(File.ReadAllBytes(AudioFiles.LibriVox()), 3600).Samples;
        var inside = 0;
        model.Transcribe(speech, new TranscribeOptions { Language = "en" }, () => inside++);
        Assert.True(inside > 0, "whisper.cpp reported no progress inside a window");

        var audio = speech.Concat(speech).Concat(speech).ToArray();
        var calls = 0;
        var t = Transcriber.Run(model, audio, new TranscribeOptions { Language = "en" }, 5, CancellationToken.None, () => calls++);
        Assert.True(t.Windows >= 3);
        Assert.True(calls >= t.Windows + inside, $"{calls} progress reports for {t.Windows} windows");
    }

    [Fact]
    public void A_written_model_loads_and_transcribes_speech_into_segments_inside_the_audio()
    {
        var path = WhisperTestModels.WriteTiny(_dir);
        using var model = new CpuWhisperModel(path, 1);
        var audio = AudioDecoder.Decode(File.ReadAllBytes(AudioFiles.LibriVox()), 3600);
        // Random weights may emit timestamps past the end of the audio (whisper pads every window to 30 s); the
        // transcriber keeps every segment inside its window.
        var t = Transcriber.Run(model, audio.Samples, new TranscribeOptions { Language = "en" }, 30, CancellationToken.None);
        Assert.NotEmpty(t.Segments);
        Assert.Equal(audio.Seconds, t.Duration, 3);
        foreach (var s in t.Segments)
        {
            Assert.InRange(s.Start, 0, audio.Seconds);
            Assert.InRange(s.End, s.Start, audio.Seconds);
        }
    }

    [Fact]
    public void The_writer_is_deterministic_for_a_seed_and_differs_across_seeds()
    {
        Assert.Equal(GgmlWhisperWriter.Bytes(WhisperShape.Tiny, 3), GgmlWhisperWriter.Bytes(WhisperShape.Tiny, 3));
        Assert.NotEqual(GgmlWhisperWriter.Bytes(WhisperShape.Tiny, 3), GgmlWhisperWriter.Bytes(WhisperShape.Tiny, 4));
    }

    [Fact]
    public void A_file_that_is_not_a_ggml_model_fails_to_load_with_a_clear_error()
    {
        var path = Path.Combine(_dir, "broken.bin");
        var bytes = GgmlWhisperWriter.Bytes(WhisperShape.Tiny);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => new CpuWhisperModel(path, 1));
        Assert.Contains("broken.bin", e.Message);
    }
}
