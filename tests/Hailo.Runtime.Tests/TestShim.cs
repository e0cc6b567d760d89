using System.Diagnostics;
using System.Runtime.InteropServices;
using Hailo.Runtime.Npu;
using Hailo.TestSupport;

// Fault injection (hs_fake_set_fault) and the device/KV-cache locks are process-wide, so the tests of this
// assembly run one at a time.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]

namespace Hailo.Runtime.Tests;

/// <summary>
/// Prepares the process for the fake shim once: builds native-shim if its library is missing, points
/// HAILO_SHIM_PATH at it, forces the fake backend and gives this run its own HS_FAKE_STATE_DIR.
/// </summary>
internal static partial class TestShim
{
    private static readonly Lazy<string> s_library = new(Prepare, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Absolute path of the libhailo_shim.so under test.</summary>
    public static string LibraryPath => s_library.Value;

    /// <summary>This run's lock directory for the fake backend (also passed to child processes).</summary>
    public static string StateDir { get; private set; } = "";

    /// <summary>The loaded runtime (the fake backend).</summary>
    public static NpuRuntime Runtime
    {
        get
        {
            _ = s_library.Value;
            return NpuRuntime.Load();
        }
    }

    /// <summary>A fake model shipped with the shim's own tests.</summary>
    public static string Fixture(string name) => Path.Combine(Repo.Root, "native-shim", "tests", "fixtures", name);

    /// <summary>Sets faults for the duration of a using block and clears them afterwards.</summary>
    public static IDisposable Faults(string faults)
    {
        Runtime.SetFakeFaults(faults);
        return new ClearFaults();
    }

    private sealed class ClearFaults : IDisposable
    {
        public void Dispose() => Runtime.SetFakeFaults(null);
    }

    /// <summary>The state directory once prepared (a scratch place for files the tests write).</summary>
    public static string StateDirOrTemp()
    {
        _ = s_library.Value;
        return StateDir;
    }

    /// <summary>
    /// Compiles a stand-in library whose hs_abi_version returns <paramref name="abi"/>: the only way to test the
    /// ABI check without changing the shim.
    /// </summary>
    public static string CompileAbiStub(int abi)
    {
        var dir = StateDirOrTemp();
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

    private static string Prepare()
    {
        var path = Environment.GetEnvironmentVariable("HAILO_SHIM_PATH");
        if (string.IsNullOrEmpty(path))
        {
            var arch = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "aarch64" : "x64";
            path = Path.Combine(Repo.Root, "build", "native-shim", arch, "libhailo_shim.so");
            if (!File.Exists(path)) Build(arch, path);
            Environment.SetEnvironmentVariable("HAILO_SHIM_PATH", path);
        }
        StateDir = Directory.CreateTempSubdirectory("hailo-runtime-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(StateDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        // The shim reads these with getenv(), which does not see Environment.SetEnvironmentVariable on Unix:
        // set them in the native environment too (children get them from the managed one).
        SetBoth("HS_FAKE_STATE_DIR", StateDir);
        SetBoth("HS_BACKEND", "fake");
        return path;
    }

    private static void SetBoth(string name, string value)
    {
        Environment.SetEnvironmentVariable(name, value);
        if (setenv(name, value, 1) != 0) throw new InvalidOperationException("setenv " + name + " failed");
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    private static void Build(string arch, string expected)
    {
        // Test assemblies may run in parallel processes; one build at a time.
        var lockPath = Path.Combine(Repo.Root, "build", "native-shim.build.lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        using var gate = AcquireLock(lockPath);
        if (File.Exists(expected)) return;
        var psi = new ProcessStartInfo("bash", [Path.Combine(Repo.Root, "native-shim", "build.sh"), arch])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(expected))
            throw new InvalidOperationException($"native-shim/build.sh {arch} failed ({p.ExitCode}):\n{stdout.Result}\n{stderr.Result}");
    }

    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
