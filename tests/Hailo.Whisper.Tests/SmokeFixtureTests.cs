using Hailo.TestSupport;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>
/// The committed smoke fixture (.ci/qemu-smoke runs the arm64 binary on it, since no real Whisper model can be fetched
/// in CI): the tiny random-weight model as models/whisper-base/ggml-base.bin. It must be exactly what the writer makes
/// (HAILO_WRITE_FIXTURES=1 rewrites it).
/// </summary>
public sealed class SmokeFixtureTests
{
    private static readonly string Path_ = Path.Combine(Repo.Root, "tests", "Hailo.Whisper.Tests", "fixtures", "smoke", "whisper-base", "ggml-base.bin");

    [Fact]
    public void The_committed_model_is_what_the_writer_makes()
    {
        var dir = Path.Combine(Repo.Root, "tests", "Hailo.Whisper.Tests", "fixtures", "smoke");
        if (Environment.GetEnvironmentVariable("HAILO_WRITE_FIXTURES") == "1") WhisperTestModels.WriteTiny(dir);
        Assert.Equal(GgmlWhisperWriter.Bytes(WhisperShape.Tiny, seed: 7), File.ReadAllBytes(Path_));
    }
}
