namespace Hailo.GenAI;

/// <summary>Where the default model is in its life, as the scheduler reports it to its host.</summary>
public enum ModelPhase { Loading, Idle, Ready, Failed }

/// <summary>
/// What the scheduler and the completion engine tell the process that runs them: the default model's state (for
/// /health and systemd), refused and timed loads (for /metrics), and each generation as a unit of work with progress
/// (for the watchdog). The HTTP host's implementation is in Hailo.GenAI.Http; this library knows no host.
/// </summary>
public interface IGenAiHost
{
    /// <summary>The default model changed state; <paramref name="detail"/> says why where there is something to say.</summary>
    void DefaultModelChanged(string name, ModelPhase phase, string? detail = null);

    /// <summary>A request for <paramref name="model"/> was refused because the queue was full.</summary>
    void Rejected(string model);

    /// <summary><paramref name="model"/> loaded in <paramref name="seconds"/>.</summary>
    void Loaded(string model, double seconds);

    /// <summary>Starts a unit of work, ended by disposing it; <paramref name="progress"/> says it moved on.</summary>
    IDisposable BeginWork(out Action progress);
}
