using System.Diagnostics;

namespace Hailo.Hosting.Metrics;

/// <summary>
/// Milliseconds spent in the named stages of one inference (pre-process, model, post-process, or a service's own),
/// for the response's timings, and reported to /metrics as hailo_inference_duration_seconds{stage=…}. One per request;
/// not thread-safe.
/// </summary>
public sealed class StageTimer
{
    public const string Preprocess = "preprocess";
    public const string Model = "model";
    public const string Postprocess = "postprocess";

    private readonly string[] _stages;
    private readonly double[] _ms;
    private readonly bool[] _timed;

    /// <summary>The usual three stages: <see cref="Preprocess"/>, <see cref="Model"/>, <see cref="Postprocess"/>.</summary>
    public StageTimer() : this(Preprocess, Model, Postprocess) { }

    /// <summary>Stages by their metric label, in the order they are reported.</summary>
    public StageTimer(params string[] stages)
    {
        if (stages.Length == 0) throw new ArgumentException("at least one stage", nameof(stages));
        if (stages.Distinct(StringComparer.Ordinal).Count() != stages.Length) throw new ArgumentException("stage names repeat", nameof(stages));
        _stages = stages;
        _ms = new double[stages.Length];
        _timed = new bool[stages.Length];
    }

    public IReadOnlyList<string> Stages => _stages;

    /// <summary>Milliseconds recorded for a stage so far (0 when it never ran).</summary>
    public double this[string stage] => _ms[IndexOf(stage)];

    public double PreprocessMs => this[Preprocess];
    public double ModelMs => this[Model];
    public double PostprocessMs => this[Postprocess];

    /// <summary>Sum over every stage.</summary>
    public double TotalMs => _ms.Sum();

    /// <summary>Whether the stage was recorded at least once.</summary>
    public bool WasTimed(string stage) => _timed[IndexOf(stage)];

    /// <summary>Adds <paramref name="milliseconds"/> to a stage.</summary>
    public void Add(string stage, double milliseconds)
    {
        var i = IndexOf(stage);
        _ms[i] += milliseconds;
        _timed[i] = true;
    }

    /// <summary>Adds the time since <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>) to a stage.</summary>
    public void AddSince(string stage, long startTimestamp) => Add(stage, Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds);

    /// <summary>Times <paramref name="work"/> into a stage (also when it throws).</summary>
    public T Time<T>(string stage, Func<T> work)
    {
        var start = Stopwatch.GetTimestamp();
        try { return work(); }
        finally { AddSince(stage, start); }
    }

    /// <summary>Times the code up to the returned lap's disposal into a stage: <c>using (timer.Measure(StageTimer.Model)) { … }</c>.</summary>
    public Lap Measure(string stage) => new(this, IndexOf(stage), Stopwatch.GetTimestamp());

    /// <summary>Observes every stage that was timed under <paramref name="model"/>, in seconds; stages never timed are left out.</summary>
    public void Report(ServiceMetrics? metrics, string model)
    {
        if (metrics is null) return;
        for (var i = 0; i < _stages.Length; i++)
            if (_timed[i]) metrics.ObserveInference(model, _stages[i], _ms[i] / 1000);
    }

    private int IndexOf(string stage)
    {
        for (var i = 0; i < _stages.Length; i++)
            if (ReferenceEquals(_stages[i], stage) || string.Equals(_stages[i], stage, StringComparison.Ordinal)) return i;
        throw new ArgumentException($"unknown stage '{stage}' (the timer has {string.Join(", ", _stages)})", nameof(stage));
    }

    /// <summary>A running measurement of one stage; disposing it adds the elapsed time.</summary>
    public readonly struct Lap : IDisposable
    {
        private readonly StageTimer _timer;
        private readonly int _stage;
        private readonly long _start;

        internal Lap(StageTimer timer, int stage, long start) => (_timer, _stage, _start) = (timer, stage, start);

        public void Dispose()
        {
            if (_timer is null) return;
            _timer._ms[_stage] += Stopwatch.GetElapsedTime(_start).TotalMilliseconds;
            _timer._timed[_stage] = true;
        }
    }
}
