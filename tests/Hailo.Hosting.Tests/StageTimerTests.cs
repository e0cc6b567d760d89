using Hailo.Hosting.Metrics;
using Xunit;

namespace Hailo.Hosting.Tests;

/// <summary>The stage timer adds up each stage's time and reports the stages that ran to /metrics under their names.</summary>
public sealed class StageTimerTests
{
    [Fact]
    public void Stages_accumulate_and_only_the_timed_ones_are_reported()
    {
        var timer = new StageTimer();
        Assert.Equal([StageTimer.Preprocess, StageTimer.Model, StageTimer.Postprocess], timer.Stages);
        timer.Add(StageTimer.Preprocess, 1.5);
        timer.Add(StageTimer.Preprocess, 0.5);
        Assert.Equal(42, timer.Time(StageTimer.Model, () => { Thread.Sleep(20); return 42; }));
        Assert.Equal(2.0, timer.PreprocessMs);
        Assert.InRange(timer.ModelMs, 15, 5000);
        Assert.Equal(0, timer.PostprocessMs);
        Assert.False(timer.WasTimed(StageTimer.Postprocess));
        Assert.Equal(timer.PreprocessMs + timer.ModelMs, timer.TotalMs);

        var metrics = new ServiceMetrics("hailo-test");
        timer.Report(metrics, "m");
        var text = metrics.Render(new ServiceState("hailo-test", "1.0.0"));
        Assert.Contains("hailo_inference_duration_seconds_count{service=\"hailo-test\",model=\"m\",stage=\"preprocess\"} 1", text);
        Assert.Contains("hailo_inference_duration_seconds_sum{service=\"hailo-test\",model=\"m\",stage=\"preprocess\"} 0.002\n", text);
        Assert.Contains("hailo_inference_duration_seconds_count{service=\"hailo-test\",model=\"m\",stage=\"model\"} 1", text);
        Assert.DoesNotContain("stage=\"postprocess\"", text);
        timer.Report(null, "m"); // no metrics: nothing to do
    }

    [Fact]
    public void A_lap_times_a_block_also_when_it_throws_and_unknown_stages_are_refused()
    {
        var timer = new StageTimer("detection_model", "detection_post");
        using (timer.Measure("detection_post")) Thread.Sleep(10);
        Assert.InRange(timer["detection_post"], 5, 5000);
        Assert.Throws<InvalidOperationException>(() => timer.Time<int>("detection_model", () => throw new InvalidOperationException()));
        Assert.True(timer.WasTimed("detection_model"));
        Assert.Throws<ArgumentException>(() => timer.Add("model", 1));
        Assert.Throws<ArgumentException>(() => new StageTimer("a", "a"));
        Assert.Throws<ArgumentException>(() => new StageTimer([]));
        default(StageTimer.Lap).Dispose(); // a default lap belongs to no timer
    }
}
