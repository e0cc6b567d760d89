using Hailo.TestSupport;
using Xunit;

namespace Hailo.Whisper.Tests;

/// <summary>hailo-whisper suppresses IL3000 for Whisper.net's loader; this keeps the suppression from hiding our own.</summary>
public sealed class AotTests
{
    [Fact]
    public void No_code_of_the_service_or_its_libraries_reads_Assembly_Location()
    {
        var dirs = new[] { "services/hailo-whisper", "shared/Hailo.Audio", "shared/Hailo.Hosting", "shared/Hailo.Runtime", "shared/Hailo.Runtime.Npu" };
        var offenders = dirs.SelectMany(d => Directory.EnumerateFiles(Path.Combine(Repo.Root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Where(f => File.ReadAllText(f).Contains(".Location", StringComparison.Ordinal) && File.ReadAllText(f).Contains("Assembly", StringComparison.Ordinal)
                        && System.Text.RegularExpressions.Regex.IsMatch(File.ReadAllText(f), @"Assembly\)?\.Location|\.Assembly\.Location|GetExecutingAssembly\(\)\.Location"))
            .ToArray();
        Assert.Empty(offenders);
    }
}
