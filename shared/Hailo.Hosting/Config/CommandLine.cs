namespace Hailo.Hosting.Config;

/// <summary>What the command line asked for: a command, the config file and the key overrides.</summary>
public sealed class CommandLine
{
    public string Command { get; private init; } = "run";
    public string? ConfigPath { get; private init; }
    public List<ConfigOverride> Overrides { get; } = [];
    /// <summary>Words after the command that are not options, e.g. model names for `pull`.</summary>
    public List<string> Arguments { get; } = [];

    public static readonly string[] Commands = ["run", "pull", "models", "check-config", "print-config", "help", "version"];

    private static readonly Dictionary<string, string> Shortcuts = new()
    {
        ["--host"] = "server.host",
        ["--port"] = "server.port",
        ["--device"] = "device",
        ["--models-dir"] = "models.dir",
        ["--threads"] = "cpu.threads",
        ["--log-level"] = "logging.level",
    };

    /// <summary>Parses args; throws <see cref="ConfigException"/> naming each word it does not understand.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var problems = new List<string>();
        string command = "run";
        string? config = null;
        var cl = new List<ConfigOverride>();
        var rest = new List<string>();
        var i = 0;
        if (args.Count > 0 && !args[0].StartsWith('-'))
        {
            command = args[0];
            i = 1;
            if (Array.IndexOf(Commands, command) < 0) problems.Add($"unknown command '{command}' (commands: {string.Join(", ", Commands)})");
        }
        for (; i < args.Count; i++)
        {
            var a = args[i];
            string? Next(string name)
            {
                if (i + 1 < args.Count) return args[++i];
                problems.Add($"{name} needs a value");
                return null;
            }
            if (a is "-h" or "--help") { command = "help"; continue; }
            if (a is "--version") { command = "version"; continue; }
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                if (command is "pull" or "models") rest.Add(a);
                else problems.Add($"unexpected argument '{a}'");
                continue;
            }
            var eq = a.IndexOf('=');
            var name = eq > 0 ? a[..eq] : a;
            var inline = eq > 0 ? a[(eq + 1)..] : null;
            if (name == "--config")
            {
                config = inline ?? Next(name);
                continue;
            }
            if (name == "--set")
            {
                var kv = inline ?? Next(name);
                if (kv is null) continue;
                var e2 = kv.IndexOf('=');
                if (e2 <= 0) { problems.Add($"--set expects key=value, got '{kv}'"); continue; }
                cl.Add(new ConfigOverride(kv[..e2], kv[(e2 + 1)..], $"--set {kv[..e2]}"));
                continue;
            }
            var key = Shortcuts.TryGetValue(name, out var k) ? k : name[2..];
            if (key.Length == 0) { problems.Add($"unexpected argument '{a}'"); continue; }
            var value = inline ?? Next(name);
            if (value is not null) cl.Add(new ConfigOverride(key, value, $"command-line option {name}"));
        }
        if (problems.Count > 0) throw new ConfigException(problems);
        var result = new CommandLine { Command = command, ConfigPath = config };
        result.Overrides.AddRange(cl);
        result.Arguments.AddRange(rest);
        return result;
    }
}
