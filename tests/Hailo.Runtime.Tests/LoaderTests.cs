using Hailo.TestSupport;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Hailo.Runtime.Npu;
using Xunit;

namespace Hailo.Runtime.Tests;

/// <summary>
/// Finding and validating libhailo_shim. The probing steps are tested in-process (no global state); the
/// process-wide outcome of NpuRuntime.TryLoad with a missing or mismatched library runs in a child process.
/// </summary>
public class LoaderTests
{
    [Fact]
    public void Candidates_ExplicitPathIsAuthoritative_ElseAppDirectoryThenSystem()
    {
        var only = ShimLibrary.Candidates("/opt/x/libhailo_shim.so", "/app");
        Assert.Equal([new ShimLibrary.Candidate("/opt/x/libhailo_shim.so", ShimLibrary.CandidateKind.Explicit)], only);

        var def = ShimLibrary.Candidates(null, "/app");
        Assert.Equal(2, def.Count);
        Assert.Equal(new ShimLibrary.Candidate("/app/libhailo_shim.so", ShimLibrary.CandidateKind.AppDirectory), def[0]);
        Assert.Equal(new ShimLibrary.Candidate("libhailo_shim.so", ShimLibrary.CandidateKind.System), def[1]);
        Assert.Equal(def, ShimLibrary.Candidates("  ", "/app"));
    }

    [Fact]
    public void Probe_MissingFile_GivesAReasonNamingTheVariable()
    {
        var r = ShimLibrary.Probe(new("/nonexistent/libhailo_shim.so", ShimLibrary.CandidateKind.Explicit));
        Assert.False(r.Ok);
        Assert.Equal("HAILO_SHIM_PATH=/nonexistent/libhailo_shim.so does not exist", r.Failure);
    }

    [Fact]
    public void Probe_NotALibrary_GivesTheLoaderMessage()
    {
        var file = Path.Combine(FakeShim.StateDir, "garbage.so");
        File.WriteAllText(file, "this is not an ELF file");
        var r = ShimLibrary.Probe(new(file, ShimLibrary.CandidateKind.Explicit));
        Assert.False(r.Ok);
        Assert.Equal($"cannot load {file}: {file}: file too short", r.Failure);
    }

    [Fact]
    public void Probe_ALibraryWithoutTheShimExports_IsRejected()
    {
        var r = ShimLibrary.Probe(new("libm.so.6", ShimLibrary.CandidateKind.System));
        Assert.False(r.Ok);
        Assert.Contains("has no hs_abi_version export", r.Failure);
    }

    [Fact]
    public void Probe_TheRealShim_HasAbi1()
    {
        var r = ShimLibrary.Probe(new(FakeShim.LibraryPath, ShimLibrary.CandidateKind.Explicit));
        Assert.True(r.Ok, r.Failure);
        Assert.Equal(1, r.Abi);
        NativeLibrary.Free(r.Handle); // dlopen counts references; the runtime's own handle stays valid
    }

    [Fact]
    public void Probe_AnotherAbi_IsRejected()
    {
        var lib = TestShim.CompileAbiStub(2);
        var r = ShimLibrary.Probe(new(lib, ShimLibrary.CandidateKind.Explicit));
        Assert.False(r.Ok);
        Assert.Equal(2, r.Abi);
        Assert.Contains("has shim ABI 2 but this build of the services expects 1", r.Failure);
    }

    [Fact]
    public void TryLoad_InThisProcess_ReportsTheFakeBackendAndVersions()
    {
        _ = FakeShim.LibraryPath;
        Assert.True(NpuRuntime.TryLoad(out var rt, out var reason), reason);
        Assert.Equal("fake", rt.BackendName);
        Assert.True(rt.IsFake);
        Assert.Equal("1.0.0", rt.ShimVersion);
        Assert.Equal(1, rt.AbiVersion);
        Assert.Equal(new Version(5, 2, 0), rt.RuntimeVersion);
        Assert.Equal(rt.RuntimeVersion, rt.BuiltAgainstVersion);
        Assert.Equal(Path.GetFullPath(FakeShim.LibraryPath), rt.LibraryPath);
        Assert.Same(rt, NpuRuntime.Current);
        Assert.True(NpuRuntime.TryLoad(out var again, out _));
        Assert.Same(rt, again);
    }

