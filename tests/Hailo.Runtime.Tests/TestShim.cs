using System.Diagnostics;
using Hailo.TestSupport;

// Fault injection (hs_fake_set_fault) and the device/KV-cache locks are process-wide, so the tests of this
// assembly run one at a time.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

namespace Hailo.Runtime.Tests;

/// <summary>What only the binding's own tests need beyond <see cref="FakeShim"/>.</summary>
internal static class TestShim
{
    /// <summary>
    /// Compiles a stand-in library whose hs_abi_version returns <paramref name="abi"/>: the only way to test the
    /// ABI check without changing the shim.
    /// </summary>
    public static string CompileAbiStub(int abi)
    {
        var dir = FakeShim.StateDir;
        var lib = Path.Combine(dir, $"libabi{abi}_stub.so");
        if (File.Exists(lib)) return lib;
        var src = Path.Combine(dir, $"abi{abi}_stub.c");
        File.WriteAllText(src, $"int hs_abi_version(void) {{ return {abi}; }}\n");
        var psi = new ProcessStartInfo("cc", ["-shared", "-fPIC", "-o", lib, src]) { RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("cc failed: " + err);
        return lib;
    }
}
