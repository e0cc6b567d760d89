namespace Hailo.Hosting.Config;

/// <summary>Collects every problem found in the config so the operator sees them all at once.</summary>
public sealed class ConfigErrors
{
    private readonly List<string> _messages = [];

    public IReadOnlyList<string> Messages => _messages;
    public bool Any => _messages.Count > 0;

    public void Add(string key, string problem) => _messages.Add($"{key}: {problem}");
    public void AddRaw(string message) => _messages.Add(message);

    public void RequireOneOf(string key, string value, params string[] allowed)
    {
        if (Array.IndexOf(allowed, value) < 0)
            Add(key, $"'{value}' is not one of: {string.Join(", ", allowed)}");
    }
}

/// <summary>Thrown when the configuration cannot be used; the message lists every problem, one per line.</summary>
public sealed class ConfigException(IReadOnlyList<string> problems)
    : Exception("invalid configuration:\n  " + string.Join("\n  ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
