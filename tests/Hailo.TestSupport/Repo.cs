namespace Hailo.TestSupport;

/// <summary>Where things are in the repository checkout the tests run from.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    /// <summary>Models fetched by `make models` (override with HAILO_TEST_MODELS).</summary>
    public static string ModelsDir =>
        Environment.GetEnvironmentVariable("HAILO_TEST_MODELS") is { Length: > 0 } d ? d : Path.Combine(Root, "build", "models");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "global.json")) && Directory.Exists(Path.Combine(dir.FullName, "services")))
                return dir.FullName;
        throw new InvalidOperationException("cannot find the repository root above " + AppContext.BaseDirectory);
    }
}
