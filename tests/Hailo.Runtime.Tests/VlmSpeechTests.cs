using Hailo.TestSupport;
using Hailo.Runtime.Npu;
using Xunit;

namespace Hailo.Runtime.Tests;

/// <summary>VLM frames and Speech2Text segments on the fake backend.</summary>
public sealed class VlmSpeechTests : IDisposable
{
    private readonly VDevice _vd;

    public VlmSpeechTests()
    {
        _ = FakeShim.Runtime;
        _vd = VDevice.Open();
    }

    public void Dispose() => _vd.Dispose();

    [Fact]
    public async Task Vlm_FrameSpec_AndGenerationReadsEveryFramesPixels()
    {
        using var vlm = VlmModel.Create(_vd, FakeShim.ShimFixture("vlm.json"));
        Assert.Equal(new FrameSpec(4, 4, 3, NpuFormatType.UInt8, NpuFormatOrder.Nhwc, 48), vlm.FrameSpec);
        Assert.Equal(64, vlm.GetGenerationDefaults().MaxGeneratedTokens);
        Assert.Equal(new ContextUsage(256, 0), vlm.GetContextUsage());

        var dark = new byte[48];
        Array.Fill(dark, (byte)10);
        var bright = new byte[48];
        Array.Fill(bright, (byte)200);
        var messages = VlmModel.UserMessageJson("what is this", 2);
        var r = await vlm.Generate(messages, [dark, bright]).ReadToEndAsync();
        // The fake emits one "<imageK:mean=M>" token per frame, proving the frame bytes crossed the boundary intact.
        Assert.Equal("<image0:mean=10> <image1:mean=200> what is this", r.Text);
        Assert.Equal(GenerationStatus.LogicalEnd, r.Status);
        Assert.True(r.Context!.Value.UsedTokens >= 2 * 8, "each image costs image_tokens of context");

        vlm.ClearContext();
        Assert.Equal(0, vlm.GetContextUsage().UsedTokens);
    }

    [Fact]
    public void Vlm_WrongFrameSizeOrCount_IsRejected()
    {
        using var vlm = VlmModel.Create(_vd, FakeShim.ShimFixture("vlm.json"));
        var e = Assert.Throws<ArgumentException>(() => vlm.Generate(VlmModel.UserMessageJson("x", 1), [new byte[47]]));
        Assert.StartsWith("frame 0 is 47 bytes; the model wants 48", e.Message);
        var mismatch = Assert.Throws<HailoException>(() => vlm.Generate(VlmModel.UserMessageJson("x", 1), [new byte[48], new byte[48]]));
        Assert.Equal(HailoStatus.InvalidArgument, mismatch.Code);
        Assert.Contains("1 image(s) but 2 frame(s)", mismatch.Message);
        Assert.False(vlm.IsGenerating);
    }

    [Fact]
    public async Task Vlm_OneGenerationAtATime()
    {
        using var vlm = VlmModel.Create(_vd, FakeShim.ShimFixture("vlm_slow.json")); // 60 s per token: the first stays alive
        var frame = new byte[48];
        var messages = VlmModel.UserMessageJson("describe", 1);
        var first = vlm.Generate(messages, [frame]);
        var e = Assert.Throws<InvalidOperationException>(() => vlm.Generate(messages, [frame]));
        Assert.Contains("VLM", e.Message);
        Assert.Throws<InvalidOperationException>(() => vlm.ClearContext());
        first.Abort();
        Assert.Equal(GenerationStatus.Aborted, (await first.Completion).Status);
        Assert.False(vlm.IsGenerating);
        vlm.ClearContext();
    }

    private static float[] Audio(params (double Seconds, bool Loud)[] parts)
    {
        var samples = new List<float>();
        foreach (var (seconds, loud) in parts)
        {
            var n = (int)(seconds * SpeechToText.SampleRate);
            for (var i = 0; i < n; i++) samples.Add(loud ? 0.5f * MathF.Sin(2 * MathF.PI * 440 * i / SpeechToText.SampleRate) : 0f);
        }
        return samples.ToArray();
    }

    [Fact]
    public void Transcribe_ReturnsSegmentsWithTimesAndText()
    {
        using var s2t = SpeechToText.Create(_vd, FakeShim.ShimFixture("s2t.json"));
        var pcm = Audio((1, true), (1, false), (0.5, true));
        var segments = s2t.Transcribe(pcm);
        Assert.Equal(
            [new TranscriptSegment(0f, 1f, "hello from the fake recogniser"), new TranscriptSegment(2f, 2.5f, "second segment")],
            segments);
        Assert.Empty(s2t.Transcribe(Audio((2, false))));
    }

    [Fact]
    public void Transcribe_TaskAndLanguageReachTheShim()
    {
        using var s2t = SpeechToText.Create(_vd, FakeShim.ShimFixture("s2t.json"));
        var pcm = Audio((1, true));
        Assert.Equal("[translated] hello from the fake recogniser", s2t.Transcribe(pcm, new SpeechToTextOptions { Task = SpeechTask.Translate })[0].Text);
        Assert.Equal("[de] hello from the fake recogniser", s2t.Transcribe(pcm, new SpeechToTextOptions { Language = "de" })[0].Text);
        Assert.Equal("hello from the fake recogniser", s2t.Transcribe(pcm, new SpeechToTextOptions { Language = "en", RepetitionPenalty = 1.2f })[0].Text);
        Assert.Equal(HailoStatus.InvalidArgument, Assert.Throws<HailoException>(() => s2t.Transcribe(pcm, new SpeechToTextOptions { Language = "EN" })).Code);
        Assert.Throws<ArgumentException>(() => s2t.Transcribe(pcm, new SpeechToTextOptions { Language = "a-language-name-too-long" }));
        Assert.Throws<ArgumentException>(() => s2t.Transcribe([]));
    }

    [Fact]
    public void Transcribe_FaultsAndRecovery()
    {
        using var s2t = SpeechToText.Create(_vd, FakeShim.ShimFixture("s2t.json"));
        var pcm = Audio((1, true));
        using (FakeShim.Faults("device_lost"))
            Assert.True(Assert.Throws<HailoException>(() => s2t.Transcribe(pcm)).IsDeviceFault);
        using (FakeShim.Faults("timeout"))
        {
            var e = Assert.Throws<HailoException>(() => s2t.Transcribe(pcm, new SpeechToTextOptions { Timeout = TimeSpan.FromMilliseconds(50) }));
            Assert.Equal(HailoStatus.Timeout, e.Code);
        }
        Assert.Single(s2t.Transcribe(pcm));
    }
}