    [Fact]
    public void Child_MissingLibrary_IsUnavailableWithAReason_NotACrash()
    {
        var line = ChildProcess.Run(new Dictionary<string, string?> { ["HAILO_SHIM_PATH"] = "/nonexistent/libhailo_shim.so" }, "load");
        Assert.Equal("UNAVAILABLE HAILO_SHIM_PATH=/nonexistent/libhailo_shim.so does not exist", line);
    }

    [Fact]
    public void Child_NoShimAnywhere_IsUnavailable()
    {
        // Without HAILO_SHIM_PATH the child looks next to its executable (the test output has no copy) and in the
        // system library path (this machine has none installed).
        var line = ChildProcess.Run(new Dictionary<string, string?> { ["HAILO_SHIM_PATH"] = null }, "load");
        if (SystemHasShim())
        {
            // A machine with the shim package installed finds it in the system library path instead.
            Assert.StartsWith("AVAILABLE ", line);
            return;
        }
        Assert.Equal("UNAVAILABLE libhailo_shim.so is not installed (neither next to the executable nor on the system library path)", line);
    }

    // Probing in this process would not tell: dlopen("libhailo_shim.so") matches the copy already loaded here by
    // its SONAME. Ask the dynamic loader's cache and LD_LIBRARY_PATH instead.
    private static bool SystemHasShim()
    {
        var dirs = (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        if (dirs.Any(d => File.Exists(Path.Combine(d, "libhailo_shim.so")))) return true;
        try
        {
            var exe = File.Exists("/sbin/ldconfig") ? "/sbin/ldconfig" : "ldconfig";
            using var p = Process.Start(new ProcessStartInfo(exe, "-p") { RedirectStandardOutput = true })!;
            var cache = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return cache.Contains("libhailo_shim.so", StringComparison.Ordinal);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no ldconfig on PATH
        }
    }

    [Fact]
    public void Child_AbiMismatch_IsUnavailable()
    {
        var lib = TestShim.CompileAbiStub(2);
        var line = ChildProcess.Run(new Dictionary<string, string?> { ["HAILO_SHIM_PATH"] = lib }, "load");
        Assert.StartsWith("UNAVAILABLE ", line);
        Assert.Contains("shim ABI 2", line);
    }

    [Fact]
    public void Child_HailoRtVersionMismatch_IsUnavailable()
    {
        // The fake reports HS_FAKE_RUNTIME_VERSION as the loaded libhailort while it was "built" against 5.2.0.
        var line = ChildProcess.Run(new Dictionary<string, string?> { ["HS_FAKE_RUNTIME_VERSION"] = "5.1.1" }, "load");
        Assert.StartsWith("UNAVAILABLE HailoRT version mismatch (hs_runtime_version: libhailort 5.1.1 is loaded but the shim was built against 5.2.0", line);
    }

    [Fact]
    public void Child_BackendNotBuiltIn_IsUnavailable()
    {
        var line = ChildProcess.Run(new Dictionary<string, string?> { ["HS_BACKEND"] = "bogus" }, "load");
        Assert.StartsWith("UNAVAILABLE ", line);
        Assert.Contains("HS_NO_BACKEND(1000)", line);
        Assert.Contains("unknown HS_BACKEND value 'bogus'", line);
    }

    [Fact]
    public void Child_Available()
    {
        Assert.Equal("AVAILABLE fake 5.2.0", ChildProcess.Run(null, "load"));
    }

    [Fact]
    public void EntryPoints_ThrowNpuUnavailable_WhenTheLibraryIsMissing()
    {
        // The child's "vdevice" mode calls VDevice.Open without TryLoad first.
        var line = ChildProcess.Run(new Dictionary<string, string?> { ["HAILO_SHIM_PATH"] = "/nonexistent/x.so" }, "vdevice", "SHARED");
        Assert.Equal("UNAVAILABLE HAILO_SHIM_PATH=/nonexistent/x.so does not exist", line);
    }
}
