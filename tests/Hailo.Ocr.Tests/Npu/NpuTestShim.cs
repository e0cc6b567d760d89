using Hailo.Runtime.Npu;
using Hailo.TestSupport;

namespace Hailo.Ocr.Tests.Npu;

/// <summary>The fake shim (<see cref="FakeShim"/>) with hailo-ocr's fake HEF fixtures.</summary>
internal static class NpuTestShim
{
    public static string FixtureDir => Path.Combine(Repo.Root, "tests", "Hailo.Ocr.Tests", "Npu", "fixtures");

    public static NpuRuntime Runtime => FakeShim.Runtime;

    /// <summary>A fixture JSON plus its test-generated output tensor, in a directory of its own.</summary>
    public static string Model(string fixture, string dataFile, byte[] data, string? directory = null, string? targetName = null) =>
        FakeShim.Model(Path.Combine(FixtureDir, fixture), dataFile, data, directory, targetName);
}
